"""A helper process of the app: a fresh Python interpreter and the two pipes to it.

A C call that keeps the GIL stops every Python thread of its process, whatever thread makes it:
importing torch (its C init), transformers or faster-whisper's tokenizer froze the window's
event loop while they loaded on worker threads. Loaded in a child process, they hold that
process's GIL, never the window's: the window's threads only wait on a pipe. Whisper
(engine.speech.process) and the Assistant (engine.assistant_process) each run in one.

The child is `python -m MODULE READ_FD WRITE_FD` (a fresh interpreter, not a fork: no Qt, no
torch, only the environment, OMP_NUM_THREADS included); in a frozen app (PyInstaller's bundle,
where sys.executable is the app itself) the app started with the module's own flag, which
packaging/frontdesk_entry.py hands to the module's `main` before importing anything else.
Messages are pickled tuples; the child exits when its request pipe closes (the app ended).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path

from engine import errors
from engine.errors import FrontdeskError, ModelError

STOP_WAIT_S = 1.0  # a child that has not exited this long after its pipe closed is killed


def child_command(module: str, frozen_arg: str, requests_fd: int, replies_fd: int) -> list[str]:
    """How the child is started: this interpreter running `module`, or the frozen app with
    `frozen_arg`."""
    fds = [str(requests_fd), str(replies_fd)]
    if getattr(sys, "frozen", False):
        return [sys.executable, frozen_arg, *fds]
    return [sys.executable, "-m", module, *fds]


class Child:
    """One running child: its process and the two pipes to it; `first` is sent at once."""

    def __init__(self, module: str, frozen_arg: str, first: object) -> None:
        requests_r, requests_w = os.pipe()
        replies_r, replies_w = os.pipe()
        root = str(Path(__file__).resolve().parents[1])  # where `engine` is, installed or not
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            [root, *filter(None, [os.environ.get("PYTHONPATH")])])}
        try:
            self.process = subprocess.Popen(
                child_command(module, frozen_arg, requests_r, replies_w),
                pass_fds=(requests_r, replies_w), stdin=subprocess.DEVNULL, stdout=stderr_fd(),
                env=env,
            )
        except BaseException:
            os.close(requests_w)
            os.close(replies_r)
            raise
        finally:
            os.close(requests_r)
            os.close(replies_w)
        self.requests = Connection(requests_w, readable=False)
        self.replies = Connection(replies_r, writable=False)
        self.ready = False
        self._sending = threading.Lock()  # several threads may send; a message is one write
        self.send(first)

    def send(self, message: object) -> None:
        """Send one message (thread-safe); OSError if the child has gone."""
        with self._sending:
            self.requests.send(message)

    def stop(self) -> None:
        """Close its pipe (the child exits on that, mid-request too) and reap it."""
        for pipe in (self.requests, self.replies):
            pipe.close()
        try:
            self.process.wait(STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def ended(self) -> str:
        """How the process ended, in words (reaped here)."""
        self.stop()
        code = self.process.returncode
        return f"signal {-code}" if code < 0 else f"exit code {code}"


def child_pipes(argv: list[str]) -> tuple[Connection, Connection]:
    """The child's side: (requests, replies) from the two descriptors it was started with."""
    return Connection(int(argv[0]), writable=False), Connection(int(argv[1]), readable=False)


def listen(requests: Connection, route: Callable[[tuple], None]) -> None:
    """The child's side: a daemon thread handing each request to `route` as it arrives (a
    cancel must not wait behind the work it cancels); the app gone (its pipe closed): exit."""

    def loop() -> None:
        while True:
            try:
                message = requests.recv()
            except (EOFError, OSError):
                os._exit(0)
            route(message)

    threading.Thread(target=loop, name="requests", daemon=True).start()


def stderr_fd() -> int:
    """Where the child's stdout goes: stderr (a library's print must not land in the stdout
    of the app, which a benchmark parses), or nowhere where there is no real stderr."""
    try:
        return sys.__stderr__.fileno() if sys.__stderr__ else subprocess.DEVNULL
    except (OSError, ValueError):
        return subprocess.DEVNULL


def error_from(name: str, message: str) -> FrontdeskError:
    """The child's error as the same FrontdeskError class here (ModelError if unknown)."""
    kind = getattr(errors, name, None)
    if isinstance(kind, type) and issubclass(kind, FrontdeskError):
        try:
            return kind(message)
        except TypeError:
            pass
    return ModelError(message)
