"""How long the UI thread goes without running its event loop: a 5 ms QTimer that notes the
gaps between its ticks. A gap well past the interval is a freeze the agent would feel; the
window logs the longest one (and bench/gui.py reports it) rather than guessing.
"""

from __future__ import annotations

import time
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
    ) -> None:
        super().__init__(parent)
        self.interval_ms = interval_ms
        self.on_stall = on_stall
        self.report_over_ms = report_over_ms
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)
        self.reset()

    def reset(self) -> None:
        self.longest_ms = 0.0
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
        self.longest_ms = max(self.longest_ms, late)
        if self.on_stall is not None and late > self.report_over_ms:
            self.on_stall(late)
        self.ticks += 1
        self._last = now
