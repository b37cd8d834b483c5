"""Whisper in a process of its own, behind the same `Transcriber` interface.

A C call that keeps the GIL stops every Python thread of its process, whatever thread makes it:
faster-whisper's tokenizer parse (tokenizers keeps the GIL, ~90 ms of CPU) and its model setup
froze the window's event loop while Whisper loaded on a worker thread (bench/gui.py: 80-175 ms
at launch). Loaded and run in a child process, Whisper holds that process's GIL, never the
caller's: the caller's thread only waits on a pipe.

The child is a fresh interpreter (`python -m engine.speech.process`, see engine.child), not a
fork, so it inherits no Qt and no torch, only the environment. Requests go one at a time;
progress comes back per decoded segment; cancelling sends a message the child checks between
segments, as the in-process loop does, and a child that has not stopped CANCEL_GRACE_S later is
killed. A child that dies is one sentence to the caller, and the next request starts a new one.
"""

from __future__ import annotations

import itertools
import logging
import os
import queue
import signal
import sys
import threading
import time
import weakref
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np

from engine.child import Child, child_pipes, error_from, listen
from engine.errors import FrontdeskError, InputError, ModelError
from engine.speech.audio import SAMPLE_RATE
from engine.speech.models import DEFAULT_MODEL
from engine.speech.transcribe import BACKENDS, Cancelled, Progress, Transcript, load_transcriber

log = logging.getLogger(__name__)

CANCEL_GRACE_S = 1.0  # a cancelled request not stopped by then is ended with its process
POLL_S = 0.05  # how often a waiting caller looks at its cancel event
LOAD_TIMEOUT_S = 600.0  # a child that has not loaded Whisper by then is given up on
# what a frozen app's executable is started with to be the child (packaging/frontdesk_entry.py)
SPEECH_PROCESS_ARG = "--frontdesk-speech-process"


class ProcessTranscriber:
    """A `Transcriber` whose Whisper lives in a child process (see the module docstring).

    `start=True` starts the child and waits until it has loaded Whisper (raises ModelError if it
    cannot); `start=False` leaves that to the first request. Thread-safe: requests from several
    threads (a dropped file while live transcription runs) take turns."""

    def __init__(
        self,
        backend: str = "faster-whisper",
        model: str | Path | None = None,
        device: str = "auto",
        home: Path | None = None,
        *,
        start: bool = True,
    ) -> None:
        if backend not in BACKENDS:
            raise InputError(f"Unknown speech backend {backend!r}; use one of "
                             f"{', '.join(BACKENDS)}.")
        self.backend = backend
        self.model_name = str(model or DEFAULT_MODEL)
        self._config = {"backend": backend, "model": str(model) if model else None,
                        "device": device, "home": str(home) if home else None}
        self._lock = threading.Lock()
        self._child: Child | None = None
        self._ids = itertools.count(1)
        if start:
            self.start()

    @property
    def pid(self) -> int | None:
        """The child's process id while one runs (None before the first request)."""
        return self._child.process.pid if self._child is not None else None

    def start(self, cancel: threading.Event | None = None) -> None:
        """Start the child now (if none runs) and wait until Whisper is loaded there."""
        self._take_turn(cancel)
        try:
            self._running(cancel)
        finally:
            self._lock.release()

    def close(self) -> None:
        """End the child (the next request starts a new one)."""
        with self._lock:
            child, self._child = self._child, None
        if child is not None:
            child.stop()

    def transcribe(
        self,
        audio: np.ndarray | str | os.PathLike[str],
        *,
        prompt: str | None = None,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
    ) -> Transcript:
        """As `Transcriber.transcribe`; a file is decoded by the child (sent as its path)."""
        payload = (str(audio) if isinstance(audio, (str, os.PathLike))
                   else np.asarray(audio))
        return self._ask("transcribe", (payload, prompt, progress is not None), progress, cancel)

    def speech_timestamps(self, audio: np.ndarray, **options: Any) -> list[dict[str, int]]:
        """As `_BlockTranscriber.speech_timestamps`, run by the child (Silero VAD is there)."""
        return self._ask("vad", (np.asarray(audio, dtype=np.float32), options), None, None)

    # --- the caller's side of one request ----------------------------------------------------
    def _take_turn(self, cancel: threading.Event | None) -> None:
        """Wait for the request before ours, still answering a cancel meanwhile."""
        while not self._lock.acquire(timeout=POLL_S):
            _check(cancel)

    def _running(self, cancel: threading.Event | None) -> Child:
        """The child, started (and loaded) if none runs; called holding the lock."""
        if self._child is not None and self._child.process.poll() is not None:
            log.warning("the speech process had ended (%s); starting a new one",
                        self._child.ended())
            self._child = None
        if self._child is None:
            self._child = self._spawn()
        child = self._child
        deadline = time.monotonic() + LOAD_TIMEOUT_S
        while not child.ready:
            _check(cancel)  # the load goes on; the next request waits for the rest of it
            if time.monotonic() > deadline:
                self._child = None
                child.stop()
                raise ModelError(f"The speech model did not load in {LOAD_TIMEOUT_S:.0f} s.")
            if not child.replies.poll(POLL_S):
                continue
            try:
                kind, _request, *rest = child.replies.recv()
            except (EOFError, OSError):
                self._child = None
                raise ModelError("The speech model could not be started: its process ended "
                                 f"({child.ended()}).") from None
            if kind == "failed":
                self._child = None
                child.stop()
                raise ModelError(rest[0])
            if kind == "ready":
                self.backend, self.model_name = rest
                child.ready = True
        return child

    def _ask(self, kind: str, args: tuple, progress: Progress | None,
             cancel: threading.Event | None) -> Any:
        self._take_turn(cancel)
        try:
            _check(cancel)
            child = self._running(cancel)
            request = next(self._ids)
            try:
                child.send((kind, request, *args))
            except OSError:
                raise self._died(child) from None
            return self._answer(child, request, progress, cancel)
        finally:
            self._lock.release()

    def _answer(self, child: Child, request: int, progress: Progress | None,
                cancel: threading.Event | None) -> Any:
        """The child's answer to `request`: its result, or its error raised here."""
        stop_by: float | None = None  # set once cancelled: when the child must have stopped
        interrupted: BaseException | None = None  # raised by `progress` (the caller's cancel)
        while True:
            if child.replies.poll(POLL_S):
                try:
                    kind, ident, *rest = child.replies.recv()
                except (EOFError, OSError):
                    raise self._died(child) from None
                if ident != request:
                    continue
                if kind == "progress":
                    if progress is not None and stop_by is None:
                        try:
                            progress(rest[0])
                        except BaseException as err:  # noqa: BLE001 (re-raised once stopped)
                            interrupted, stop_by = err, self._cancel(child, request)
                    continue
                if interrupted is not None:
                    raise interrupted
                if kind == "done":
                    return rest[0]
                if kind == "cancelled":
                    raise Cancelled()
                raise error_from(*rest)
            if stop_by is None and cancel is not None and cancel.is_set():
                stop_by = self._cancel(child, request)
            elif stop_by is not None and time.monotonic() > stop_by:
                log.info("the speech process did not stop within %.1f s of a cancel; ended it "
                         "and started a new one", CANCEL_GRACE_S)
                child.stop()
                self._child = self._spawn()  # loading while the agent does something else
                raise interrupted or Cancelled()

    def _spawn(self) -> Child:
        """A new child, loading (not waited for); ended with this transcriber at the latest."""
        child = Child("engine.speech.process", SPEECH_PROCESS_ARG, ("load", self._config))
        weakref.finalize(self, child.stop)
        return child

    def _cancel(self, child: Child, request: int) -> float:
        try:
            child.send(("cancel", request))
        except OSError:
            pass  # it has ended: the next poll finds out
        return time.monotonic() + CANCEL_GRACE_S

    def _died(self, child: Child) -> ModelError:
        self._child = None
        return ModelError(f"The speech model stopped unexpectedly (its process ended with "
                          f"{child.ended()}); the next recording or file starts it again.")


