"""The right column: what the assistant proposes for the last customer turn, and the verdict.

Intent with High/Medium/Low and the top three, entity chips (click copies), the editable draft
and its knowledge-base source, then Use / 👍 / 👎 / correct intent. Each verdict is emitted as
`feedback(reply_id, action, corrected_intent, final_answer)` for the window to store.
Out-of-scope or Low confidence says so plainly and offers handoff.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QCompleter,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from desktop.widgets.discard import discard
from engine.types import Reply

LEVEL_COLOURS = {"High": "#1b7f3b", "Medium": "#b7791f", "Low": "#b42318"}


def pretty_intent(name: str) -> str:
    return name.replace("_", " ")


class SuggestionPanel(QWidget):
    """Shows a Reply; emits `use(reply_id, text)`, `feedback(...)`, `handoff(reply_id)`."""

    use = Signal(int, str)
    feedback = Signal(int, str, object, object)  # reply id, action, corrected intent, final answer
    handoff = Signal(int)
    copied = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.reply: Reply | None = None
        self.setMinimumWidth(300)

        self.intent = QLabel("No suggestion yet.")
        self.intent.setObjectName("intent")
        self.intent.setWordWrap(True)
        self.intent.setStyleSheet("font-size:16px; font-weight:600;")
        self.level = QLabel()
        self.level.setObjectName("level")
        self.top = QLabel()
        self.top.setObjectName("top3")
        self.top.setStyleSheet("color:#555;")

        self.banner = QLabel()
        self.banner.setObjectName("handoff-banner")
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet(
            "background:#fdecea; color:#7a1c12; border:1px solid #f5b5ab; padding:6px;"
        )
        self.handoff_button = QPushButton("Hand off to a colleague")
        self.handoff_button.clicked.connect(self._on_handoff)
        banner_box = QFrame()
        banner_layout = QVBoxLayout(banner_box)
        banner_layout.setContentsMargins(0, 0, 0, 0)
        banner_layout.addWidget(self.banner)
        banner_layout.addWidget(self.handoff_button)
        self.banner_box = banner_box
        banner_box.hide()

        self.entities = QGridLayout()
        self.entities.setContentsMargins(0, 0, 0, 0)
        entities_box = QWidget()
        entities_box.setLayout(self.entities)

        self.draft = QPlainTextEdit()
        self.draft.setObjectName("draft")
        self.draft.setPlaceholderText("The draft answer appears here; edit it before using it.")
        self.source = QLabel()
        self.source.setObjectName("source")
        self.source.setWordWrap(True)
        self.source.setStyleSheet("color:#555;")

        self.use_button = QPushButton("Use (Ctrl+Shift+Return)")
        self.use_button.setToolTip("Insert the draft as the agent's turn and copy it")
        self.use_button.clicked.connect(self._on_use)
        self.up_button = QPushButton("Right")
        self.up_button.setToolTip("The suggestion is right")
        self.up_button.clicked.connect(lambda: self._send("accepted"))
        self.down_button = QPushButton("Wrong")
        self.down_button.setToolTip("The suggestion is wrong")
        self.down_button.clicked.connect(lambda: self._send("rejected"))
        buttons = QHBoxLayout()
        buttons.addWidget(self.use_button, 1)
        buttons.addWidget(self.up_button)
        buttons.addWidget(self.down_button)

        self.correct = QComboBox()
        self.correct.setObjectName("correct-intent")
        self.correct.setEditable(True)
        self.correct.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.correct.lineEdit().setPlaceholderText("Correct intent… (type to search)")
        self.correct.completer().setFilterMode(Qt.MatchFlag.MatchContains)
        self.correct.completer().setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.correct_button = QPushButton("Correct")
        self.correct_button.clicked.connect(self._on_correct)
        correct_row = QHBoxLayout()
        correct_row.addWidget(self.correct, 1)
        correct_row.addWidget(self.correct_button)

        self.status = QLabel()
        self.status.setObjectName("feedback-status")
        self.status.setStyleSheet("color:#1b7f3b;")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        title = QLabel("Suggestion")
        title.setStyleSheet("color:#888; text-transform:uppercase; letter-spacing:1px;")
        layout.addWidget(title)
        layout.addWidget(self.intent)
        layout.addWidget(self.level)
        layout.addWidget(self.top)
        layout.addWidget(banner_box)
        layout.addWidget(entities_box)
        layout.addWidget(QLabel("Draft answer"))
        layout.addWidget(self.draft, 1)
        layout.addWidget(self.source)
        layout.addLayout(buttons)
        layout.addLayout(correct_row)
        layout.addWidget(self.status)
        self._set_enabled(False)

    def set_labels(self, labels: list[str]) -> None:
        """The intents offered by "correct intent" (the model's label set)."""
        self.correct.clear()
        self.correct.addItems(sorted(labels))
        self.correct.setCurrentIndex(-1)

    def show_reply(self, reply: Reply) -> None:
        self.reply = reply
        self.intent.setText(pretty_intent(reply.intent))
        colour = LEVEL_COLOURS.get(reply.level, "#555")
        self.level.setText(
            f"<span style='color:{colour}; font-weight:600'>{reply.level}</span> confidence "
            f"({reply.confidence:.0%})"
        )
        self.top.setText(
            "Top 3: "
            + ", ".join(f"{pretty_intent(name)} {score:.0%}" for name, score in reply.top[:3])
        )
        if reply.out_of_scope:
            self.banner.setText(
                "This message does not match any topic the assistant knows; answer it yourself "
                "or hand it off."
            )
            self.banner_box.show()
        elif reply.level == "Low":
            self.banner.setText(
                "Low confidence: the assistant is not sure what the customer wants; check the "
                "draft carefully or hand it off."
            )
            self.banner_box.show()
        else:
            self.banner_box.hide()
        self._show_entities(reply)
        self.draft.setPlainText(reply.draft)
        self.source.setText(f"Source: {reply.source}" if reply.source else "")
        self.status.clear()
        self._set_enabled(reply.id is not None)

    def clear(self) -> None:
        self.reply = None
        self.intent.setText("No suggestion yet.")
        for label in (self.level, self.top, self.source, self.status):
            label.clear()
        self.draft.clear()
        self.banner_box.hide()
        self._show_entities(None)
        self._set_enabled(False)

    def _show_entities(self, reply: Reply | None) -> None:
        while self.entities.count():
            item = self.entities.takeAt(0)
            if item.widget():
                discard(item.widget())
        for index, entity in enumerate(reply.entities if reply else []):
            chip = QPushButton(f"{entity.type}: {entity.value}")
            chip.setObjectName("entity-chip")
            chip.setToolTip("Click to copy")
            chip.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
            chip.setStyleSheet("border-radius:9px; padding:2px 8px; background:#e8eefc;")
            chip.clicked.connect(lambda _=False, v=entity.value: self._copy(v))
            self.entities.addWidget(chip, index // 2, index % 2)

    def _copy(self, value: str) -> None:
        QGuiApplication.clipboard().setText(value)
        self.status.setText(f"Copied {value}")
        self.copied.emit(value)

    def _set_enabled(self, enabled: bool) -> None:
        for widget in (
            self.use_button,
            self.up_button,
            self.down_button,
            self.correct,
            self.correct_button,
        ):
            widget.setEnabled(enabled)

    def _on_use(self) -> None:
        if self.reply is None or self.reply.id is None:
            return
        text = self.draft.toPlainText().strip()
        if not text:
            self.status.setText("The draft is empty: write the answer first.")
            return
        QGuiApplication.clipboard().setText(text)
        action = "accepted" if text == self.reply.draft.strip() else "edited"
        self.feedback.emit(self.reply.id, action, None, text)
        self.use.emit(self.reply.id, text)
        self.status.setText("Used: inserted as the agent's answer and copied.")

    def _send(self, action: str) -> None:
        if self.reply is None or self.reply.id is None:
            return
        self.feedback.emit(self.reply.id, action, None, None)
        self.status.setText("Thanks: marked right." if action == "accepted" else "Marked wrong.")

    def _on_correct(self) -> None:
        if self.reply is None or self.reply.id is None:
            return
        intent = self.correct.currentText().strip().replace(" ", "_")
        if not intent:
            self.status.setText("Pick or type the right intent first.")
            return
        self.feedback.emit(self.reply.id, "corrected", intent, None)
        self.intent.setText(f"{pretty_intent(intent)} (corrected)")
        self.status.setText(f"Corrected to {pretty_intent(intent)}.")

    def _on_handoff(self) -> None:
        if self.reply is not None and self.reply.id is not None:
            self.handoff.emit(self.reply.id)
            self.status.setText("Marked for handoff.")

    def use_shortcut(self) -> None:
        """Keyboard shortcut for Use."""
        if self.use_button.isEnabled():
            self._on_use()
