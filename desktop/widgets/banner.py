"""The error banner across the top of the conversation."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QWidget


class Banner(QWidget):
    """One sentence across the top of the conversation, until dismissed or replaced."""

    def __init__(self) -> None:
        super().__init__()
        self.label = QLabel()
        self.label.setObjectName("error-banner")
        self.label.setWordWrap(True)
        close = QToolButton()
        close.setText("✕")
        close.clicked.connect(self.hide)
        row = QHBoxLayout(self)
        row.setContentsMargins(6, 4, 6, 4)
        row.addWidget(self.label, 1)
        row.addWidget(close)
        self.setStyleSheet("background:#fdecea; color:#7a1c12;")
        self.hide()

    def say(self, message: str) -> None:
        self.label.setText(message)
        self.show()
