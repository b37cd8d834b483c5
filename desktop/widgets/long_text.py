"""A message's text in a bubble, its start only when it is very long, the rest one click away.

Qt lays a word-wrapped label out again for every width it is asked about; for a 19,000-character
paste that held the UI thread for hundreds of milliseconds each time the conversation was drawn
(768 ms on sending one). The start of the message is what the agent reads in the conversation;
the whole of it is stored, and "Show all" lays it out once when the agent asks for it.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QLabel, QToolButton, QVBoxLayout, QWidget

SHOWN_CHARS = 2_000  # ~30 lines in the conversation's column


def opening(text: str, limit: int = SHOWN_CHARS) -> str:
    """`text` cut after the last whole word within `limit` characters, with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", limit // 2, limit)
    return text[: cut if cut > 0 else limit].rstrip() + " …"


class LongText(QWidget):
    """`make_label(text)` builds the label (plain or with search hits marked); a text longer
    than SHOWN_CHARS shows its opening and a "Show all" button that swaps in the whole."""

    def __init__(self, text: str, make_label: Callable[[str], QLabel]) -> None:
        super().__init__()
        self._text = text
        self._make_label = make_label
        self._column = QVBoxLayout(self)
        self._column.setContentsMargins(0, 0, 0, 0)
        self.label = make_label(opening(text))
        self._column.addWidget(self.label)
        self.more: QToolButton | None = None
        if len(text) > SHOWN_CHARS:
            self.more = QToolButton()
            self.more.setObjectName("show-all")
            self.more.setText(f"Show all {len(text):,} characters")
            self.more.clicked.connect(self.show_all)
            self._column.addWidget(self.more)

    def show_all(self) -> None:
        if self.more is None:
            return
        whole = self._make_label(self._text)
        self._column.replaceWidget(self.label, whole)
        self.label.deleteLater()
        self.label = whole
        self.more.hide()
        self.more = None
