"""What the window's workers load off the UI thread: the store, the Assistant, speech.

These run on the engine threads (desktop.engine_worker); they are the only place torch & co.
get imported, so the window itself starts without them.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

from desktop.native_preload import CTRANSLATE2, NUMPY, ONNXRUNTIME, TORCH, TRITON, preload
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


_early: list[threading.Thread] = []  # torch's libraries, loading while the store opens


def open_store(home: Path):
    preload(NUMPY)  # the store's imports bring numpy in; this thread starts first
    start_loading_torch_libraries()
    from engine.store.database import Store

    return Store.open(home)


def start_loading_torch_libraries() -> None:
    """torch's libraries dlopen'ed (GIL released) on a thread of their own while the store opens.

    The Assistant's load starts only once the store is open (one connection runs the
    migrations), so this takes the dlopen (0.4-1.2 s on 2 cores) off the wait of a message
    typed at launch. The UI core is reserved first: libgomp reads OMP_NUM_THREADS once, when
    it is loaded.
    """
    if _early or "torch" in sys.modules:
        return
    reserve_ui_core()
    thread = threading.Thread(target=preload, args=(TORCH, TRITON), daemon=True,
                              name="frontdesk-torch-libraries")
    _early.append(thread)
    thread.start()


def load_assistant(home: Path, settings: DesktopSettings):
    """Runs on the engine thread: the only place torch & co. get imported (torch's libraries
    loaded first with the GIL released, desktop.native_preload)."""
    reserve_ui_core()  # before torch's libgomp is loaded: it reads OMP_NUM_THREADS then
    for thread in _early:
        thread.join()  # waits with the GIL released
    preload(NUMPY, TORCH, TRITON)  # what is not loaded yet (no store opened first, a failure)
    device = settings.device
    if device == "auto":
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
    from engine.assistant import Assistant

    knowledge = Path(settings.knowledge_dir) if settings.knowledge_dir else None
    return Assistant(home, knowledge=knowledge, device=device)


def load_transcriber(home: Path, settings: DesktopSettings):
    reserve_ui_core()
    preload(CTRANSLATE2, ONNXRUNTIME)  # faster-whisper and its VAD
    from engine.speech.transcribe import load_transcriber

    transcriber = load_transcriber(model=settings.whisper_model or None, device=settings.device,
                                   home=home)
    warm_up_transcriber(transcriber)
    return transcriber


def warm_up_transcriber(transcriber) -> None:
    """One second of silence through the whole pipeline while still loading: the first real
    call would otherwise build the VAD's ONNX session and hold the GIL for ~0.4 s mid-use."""
    import numpy as np

    transcriber.transcribe(np.zeros(16_000, dtype=np.float32))
