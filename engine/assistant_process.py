"""The Assistant in a process of its own, for the window: its models never load in the window's.

Importing torch (its C init holds the GIL 46-65 ms), transformers, torch_geometric and numba on
the window's loading threads froze its event loop at launch (bench/gui.py: up to 205 ms) though
the UI thread had nothing to do but wait for the GIL. Here the text model, the knowledge base,
the conversation and screenshot models (OCR included) load and run in a child process
(engine.child); the window's threads only wait on a pipe, and the window's process never
imports them.

`ProcessAssistant` answers the calls the window makes (respond, add_turn, new_session, feedback,
redraft, use_version, screen_reader.read, load_screenshot_models) by sending them to the child
and waiting for its answer; several threads may ask at once (the screenshot models load while a
turn is answered). The child writes the conversation to the store itself, as the Assistant does
in-process (SQLite in WAL mode with a busy timeout, shared with the window's store thread); the
caller's turn gets its id, text and source as soon as it is stored (kept, never resent, if the
child then dies). A recording-only turn is transcribed by the window's own Whisper process,
asked through this pipe. A child that dies is one sentence to the caller, and the next request
starts a new one; `close` (the window closing) ends it, and a child whose window is gone exits
by itself (its pipe closes).
"""

from __future__ import annotations

import gc
import itertools
import logging
import os
import queue
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from engine.child import Child, child_pipes, error_from, listen
from engine.errors import FrontdeskError, ModelError
from engine.types import Reply, Turn

log = logging.getLogger(__name__)

LOAD_TIMEOUT_S = 900.0  # a child that has not loaded the models by then is given up on
# what a frozen app's executable is started with to be the child (packaging/frontdesk_entry.py)
ASSISTANT_PROCESS_ARG = "--frontdesk-assistant-process"
MODULE = "engine.assistant_process"


@dataclass(eq=False)
class _Answer:
    """One request in flight: its result or error, and the caller's turn to update."""

    turn: Turn | None = None
    done: threading.Event = field(default_factory=threading.Event)
    value: Any = None
    error: BaseException | None = None

    def settle(self, kind: str, rest: list[Any]) -> None:
        if kind == "done":
            self.value, state = rest
        else:
            self.error, state = error_from(rest[0], rest[1]), rest[2]
        self.keep(state)
        self.done.set()

    def keep(self, state: tuple | None) -> None:
        """The caller's turn as the child stored it (id, text, source): as soon as it is
        committed, so a child that dies while reading it leaves it known as kept, not resent."""
        if self.turn is not None and state is not None:
            self.turn.id, self.turn.text, self.turn.source = state

    def result(self) -> Any:
        """Wait for the answer: its value, or its error raised here."""
        self.done.wait()
        if self.error is not None:
            raise self.error
        return self.value


class _Running:
    """A started child, the thread reading its messages and the requests waiting on it."""

    def __init__(self, child: Child) -> None:
        self.child = child
        self.loaded = threading.Event()  # set once it has loaded, failed, or ended
        self.failure: str | None = None  # why it could not load
        self.ended: str | None = None  # how it ended, once it has
        self.waiting: dict[int, _Answer] = {}
        self.lock = threading.Lock()  # `waiting` and `ended` together


