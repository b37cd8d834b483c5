"""torch_geometric, imported in one place with its one known import-time warning silenced.

torch_geometric 2.8.1 (the latest) runs `torch.jit.script(SelectOutput)` while its package
imports (torch_geometric/nn/pool/select/base.py), and torch 2.14 answers with a FutureWarning
("`torch.jit.script` is deprecated") that every screenshot turn printed on the CLI's stderr,
which is for the user's errors. The call is in the library, not in our code, so that one
warning (matched by its message and category, nothing else) is ignored while the package is
imported; any other warning still shows. Drop this once torch_geometric stops scripting there.
"""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=r"`torch\.jit\.script` is deprecated",
                            category=FutureWarning)
    from torch_geometric.data import Batch, Data
    from torch_geometric.nn import GATv2Conv

__all__ = ["Batch", "Data", "GATv2Conv"]