def _check(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled()


# --- the child --------------------------------------------------------------------------------
def serve(requests: Connection, replies: Connection) -> None:
    """Load Whisper as the first message says, then answer requests until the pipe closes."""
    _, config = requests.recv()
    try:
        transcriber = load_transcriber(**{**config, "home": config["home"] and Path(
            config["home"])})
        # one second of silence through the whole pipeline while still loading: the first real
        # request would otherwise build the VAD's ONNX session (~0.4 s) mid-use
        transcriber.transcribe(np.zeros(SAMPLE_RATE, dtype=np.float32))
    except FrontdeskError as err:
        replies.send(("failed", 0, str(err)))
        return
    except Exception as err:  # noqa: BLE001 (said in one sentence; the traceback to stderr)
        log.exception("loading the speech model failed")
        replies.send(("failed", 0, f"The speech model could not be loaded: "
                                   f"{type(err).__name__}: {err}."))
        return
    replies.send(("ready", 0, transcriber.backend, transcriber.model_name))

    work: queue.Queue = queue.Queue()
    cancels: dict[int, threading.Event] = {}

    def route(message: tuple) -> None:
        """Requests into the queue, cancels straight to their event."""
        if message[0] == "cancel":
            cancels.setdefault(message[1], threading.Event()).set()
        else:
            work.put(message)

    listen(requests, route)
    while True:
        kind, ident, *args = work.get()
        cancel = cancels.setdefault(ident, threading.Event())
        try:
            if kind == "transcribe":
                audio, prompt, report = args
                result = transcriber.transcribe(
                    audio, prompt=prompt, cancel=cancel,
                    progress=(lambda f, i=ident: replies.send(("progress", i, f)))
                    if report else None)
            else:
                result = transcriber.speech_timestamps(*args[:1], **args[1])
            replies.send(("done", ident, result))
        except Cancelled:
            replies.send(("cancelled", ident))
        except FrontdeskError as err:
            replies.send(("error", ident, type(err).__name__, str(err)))
        except Exception as err:  # noqa: BLE001 (one sentence back; the traceback to stderr)
            log.exception("speech request failed")
            replies.send(("error", ident, "ModelError",
                          f"Transcription failed: {type(err).__name__}: {err}."))
        finally:
            cancels.pop(ident, None)


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the app's; its exit ends us
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="frontdesk speech process %(levelname)s: %(message)s")
    serve(*child_pipes(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
