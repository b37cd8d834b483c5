"""Frontdesk engine: everything but the window. Never imports Qt.

Heavy modules (torch, transformers, whisper) load lazily so `import engine` stays cheap.
"""

import engine.no_telemetry  # noqa: F401  (first: before any library loads onnxruntime)
from engine.errors import FrontdeskError
from engine.types import Entity, Reply, Turn

__all__ = ["Assistant", "Entity", "FrontdeskError", "Reply", "Turn", "__version__"]
__version__ = "0.1.0"


def __getattr__(name: str):
    if name == "Assistant":
        from engine.assistant import Assistant

        return Assistant
    raise AttributeError(name)
