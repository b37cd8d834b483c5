"""How long the UI thread goes without running its event loop: a 5 ms QTimer that notes the
gaps between its ticks. A gap well past the interval is a freeze the agent would feel; the
window logs the longest one (and bench/gui.py reports it) rather than guessing.
"""

from __future__ import annotations

import sys
import threading
import time
import traceback
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, QTimer

INTERVAL_MS = 5


class StallProbe(QObject):
    """Start it, do work, read `longest_ms` (the worst extra delay of a tick) and `ticks`."""

    def __init__(
        self,
        parent: QObject | None = None,
        interval_ms: int = INTERVAL_MS,
        on_stall: Callable[[float], None] | None = None,
        report_over_ms: float = 100.0,
        note_threads: bool = False,
    ) -> None:
        super().__init__(parent)
        self.interval_ms = interval_ms
        self.on_stall = on_stall
        self.report_over_ms = report_over_ms
        self.note_threads = note_threads
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)
        self.reset()

    def reset(self) -> None:
        self.longest_ms = 0.0
        self.longest_where: dict[str, list[str]] = {}
        self.ticks = 0
        self._last = time.perf_counter()

    def start(self) -> None:
        self.reset()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def _tick(self) -> None:
        now = time.perf_counter()
        late = (now - self._last) * 1000.0 - self.interval_ms
        if late > self.longest_ms:
            self.longest_ms = late
            if self.note_threads:
                self.longest_where = where_threads_are()
        if self.on_stall is not None and late > self.report_over_ms:
            self.on_stall(late)
        self.ticks += 1
        self._last = now


def where_threads_are(depth: int = 3) -> dict[str, list[str]]:
    """The innermost `depth` frames of every other Python thread, by thread name: read right
    after a stall, the call that held the GIL through it has just returned there (bench/gui.py
    prints it for the longest stall while models load)."""
    names = {t.ident: t.name for t in threading.enumerate()}
    me = threading.get_ident()
    where = {}
    for ident, frame in sys._current_frames().items():
        if ident == me:
            continue
        frames = [f for f in traceback.extract_stack(frame) if "<frozen" not in f.filename]
        where[names.get(ident, str(ident))] = [
            f"{f.filename.rsplit('site-packages/', 1)[-1]}:{f.lineno} {f.name}"
            for f in frames[-depth:]]
    return where