class ProcessAssistant:
    """The Assistant's calls, answered by an Assistant in a child process (module docstring).

    `transcriber` gives the Whisper a recording-only turn is transcribed with (None: the
    child's Assistant loads its own); `start=False` leaves starting the child to `start` or the
    first request."""

    def __init__(self, home: Path, knowledge: Path | None = None, device: str = "auto",
                 transcriber: Callable[[], Any] | None = None, *, start: bool = True) -> None:
        self.home = Path(home)
        self._config = {"home": str(home), "knowledge": str(knowledge) if knowledge else None,
                        "device": device, "relay": transcriber is not None}
        self._transcriber = transcriber
        self._lock = threading.Lock()
        self._running: _Running | None = None
        self._closed = False
        self._ids = itertools.count(1)
        self.labels: list[str] = []  # the intent model's, once the child has loaded it
        self.device = device
        # the child's OCR reader, which the window checks a screenshot with before sending it
        self.screen_reader = SimpleNamespace(read=lambda path: self._ask("read_screenshot",
                                                                         str(path)))
        if start:
            self.start()

    @property
    def pid(self) -> int | None:  # the child's, while one runs
        running = self._running
        return running.child.process.pid if running is not None else None

    def close(self) -> None:
        """End the child for good: what waits on it gets an error, later requests too."""
        with self._lock:
            self._closed = True
            running, self._running = self._running, None
        if running is not None:
            running.child.stop()

    # --- the Assistant's calls ---------------------------------------------------------------
    def respond(self, session_id: int, turn: Turn) -> Reply:
        return self._ask("respond", session_id, turn, turn=turn)

    def add_turn(self, session_id: int, turn: Turn) -> int:
        return self._ask("add_turn", session_id, turn, turn=turn)

    def new_session(self, agent: str | None = None, channel: str = "chat",
                    title: str | None = None) -> int:
        return self._ask("new_session", agent, channel, title)

    def feedback(self, reply_id: int, action: str, corrected_intent: str | None = None,
                 final_answer: str | None = None) -> int:
        return self._ask("feedback", reply_id, action, corrected_intent, final_answer)

    def redraft(self, session_id: int, turn_id: int, intent: str) -> tuple[str, str, bool]:
        return self._ask("redraft", session_id, turn_id, intent)

    def use_version(self, name: str) -> None:
        self.labels, self.device = self._ask("use_version", name)

    def load_screenshot_models(self) -> None:
        """Load the screenshot models in the child beside whatever it answers meanwhile."""
        self._ask("load_screenshot_models")

    # --- the caller's side -------------------------------------------------------------------
    def start(self) -> _Running:
        """Start the child (if none runs) and wait until its Assistant is loaded."""
        with self._lock:
            if self._closed:
                raise ModelError("The assistant has been closed with its window.")
            running = self._running
            if running is not None and running.ended is not None:
                log.warning("the assistant's process had ended (%s); starting a new one",
                            running.ended)
                running = None
            if running is None:
                running = self._running = self._spawn()
        if not running.loaded.wait(LOAD_TIMEOUT_S):
            running.child.stop()
            raise ModelError(f"The models did not load in {LOAD_TIMEOUT_S:.0f} s.")
        if running.failure is not None or running.ended is not None:
            with self._lock:
                if self._running is running:
                    self._running = None
            raise ModelError(running.failure or "The models could not be loaded: their "
                             f"process ended ({running.ended}).")
        return running

    def _ask(self, kind: str, *args: Any, turn: Turn | None = None) -> Any:
        running = self.start()
        ident, answer = next(self._ids), _Answer(turn)
        with running.lock:
            if running.ended is not None:
                raise _died(running.ended)
            running.waiting[ident] = answer
        try:
            running.child.send((kind, ident, *args))
        except OSError:
            pass  # it has ended: the reading thread settles the answer
        return answer.result()

    def _spawn(self) -> _Running:
        running = _Running(Child(MODULE, ASSISTANT_PROCESS_ARG, ("load", self._config)))
        threading.Thread(target=self._read, args=(running,), daemon=True,
                         name="frontdesk-assistant-pipe").start()
        return running

    def _read(self, running: _Running) -> None:
        """The child's messages, until it ends: answers, its load, its transcription asks."""
        while True:
            try:
                kind, ident, *rest = running.child.replies.recv()
            except Exception:  # noqa: BLE001 (EOF, or the pipe closed by `close`)
                break
            if kind == "ready":
                self.labels, self.device = rest[0]
                running.loaded.set()
            elif kind == "failed":
                running.failure = rest[0]
            elif kind == "log":  # the child's log lines, into the app's log
                logging.getLogger(rest[1]).log(rest[0], "(assistant process) %s", rest[2])
            elif kind == "stored":  # the turn is committed: the window must not resend it
                with running.lock:
                    running.waiting.get(ident, _Answer()).keep(rest[0])
            elif kind == "transcribe":
                threading.Thread(target=self._transcribe, args=(running, ident, *rest),
                                 daemon=True, name="frontdesk-assistant-speech").start()
            else:
                with running.lock:
                    answer = running.waiting.pop(ident, None)
                if answer is not None:
                    answer.settle(kind, rest)
        ended = running.child.ended()
        with running.lock:
            running.ended, waiting = ended, list(running.waiting.values())
            running.waiting.clear()
        running.loaded.set()
        for answer in waiting:
            answer.error = _died(ended)
            answer.done.set()

    def _transcribe(self, running: _Running, ident: int, audio: Any, prompt: str | None) -> None:
        """A recording-only turn's audio, heard by the window's Whisper for the child."""
        try:
            message: tuple = ("heard", ident, "done",
                              self._transcriber().transcribe(audio, prompt=prompt), None)
        except Exception as err:  # noqa: BLE001 (one sentence back; the traceback to the log)
            if not isinstance(err, FrontdeskError):
                log.exception("transcribing for the assistant's process failed")
            message = ("heard", ident, "error", type(err).__name__, str(err), None)
        try:
            running.child.send(message)
        except OSError:
            pass  # it has ended meanwhile


def _died(ended: str) -> ModelError:
    return ModelError(f"The assistant stopped unexpectedly (its process ended with {ended}); "
                      "the next message starts it again.")


