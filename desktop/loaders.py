"""What the window's workers load off the UI thread: the store, the Assistant, speech.

These run on the engine threads (desktop.engine_worker); they are the only place torch & co.
get imported, so the window itself starts without them. Whisper is loaded and run in a process
of its own (engine.speech.process): no call of its can hold this process's GIL.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from desktop.native_preload import NUMPY, PANDAS, TOKENIZERS, TORCH, TRITON, preload
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


# the packages whose modules may select PySide6 features (none of ours does; see below)
QT_PACKAGES = ("PySide6", "shiboken6", "desktop", "bench", "tests", "__main__", "__mp_main__")


def skip_pyside_source_scan() -> bool:
    """Stop PySide6 reading the source of every module imported after it.

    PySide6's `__feature__` support (PYSIDE-2029) runs `inspect.getsource` on the module each
    new import statement returns, to see whether it mentions PySide6: while torch,
    transformers and the screenshot models loaded at launch, ~3,900 source reads and 0.6-0.9 s
    of CPU on the loading threads of a 2-core machine (inspect.findsource timed: 4,260 calls
    before, 380 after, torch's own). Only modules that select a
    feature (`from __feature__ import snake_case`) need it, and none here does: modules of
    the Qt-using packages keep PySide's default (0, no feature), all others are marked
    "ignore" (-1) without reading them. Another PySide6 layout: left as it is (False)."""
    feature = sys.modules.get("PySide6.support.feature")
    if feature is None or not callable(getattr(feature, "_mod_uses_pyside", None)):
        return False

    def uses_pyside(module) -> bool:
        return getattr(module, "__name__", "").partition(".")[0] in QT_PACKAGES

    feature._mod_uses_pyside = uses_pyside
    return True


def open_store(home: Path):
    skip_pyside_source_scan()  # the first loader to run: before any heavy import
    preload(NUMPY, PANDAS)  # the store's imports bring numpy in (OpenBLAS behind it), and
    # sqlite-utils pandas where it is installed
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
