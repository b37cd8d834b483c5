"""What the window's workers load off the UI thread: the store, the Assistant, speech.

These run on the engine threads (desktop.engine_worker); they are the only place torch & co.
get imported, so the window itself starts without them. Whisper is loaded and run in a process
of its own (engine.speech.process): no call of its can hold this process's GIL.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from desktop.native_preload import NUMPY, TOKENIZERS, TORCH, TRITON, preload
from desktop.settings import DesktopSettings


def engine_threads() -> int:
    """Threads for torch / CTranslate2: all cores but one, which stays with the UI thread.

    On a 2-core laptop the default (every core, spinning OpenMP workers) made a typed turn
    take 3x longer through the window and froze the UI for hundreds of ms (bench/gui.py).
    """
    return max(1, (os.cpu_count() or 2) - 1)


def reserve_ui_core() -> None:
    """Cap the math libraries' thread pools before they start (the user's setting wins)."""
    threads = str(engine_threads())
    os.environ.setdefault("OMP_NUM_THREADS", threads)
    if "torch" in sys.modules:
        import torch

        torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))


def open_store(home: Path):
    preload(NUMPY)  # the store's imports bring numpy in (OpenBLAS behind it)
    from engine.store.database import Store

    return Store.open(home)


def load_assistant(home: Path, settings: DesktopSettings):
    """Runs on the engine thread: the only place torch & co. get imported (torch's libraries
    loaded first with the GIL released, desktop.native_preload)."""
    reserve_ui_core()  # before torch's libgomp is loaded: it reads OMP_NUM_THREADS then
    preload(NUMPY, TORCH, TRITON, TOKENIZERS)
    device = settings.device
    if device == "auto":
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
    from engine.assistant import Assistant
    from engine.speech.process import ProcessTranscriber

    knowledge = Path(settings.knowledge_dir) if settings.knowledge_dir else None
    # a turn that is a recording alone is transcribed by the Assistant: in a child process too,
    # started only if such a turn comes
    transcriber = ProcessTranscriber(**speech_options(home, settings), start=False)
    return Assistant(home, knowledge=knowledge, device=device, transcriber=transcriber)


def speech_options(home: Path, settings: DesktopSettings) -> dict:
    """The Whisper the settings choose, as engine.speech.process.ProcessTranscriber takes it."""
    return {"model": settings.whisper_model or None, "device": settings.device, "home": home}


def load_transcriber(home: Path, settings: DesktopSettings):
    """Whisper in a child process, loaded (and warmed up) there; this thread only waits on a
    pipe. Loaded in this process, faster-whisper's tokenizer parse alone held the GIL ~90 ms
    and froze the window at launch (bench/gui.py)."""
    reserve_ui_core()  # the child inherits OMP_NUM_THREADS: a core stays with the UI
    from engine.speech.process import ProcessTranscriber

    return ProcessTranscriber(**speech_options(home, settings))