# --- the child --------------------------------------------------------------------------------
class _Relay:
    """The child's transcriber: asks the window's Whisper through the pipe."""

    def __init__(self, send: Callable[[tuple], None]) -> None:
        self._send = send
        self._ids = itertools.count(1)
        self._waiting: dict[int, _Answer] = {}

    def transcribe(self, audio: Any, *, prompt: str | None = None, **_options: Any) -> Any:
        ident = next(self._ids)
        answer = self._waiting[ident] = _Answer()
        self._send(("transcribe", ident, str(audio) if isinstance(audio, (str, os.PathLike))
                    else audio, prompt))
        return answer.result()

    def answer(self, message: tuple) -> None:
        _, ident, kind, *rest = message
        self._waiting.pop(ident).settle(kind, list(rest))


def _load(config: dict[str, Any], transcriber: Any) -> Any:
    """The Assistant as the window's loader used to build it in-process."""
    device = config["device"]
    if device == "auto":
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
    from engine.assistant import Assistant

    knowledge = Path(config["knowledge"]) if config["knowledge"] else None
    return Assistant(Path(config["home"]), knowledge=knowledge, device=device,
                     transcriber=transcriber)


class _Forward(logging.Handler):
    """The child's log records, sent to the app (its log file is where a problem is read)."""

    def __init__(self, send: Callable[[tuple], None]) -> None:
        super().__init__(logging.INFO)
        self._send = send

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._send(("log", 0, record.levelno, record.name, self.format(record)))
        except Exception:  # noqa: BLE001 (the app gone: nowhere to say it)
            pass


def _describe(assistant: Any) -> tuple[list[str], str]:
    return list(assistant.model.labels), str(assistant.model.device)


def _load_screenshot_models(assistant: Any) -> None:
    """The heavy imports first, outside the Assistant's lock (a turn meanwhile is answered),
    then the reader and its models."""
    import rapidocr  # noqa: F401

    import engine.fusion.reader  # noqa: F401

    assistant.multimodal.load_models()


HANDLERS: dict[str, Callable[..., Any]] = {
    "respond": lambda a, session, turn, **hooks: a.respond(session, turn, **hooks),
    "add_turn": lambda a, session, turn: a.add_turn(session, turn),
    "new_session": lambda a, *args: a.new_session(*args),
    "feedback": lambda a, *args: a.feedback(*args),
    "redraft": lambda a, *args: a.redraft(*args),
    "use_version": lambda a, name: (a.use_version(name), _describe(a))[1],
    "read_screenshot": lambda a, path: a.screen_reader.read(Path(path)),
    "load_screenshot_models": _load_screenshot_models,
}


def _answer(assistant: Any, message: tuple, send: Callable[[tuple], None]) -> None:
    kind, ident, *args = message
    turn = args[1] if kind in ("respond", "add_turn") else None
    stored = lambda kept: send(("stored", ident, _state(kept)))  # noqa: E731
    hooks = {"stored": stored} if kind == "respond" else {}
    try:  # a result that cannot be pickled fails in `send`: an error reply, as any other
        send(("done", ident, HANDLERS[kind](assistant, *args, **hooks), _state(turn)))
    except FrontdeskError as err:
        send(("error", ident, type(err).__name__, str(err), _state(turn)))
    except Exception as err:  # noqa: BLE001 (one sentence back; the traceback to the app's log)
        log.exception("%s failed", kind)
        send(("error", ident, "ModelError", f"The assistant could not finish ({kind}): "
                                            f"{type(err).__name__}: {err}.", _state(turn)))


def _state(turn: Turn | None) -> tuple | None:
    return (turn.id, turn.text, turn.source) if turn is not None else None


def serve(requests: Connection, replies: Connection) -> None:
    """Load the Assistant as the first message says, then answer requests until the pipe
    closes: one at a time, in order, except the screenshot models' load (a thread of its own)."""
    sending = threading.Lock()

    def send(message: tuple) -> None:
        with sending:
            replies.send(message)

    logging.getLogger().handlers[:] = [_Forward(send)]
    logging.getLogger().setLevel(logging.INFO)
    _, config = requests.recv()
    relay = _Relay(send) if config["relay"] else None
    gc.disable()  # no collections walking the models while they load; frozen afterwards
    try:
        assistant = _load(config, relay)
    except FrontdeskError as err:
        send(("failed", 0, str(err)))
        return
    except Exception as err:  # noqa: BLE001 (said in one sentence; the traceback to the log)
        log.exception("loading the assistant failed")
        send(("failed", 0, f"The models could not be loaded: {type(err).__name__}: {err}."))
        return
    finally:
        gc.freeze()
        gc.enable()
    send(("ready", 0, _describe(assistant)))
    work: queue.Queue = queue.Queue()

    def route(message: tuple) -> None:
        """Requests into the queue; Whisper's answers to the relay."""
        if message[0] == "heard" and relay is not None:
            relay.answer(message)
        elif message[0] == "load_screenshot_models":
            threading.Thread(target=_answer, args=(assistant, message, send),
                             daemon=True).start()
        else:
            work.put(message)

    listen(requests, route)
    while True:
        _answer(assistant, work.get(), send)


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the app's; its exit ends us
    serve(*child_pipes(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
