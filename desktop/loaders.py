"""What the window's workers load off the UI thread: the store, the Assistant, speech.

These run on the engine threads (desktop.engine_worker), so the window itself starts without
them. The app's Assistant and Whisper are loaded and run in processes of their own
(engine.assistant_process, engine.speech.process): no call of theirs can hold this process's
GIL. A window given an `assistant_factory` (tests, the screenshot tool) builds its Assistant
in this process instead.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

from desktop.native_preload import NUMPY, PANDAS, preload
from desktop.settings import DesktopSettings
from engine.errors import ModelError


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


class SharedTranscriber:
    """The window's one Whisper process, for the speech thread (files, recordings) and the
    Assistant (a turn that is a recording alone) alike: made, not started, by whichever
    loading thread asks first. Two would load Whisper twice, each in a process of its own."""

    def __init__(self, home: Path, settings: DesktopSettings) -> None:
        self._options = speech_options(home, settings)
        self._lock = threading.Lock()
        self._transcriber = None

    def get(self):
        with self._lock:
            if self._transcriber is None:
                from engine.speech.process import ProcessTranscriber

                self._transcriber = ProcessTranscriber(**self._options, start=False)
            return self._transcriber


class AssistantProcess:
    """The window's Assistant, loaded and run in a child process (engine.assistant_process):
    torch, transformers and the screenshot models are never imported in the window's process,
    so their imports cannot hold its GIL. `load` runs on the engine thread (it waits there
    until the child's models are loaded); `close` ends the child with the window, a load in
    progress included."""

    def __init__(self, home: Path, settings: DesktopSettings, speech: SharedTranscriber) -> None:
        self._home, self._settings, self._speech = home, settings, speech
        self._lock = threading.Lock()
        self._closed = False
        self.assistant = None

    def load(self):
        reserve_ui_core()  # the child inherits OMP_NUM_THREADS: a core stays with the UI
        from engine.assistant_process import ProcessAssistant

        settings = self._settings
        with self._lock:
            if self._closed:
                raise ModelError("The window closed before the models loaded.")
            self.assistant = ProcessAssistant(
                self._home, Path(settings.knowledge_dir) if settings.knowledge_dir else None,
                settings.device, self._speech.get, start=False)
        self.assistant.start()
        return self.assistant

    def close(self) -> None:
        with self._lock:
            self._closed = True
        if self.assistant is not None:
            self.assistant.close()


def speech_options(home: Path, settings: DesktopSettings) -> dict:
    """The Whisper the settings choose, as engine.speech.process.ProcessTranscriber takes it."""
    return {"model": settings.whisper_model or None, "device": settings.device, "home": home}


def load_transcriber(home: Path, settings: DesktopSettings,
                     speech: SharedTranscriber | None = None):
    """Whisper in a child process (`speech`'s), loaded (and warmed up) there; this thread only
    waits on a pipe. Loaded in this process, faster-whisper's tokenizer parse alone held the
    GIL ~90 ms and froze the window at launch (bench/gui.py)."""
    reserve_ui_core()  # the child inherits OMP_NUM_THREADS: a core stays with the UI
    transcriber = (speech or SharedTranscriber(home, settings)).get()
    transcriber.start()
    return transcriber
