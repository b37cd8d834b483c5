"""A message's text in a bubble, its start only when it is very long, the rest one click away.

Qt lays a word-wrapped label out again for every width it is asked about; for a 19,000-character
paste that held the UI thread for hundreds of milliseconds each time the conversation was drawn
(768 ms on sending one). The start of the message is what the agent reads in the conversation;
the whole of it is stored, and "Show all" lays it out once when the agent asks for it.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QLabel, QToolButton, QVBoxLayout, QWidget

SHOWN_CHARS = 2_000  # ~30 lines in the conversation's column
# what can change the height a label's text needs at a given width
_RELAYOUT = (QEvent.Type.FontChange, QEvent.Type.StyleChange, QEvent.Type.ContentsRectChange,
             QEvent.Type.LayoutDirectionChange, QEvent.Type.Polish)


class WrappedLabel(QLabel):
    """A word-wrapped label that keeps the height it needs for each width it was asked about.

    QLabel lays its whole text out again on every heightForWidth call, and the conversation's
    layout asks every bubble again whenever a turn is added or removed: each 2,000-character
    opening on screen cost a new layout each time (bench gui, sending a 20,000-character
    message). The heights are forgotten when the text, font, style, margins or wrapping
    change. Only worth it for long texts (`worth_it`): every heightForWidth is then a call into
    Python, which needs the GIL, where a short text's own layout is quicker than waiting for
    it."""

    LONG = 1_000  # characters (~15 lines); a 2,000-character opening took ~0.3 ms per ask

    @classmethod
    def worth_it(cls, text: str) -> bool:
        return len(text) > cls.LONG

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self._heights: dict[int, int] = {}

    def setText(self, text: str) -> None:  # noqa: N802 (Qt name)
        self._heights.clear()
        super().setText(text)

    def setWordWrap(self, on: bool) -> None:  # noqa: N802 (Qt name)
        self._heights.clear()
        super().setWordWrap(on)

    def setTextFormat(self, text_format) -> None:  # noqa: N802 (Qt name)
        self._heights.clear()
        super().setTextFormat(text_format)

    def heightForWidth(self, width: int) -> int:  # noqa: N802 (Qt name)
        height = self._heights.get(width)
        if height is None:
            height = self._heights[width] = super().heightForWidth(width)
        return height

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 (Qt name)
        if event.type() in _RELAYOUT:
            self._heights.clear()
        super().changeEvent(event)


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
