"""A short-lived offer to take the last deletion back: "Turn deleted. [Undo]".

The offer lasts `UNDO_SECONDS`; `expired` then says the deletion may go through, `undone` that
the agent took it back. A new offer ends the previous one (it expires first).
"""

from __future__ import annotations

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

UNDO_SECONDS = 10


class UndoBar(QWidget):
    """Emits `undone()` when Undo is clicked, `expired()` when the offer ends without it."""

    undone = Signal()
    expired = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel()
        self.label.setObjectName("undo-text")
        self.undo_button = QPushButton("Undo")
        self.undo_button.setToolTip(f"Take it back (within {UNDO_SECONDS} s)")
        self.undo_button.clicked.connect(self._undo)
        self._timer = QTimer(self, singleShot=True, interval=UNDO_SECONDS * 1000)
        self._timer.timeout.connect(self.finish)
        row = QHBoxLayout(self)
        row.setContentsMargins(6, 2, 6, 2)
        row.addWidget(self.label, 1)
        row.addWidget(self.undo_button)
        self.hide()

    @property
    def offering(self) -> bool:
        return self._timer.isActive()

    def offer(self, text: str) -> None:
        self.finish()
        self.label.setText(text)
        self.show()
        self._timer.start()

    def finish(self) -> None:
        """End the offer now (the deletion goes through)."""
        if self._timer.isActive():
            self._timer.stop()
            self.hide()
            self.expired.emit()

    def _undo(self) -> None:
        if self._timer.isActive():
            self._timer.stop()
            self.hide()
            self.undone.emit()
