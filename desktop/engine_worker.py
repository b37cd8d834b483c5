"""The one way the window runs engine work: a long-lived object owned by a QThread, signals only.

Like Anki's `QueryOp`: the caller hands `op(resource, job)` that never touches widgets, plus
callbacks that run back on the UI thread. Each `EngineWorker` owns one resource (the Assistant,
the Store, the Transcriber) built by `factory` *inside* its thread, so torch and friends are
imported there and the window shows at once. Requests sent before the resource is ready wait in
the thread's event queue behind the load and are answered, in order, when it is.
"""

from __future__ import annotations

import gc
import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from engine.errors import FrontdeskError

log = logging.getLogger("frontdesk.desktop")

PROGRESS_EVERY_S = 0.05  # at most ~20 progress signals a second: a 100k-row export must not flood


_loading = 0  # loads in progress, on any worker thread
_loading_lock = threading.Lock()


@contextmanager
def loading() -> Iterator[None]:
    """No automatic garbage collection while models load, then everything loaded frozen.

    Importing torch and transformers and building a model allocate millions of objects; each
    full collection they trigger walks all of them holding the GIL, so the UI thread could not
    run: 7 collections, 2.9 s in all and 823 ms the longest, while the Assistant loaded on a
    2-core machine (bench/gui.py). Counted, so two workers loading at once share it; afterwards
    `gc.freeze` keeps the loaded objects out of every later collection too (the one
    faster-whisper runs after each file froze the UI 0.6-1 s once torch was loaded).
    """
    global _loading
    with _loading_lock:
        if _loading == 0:
            gc.disable()
        _loading += 1
    try:
        yield
    finally:
        gc.freeze()
        with _loading_lock:
            _loading -= 1
            if _loading == 0:
                gc.enable()


class Cancelled(Exception):
    """Raised inside an op when the user cancelled its job (see `Job.check`)."""


Op = Callable[[Any, "Job"], Any]


@dataclass(eq=False)
class Job:
    """One queued op and what to call back, by name, on the UI thread when it ends.

    Exactly one of `on_done(result)`, `on_error(sentence)` and `on_cancelled()` is called; a
    missing `on_error` sends the sentence to the worker's `error` signal, a missing
    `on_cancelled` means the caller needs no word (the agent asked for it). The op reports
    progress and checks for cancellation through the job, from the worker thread.
    """

    id: int
    label: str
    op: Op
    on_done: Callable[[Any], None] | None = None
    on_error: Callable[[str], None] | None = None
    on_progress: Callable[[int, int], None] | None = None
    on_cancelled: Callable[[], None] | None = None
    cancel_event: threading.Event = field(default_factory=threading.Event, repr=False)
    _last_progress: float = field(default=0.0, repr=False)
    _emit: Callable[[int, int, int], None] | None = field(default=None, repr=False)

    def cancel(self) -> None:
        """Ask the op to stop at its next progress report (thread-safe)."""
        self.cancel_event.set()

    @property
    def cancelled(self) -> bool:
        return self.cancel_event.is_set()

    def check(self) -> None:
        """Raise Cancelled if the user cancelled; ops call this between steps."""
        if self.cancel_event.is_set():
            raise Cancelled(self.label)

    def progress(self, done: int, total: int) -> None:
        """Report progress (throttled) and stop here if cancelled; fits engine `progress=` hooks."""
        self.check()
        now = time.monotonic()
        if self._emit and (done >= total or now - self._last_progress >= PROGRESS_EVERY_S):
            self._last_progress = now
            self._emit(self.id, int(done), int(total))


def error_sentence(err: BaseException, label: str) -> str:
    """One sentence for the user: the engine's own for FrontdeskError, a plain one otherwise
    (also for one raised without words: an error is never an empty message)."""
    if isinstance(err, FrontdeskError) and str(err).strip():
        return str(err)
    return f"Frontdesk could not finish {label}: {type(err).__name__}: {err}".rstrip(": ")


class _Core(QObject):
    """Lives in the worker thread: builds the resource, runs ops, reports back by signal."""

    loaded = Signal(str)
    load_failed = Signal(str)
    finished = Signal(int, object)
    failed = Signal(int, str)
    cancelled = Signal(int)
    progressed = Signal(int, int, int)

    def __init__(self, factory: Callable[[], Any], name: str) -> None:
        super().__init__()
        self._factory = factory
        self._name = name
        self.resource: Any = None
        self.load_error: str | None = None

    @Slot()
    def load(self) -> None:
        threading.current_thread().name = f"frontdesk-{self._name}"  # as stall reports say it
        started = time.perf_counter()
        try:
            with loading():
                self.resource = self._factory()
        except Exception as err:  # shown as one sentence; details in the log
            log.exception("%s failed to load", self._name)
            self.load_error = error_sentence(err, f"loading the {self._name}")
            self.load_failed.emit(self.load_error)
            return
        log.info("%s ready in %.2f s", self._name, time.perf_counter() - started)
        self.loaded.emit(self._name)

    @Slot(object)
    def execute(self, job: Job) -> None:
        if job.cancelled:
            self.cancelled.emit(job.id)
            return
        if self.resource is None and self.load_error is not None:
            self.failed.emit(job.id, self.load_error)
            return
        job._emit = self.progressed.emit
        try:
            result = job.op(self.resource, job)
        except Exception as err:
            if isinstance(err, Cancelled) or job.cancelled:
                # the engine's own way of stopping (TrainingCancelled, a transcription's
                # Cancelled) is the same outcome: the agent asked for it, nothing to report
                log.info("%s cancelled (%s)", job.label, type(err).__name__)
                self.cancelled.emit(job.id)
                return
            if not isinstance(err, FrontdeskError):
                log.exception("%s failed", job.label)
            else:
                log.info("%s refused: %s", job.label, err)
            self.failed.emit(job.id, error_sentence(err, job.label))
        else:
            self.finished.emit(job.id, result)


