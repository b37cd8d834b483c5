"""The centre: the conversation as bubbles (customer left, agent right, assistant notes),
screenshots inline as thumbnails (click for full size), voice turns with a play button.

It draws what the store says (`show_turns`) plus turns still waiting for the engine
(`add_pending`), so what the agent sent is on screen at once even before the model is ready.
A session opened from a search shows the words searched for marked, and starts at the first.
Text is shown as written (a customer's "<b>" is not markup).
"""

from __future__ import annotations

import html
import re

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QImage, QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.widgets.discard import discard
from desktop.widgets.long_text import LongText, WrappedLabel
from desktop.widgets.tones import ON_LIGHT

THUMB_SIZE = 220

BUBBLE_STYLE = {
    "customer": "background:#eef2f7; border:1px solid #c9d3e0; border-radius:8px;",
    "agent": "background:#e3f4e6; border:1px solid #b7dcbf; border-radius:8px;",
    "assistant": "background:#fff8e1; border:1px dashed #e0c26a; border-radius:8px;",
    "pending": "background:#f4f4f4; border:1px dashed #aaaaaa; border-radius:8px;",
}


def marked(text: str, query: str) -> str | None:
    """`text` as HTML with the words of `query` (and words they begin) marked; None when
    nothing matches (the text is then shown plain)."""
    words = [w for w in re.findall(r"\w+", query) if len(w) > 1]
    if not words:
        return None
    pattern = re.compile(r"\b(?:" + "|".join(map(re.escape, words)) + r")\w*", re.IGNORECASE)
    parts, last, hits = [], 0, 0
    for match in pattern.finditer(text):
        parts.append(html.escape(text[last:match.start()]))
        parts.append(f"<span style='background:#ffe066; color:#000'>"
                     f"{html.escape(match.group(0))}</span>")
        last, hits = match.end(), hits + 1
    if not hits:
        return None
    parts.append(html.escape(text[last:]))
    return "".join(parts).replace("\n", "<br>")


def text_label(text: str, query: str, name: str) -> QLabel:
    """A wrapped, selectable label: plain text, or HTML with the search hits marked (a long
    one keeps its heights per width: it is not laid out again for each new turn)."""
    label = WrappedLabel() if WrappedLabel.worth_it(text) else QLabel()
    found = marked(text, query) if query else None
    label.setTextFormat(Qt.TextFormat.RichText if found else Qt.TextFormat.PlainText)
    label.setText(found or text)
    label.setProperty("hit", bool(found))
    label.setObjectName(name)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setContextMenuPolicy(Qt.ContextMenuPolicy.NoContextMenu)  # the bubble's menu
    label.setStyleSheet(f"border:none; color:{ON_LIGHT};")  # bubbles stay light in any palette
    return label


class ClickableLabel(QLabel):
    clicked = Signal()

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 (Qt name)
        self.clicked.emit()
        super().mouseReleaseEvent(event)


