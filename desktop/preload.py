"""What a typed turn does not need, loaded after what it does.

The Assistant's worker loads the text intent model and nothing else, so a message typed right
after launch waits for that only. Once it is ready (and turns already queued are answered),
Whisper loads in its own process (started from the speech thread, engine.speech.process) and
the screenshot models (OCR, the frozen MiniLM, the fused model) beside the Assistant: on a
thread of their own, or in the Assistant's process (engine.assistant_process) when it runs in
one, so the first screenshot or recording does not pay for them and a typed turn never queues
behind them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from desktop.engine_worker import EngineWorker, Job, loading
from desktop.native_preload import AFTER_TEXT_MODEL, PYAV, preload


def import_screenshot_modules() -> bool:
    """The heavy imports (torch_geometric, RapidOCR), off the engine thread; OpenCV's,
    onnxruntime's and llvmlite's libraries loaded first with the GIL released (and PyAV's,
    which a voice turn's recording needs: desktop.native_preload)."""
    preload(*AFTER_TEXT_MODEL)
    import rapidocr  # noqa: F401

    import engine.fusion.reader  # noqa: F401
    import engine.learning.fused_retrain  # noqa: F401 (imported for its side effect: loaded modules)

    return True


def import_playback_modules() -> bool:
    """PyAV's libraries, which playing a voice turn's recording needs, loaded with the GIL
    released (the screenshot models are imported in the Assistant's process)."""
    preload(PYAV)
    return True


def screenshot_models_loader(assistant: Any) -> Callable[[], None]:
    """On the engine thread: what loads `assistant`'s screenshot models, to be run on the
    preloading thread (the process Assistant's own call; in this process the reader, made
    here, cheaply once the modules are imported, then its models)."""
    remote = getattr(assistant, "load_screenshot_models", None)
    return remote if callable(remote) else assistant.multimodal.load_models


class Preloader(QObject):
    """`start()` once the Assistant is ready; `finished` when everything is loaded."""

    finished = Signal()

    def __init__(self, engine: EngineWorker, speech: EngineWorker,
                 parent: QObject | None = None, *, in_process: bool = True) -> None:
        super().__init__(parent)
        self._engine = engine
        self._speech = speech
        imports = import_screenshot_modules if in_process else import_playback_modules
        self.worker = EngineWorker("screenshot models", imports, self)
        self.worker.ready.connect(self._imported)
        self.worker.error.connect(lambda _m: self._finish(None))  # a screenshot will say why
        self._started = False
        self.done = False

    def start(self) -> None:
        if self._started:
            return
        self._started = True
        self._speech.start()
        self.worker.start()

    def stop(self) -> None:
        self.worker.stop()

    def _imported(self, _name: str) -> None:
        self._engine.run(lambda assistant, _job: screenshot_models_loader(assistant),
                         label="preparing the screenshot reader", on_done=self._warm,
                         on_error=lambda _m: self._finish(None))

    def _warm(self, load: Callable[[], None]) -> None:
        def op(_imported: Any, _job: Job) -> None:
            with loading():
                load()

        self.worker.run(op, label="loading the screenshot models", on_done=self._finish,
                        on_error=lambda _m: self._finish(None))

    def _finish(self, _result: Any) -> None:
        self.done = True
        self.finished.emit()