class EngineWorker(QObject):
    """UI-side handle: `run(op, label=..., on_done=...)`; callbacks come back on the UI thread.

    Signals: `status(str)` for the status bar, `ready(str)` once the resource is built,
    `error(str)` for failures no `on_error` took, `busy(bool)` while ops are queued or running.
    A cancelled job calls its `on_cancelled` and nothing else.
    """

    status = Signal(str)
    ready = Signal(str)
    error = Signal(str)
    busy = Signal(bool)
    _load = Signal()
    _submit = Signal(object)

    def __init__(self, name: str, factory: Callable[[], Any], parent: QObject | None = None):
        super().__init__(parent)
        self.name = name
        self._ids = itertools.count(1)
        self._pending: dict[int, Job] = {}
        self._ready = False
        self._started = False
        self._stopped = False
        self._load_error: str | None = None
        self._thread = QThread()
        self._thread.setObjectName(f"frontdesk-{name}")
        self._core = _Core(factory, name)
        self._core.moveToThread(self._thread)
        self._load.connect(self._core.load)
        self._submit.connect(self._core.execute)
        self._core.loaded.connect(self._on_loaded)
        self._core.load_failed.connect(self._on_load_failed)
        self._core.finished.connect(self._on_finished)
        self._core.failed.connect(self._on_failed)
        self._core.cancelled.connect(self._on_cancelled)
        self._core.progressed.connect(self._on_progress)
        self._thread.finished.connect(self._core.deleteLater)

    @property
    def is_ready(self) -> bool:
        return self._ready

    @property
    def load_error(self) -> str | None:
        """The sentence saying why the resource could not be built, once that is known."""
        return self._load_error

    @property
    def pending(self) -> int:
        return len(self._pending)

    def start(self) -> None:
        """Start the thread and build the resource there (once, and never after `stop`)."""
        if self._started or self._stopped:
            return
        self._started = True
        self._thread.start()
        self.status.emit(f"Loading the {self.name}…")
        self._load.emit()

    def run(
        self,
        op: Op,
        *,
        label: str,
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[str], None] | None = None,
        on_progress: Callable[[int, int], None] | None = None,
        on_cancelled: Callable[[], None] | None = None,
    ) -> Job:
        """Queue `op(resource, job)` on the worker thread; never blocks the caller."""
        if not self._started:
            self.start()
        job = Job(next(self._ids), label, op, on_done=on_done, on_error=on_error,
                  on_progress=on_progress, on_cancelled=on_cancelled)
        self._pending[job.id] = job
        if len(self._pending) == 1:
            self.busy.emit(True)
        self._submit.emit(job)
        return job

    def stop(self, wait_ms: int = 30000) -> None:
        """End the thread after the op in flight (closing the app). A callback still queued
        for the UI may call `start` afterwards: it does nothing, since a thread started then
        would outlive the app (Qt aborts: "QThread: Destroyed while thread is still running")."""
        self._stopped = True
        if self._started:
            self._thread.quit()
            self._thread.wait(wait_ms)

    @Slot(str)
    def _on_loaded(self, name: str) -> None:
        self._ready = True
        self.status.emit(f"The {name} is ready.")
        self.ready.emit(name)

    @Slot(str)
    def _on_load_failed(self, message: str) -> None:
        self._load_error = message
        self.status.emit(message)
        self.error.emit(message)

    def _take(self, job_id: int) -> Job | None:
        job = self._pending.pop(job_id, None)
        if not self._pending:
            self.busy.emit(False)
        return job

    @Slot(int, object)
    def _on_finished(self, job_id: int, result: Any) -> None:
        job = self._take(job_id)
        if job is not None and job.on_done is not None:
            job.on_done(result)

    @Slot(int, str)
    def _on_failed(self, job_id: int, message: str) -> None:
        job = self._take(job_id)
        if job is not None and job.on_error is not None:
            job.on_error(message)
        else:
            self.error.emit(message)

    @Slot(int)
    def _on_cancelled(self, job_id: int) -> None:
        job = self._take(job_id)
        if job is not None and job.on_cancelled is not None:
            job.on_cancelled()

    @Slot(int, int, int)
    def _on_progress(self, job_id: int, done: int, total: int) -> None:
        job = self._pending.get(job_id)
        if job is not None and job.on_progress is not None:
            job.on_progress(done, total)