class Bubble(QFrame):
    """One turn: who, text, its screenshots and audio, and the assistant's verdict if any."""

    def __init__(self, turn: dict, thumbs: dict[int, QImage], view: ChatView, pending=False,
                 query: str = ""):
        super().__init__()
        role = turn.get("role", "customer")
        self.turn_id = turn.get("id")
        self._view = view
        self._text = turn.get("text") or ""
        self.setStyleSheet(f"Bubble {{{BUBBLE_STYLE['pending' if pending else role]}}}")
        self.setObjectName(f"bubble-{role}")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)

        source = turn.get("source", "typed")
        head = {"customer": "Customer", "agent": "Agent", "assistant": "Assistant"}.get(role, role)
        if source == "voice":
            head += " · voice"
        elif source == "image":
            head += " · screenshot"
        if pending:
            head += " · waiting for the model…"
        header = QLabel(f"<b>{head}</b>")
        header.setStyleSheet("color:#555; border:none;")
        layout.addWidget(header)

        text = turn.get("text") or ""
        read = [a for a in turn.get("attachments") or [] if (a.get("ocr_text") or "").strip()]
        if text and not (source == "image" and read):  # else it is the screenshot's own text,
            # shown under the screenshot; a very long message shows its start (LongText)
            body = LongText(text, lambda shown: text_label(shown, query, "turn-text"))
            body.setStyleSheet("border:none;")
            layout.addWidget(body)

        for attachment in turn.get("attachments") or []:
            if attachment.get("kind") == "image":
                layout.addWidget(self._thumbnail(attachment, thumbs, view, query))
            elif attachment.get("kind") == "audio":
                layout.addWidget(self._play_button(attachment, view))

        for path in turn.get("pending_images") or []:
            thumb = QLabel()
            thumb.setPixmap(
                QPixmap(str(path)).scaled(
                    THUMB_SIZE, THUMB_SIZE, Qt.AspectRatioMode.KeepAspectRatio
                )
            )
            thumb.setStyleSheet("border:none;")
            layout.addWidget(thumb)

        reply = turn.get("reply")
        if reply:
            note = QLabel(
                f"→ {reply.get('intent', '?')} ({reply.get('level') or 'n/a'}, "
                f"{float(reply.get('confidence') or 0):.0%})"
            )
            note.setObjectName("reply-note")
            note.setStyleSheet("color:#8a6d00; border:none;")
            layout.addWidget(note)

    def contextMenuEvent(self, event) -> None:  # noqa: N802 (Qt name)
        """Right-click: copy the turn's text, or delete the turn (Undo is offered)."""
        menu = QMenu(self)
        copy = menu.addAction("Copy text")
        copy.setEnabled(bool(self._text))
        copy.triggered.connect(lambda: QGuiApplication.clipboard().setText(self._text))
        if self.turn_id is not None:
            delete = menu.addAction("Delete this turn")
            delete.triggered.connect(lambda: self._view.delete_requested.emit(int(self.turn_id)))
        menu.exec(event.globalPos())

    def _thumbnail(self, attachment: dict, thumbs: dict[int, QImage], view: ChatView,
                   query: str = "") -> QWidget:
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        label = ClickableLabel()
        label.setCursor(Qt.CursorShape.PointingHandCursor)
        label.setToolTip("Click to open the screenshot full size")
        label.setStyleSheet("border:none;")
        image = thumbs.get(int(attachment["id"]))
        if image is not None and not image.isNull():
            label.setPixmap(QPixmap.fromImage(image))
        else:
            label.setText(f"[screenshot {attachment.get('width')}×{attachment.get('height')}]")
        label.clicked.connect(lambda a=int(attachment["id"]): view.image_clicked.emit(a))
        column.addWidget(label)
        ocr = (attachment.get("ocr_text") or "").strip()
        if ocr:
            intro = QLabel("<i>Read from the screenshot:</i>")
            intro.setStyleSheet("color:#444; border:none;")
            column.addWidget(intro)
            column.addWidget(text_label(ocr[:300], query, "ocr-text"))
        return box

    def _play_button(self, attachment: dict, view: ChatView) -> QWidget:
        button = QToolButton()
        seconds = float(attachment.get("duration") or 0)
        button.setText(f"▶ Play ({seconds:.1f} s)")
        button.setObjectName("play-audio")
        button.clicked.connect(lambda _=False, a=int(attachment["id"]): view.play_clicked.emit(a))
        return button


