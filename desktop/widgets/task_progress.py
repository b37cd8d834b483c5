"""A cancellable task in the status bar: what runs, how far it got, and how to stop it.

The status text beside it is shared by every worker (a model loading or ready, feedback saved),
so a hint such as "Esc cancels" written there was overwritten; this widget is the task's own.
"""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QWidget


class TaskProgress(QWidget):
    """`begin(what, hint)`, `set_fraction(0..1)`, `end()`; hidden while nothing runs."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("task-progress")
        self.label = QLabel()
        self.label.setObjectName("task-label")
        self.bar = QProgressBar()
        self.bar.setRange(0, 100)
        self.bar.setMaximumWidth(140)
        self.bar.setFormat("%p% done")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 6, 0)
        row.addWidget(self.label)
        row.addWidget(self.bar)
        self._what = ""
        self._hint = ""
        self.hide()

    def begin(self, what: str, hint: str) -> None:
        """Start showing `what` (e.g. "Transcribing call.wav") with its `hint` ("Esc cancels");
        the bar is busy (no figure) until the first fraction arrives."""
        self._what, self._hint = what, hint
        self.bar.setRange(0, 0)
        self._say(None)
        self.show()

    def set_fraction(self, fraction: float) -> None:
        percent = round(100 * min(1.0, max(0.0, fraction)))
        self.bar.setRange(0, 100)
        self.bar.setValue(percent)
        self._say(percent)

    def end(self) -> None:
        self.hide()

    def _say(self, percent: int | None) -> None:
        done = "" if percent is None else f": {percent}% of the audio done"
        self.label.setText(f"{self._what}{done} ({self._hint})")