class ChatView(QScrollArea):
    """The conversation. Emits `image_clicked(attachment_id)`, `play_clicked(attachment_id)`."""

    image_clicked = Signal(int)
    play_clicked = Signal(int)
    delete_requested = Signal(int)  # a turn id

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self._inner = QWidget()
        self._column = QVBoxLayout(self._inner)
        self._column.addStretch(1)
        self.setWidget(self._inner)
        self.turns: list[dict] = []
        self._pending: list[Bubble] = []
        self._query = ""
        self.placeholder = QLabel("No session open: type a message to start one.")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setStyleSheet("color:#888;")
        self._column.insertWidget(0, self.placeholder)
        # Follow the newest turn: bubbles get their height (wrapped text, thumbnails) only when
        # laid out, after the scroll to the end was asked for; so the view keeps to the bottom
        # as the range grows, until the agent scrolls up to read.
        self._follow = True
        self._seek: QLabel | None = None  # a search hit to keep in view while laid out
        bar = self.verticalScrollBar()
        bar.rangeChanged.connect(self._range_changed)
        bar.valueChanged.connect(self._moved)

    def clear(self) -> None:
        self._seek = None
        self.turns = []
        self._pending = []
        while self._column.count() > 1:
            item = self._column.takeAt(0)
            if item.widget():
                discard(item.widget())

    @staticmethod
    def _signature(turn: dict) -> tuple:
        reply = turn.get("reply") or {}
        return turn.get("id"), reply.get("id"), len(turn.get("attachments") or [])

    def show_turns(self, turns: list[dict], thumbs: dict[int, QImage] | None = None,
                   query: str = "") -> None:
        """Draw a session's stored turns, keeping bubbles still waiting for the engine;
        `query`: the search the session was opened from (its words are marked).

        When the stored turns only add to what is on screen (the usual case after a reply),
        only the new bubbles are built: redrawing a long conversation per turn would stall.
        """
        pending = [b.turn for b in self._pending]
        shown = [self._signature(t) for t in self.turns]
        incoming = [self._signature(t) for t in turns]
        if query != self._query:
            shown, self._query = [], query
        if shown and incoming[: len(shown)] == shown:
            for bubble in self._pending:
                discard(bubble.parentWidget())
            self._pending = []
            new = turns[len(shown):]
        else:
            self.clear()
            new = turns
        self.turns = list(turns)
        for turn in new:
            self._append(Bubble(turn, thumbs or {}, self, query=query),
                         turn.get("role", "customer"))
        for turn in pending:
            self.add_pending(turn)
        hits = [label for label in self._inner.findChildren(QLabel) if label.property("hit")]
        if hits and not shown:  # opened from a search: start at the first hit
            self._follow, self._seek = False, hits[0]
            QTimer.singleShot(0, self._show_hit)
        elif new or not shown:  # a redraw of the same turns leaves the agent where they read
            self._scroll_to_end()

    def add_pending(self, turn: dict) -> Bubble:
        bubble = Bubble(turn, {}, self, pending=True)
        bubble.turn = turn
        self._pending.append(bubble)
        self._append(bubble, turn.get("role", "customer"))
        self._scroll_to_end()
        return bubble

    def drop_pending(self, turn: dict) -> None:
        for bubble in list(self._pending):
            if bubble.turn is turn:
                self._pending.remove(bubble)
                discard(bubble.parentWidget())

    @property
    def pending_count(self) -> int:
        return len(self._pending)

    def _append(self, bubble: Bubble, role: str) -> None:
        row = QWidget()
        line = QHBoxLayout(row)
        line.setContentsMargins(0, 0, 0, 0)
        bubble.setMaximumWidth(560)
        if role == "agent":
            line.addStretch(1)
            line.addWidget(bubble)
        else:
            line.addWidget(bubble)
            line.addStretch(1)
        self._column.insertWidget(self._column.count() - 1, row)

    def _scroll_to_end(self) -> None:
        self._follow, self._seek = True, None
        bar = self.verticalScrollBar()
        bar.setValue(bar.maximum())
        QTimer.singleShot(0, lambda: bar.setValue(bar.maximum()) if self._follow else None)

    def _range_changed(self, _minimum: int, maximum: int) -> None:
        if self._seek is not None:  # bubbles above it got their height: it moved
            self._show_hit()
        elif self._follow:
            self.verticalScrollBar().setValue(maximum)

    def _show_hit(self) -> None:
        if self._seek is not None:
            self.ensureWidgetVisible(self._seek, 20, 60)

    def _moved(self, value: int) -> None:
        """The agent scrolled: follow new turns again only once back at the bottom."""
        self._follow = value >= self.verticalScrollBar().maximum()
