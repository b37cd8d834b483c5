"""The right column: what the assistant proposes for the last customer turn, and the verdict.

Intent with High/Medium/Low and the top three, entity chips (click copies), the editable draft
and its knowledge-base source, then Use / 👍 / 👎 / correct intent. Each verdict is emitted as
`feedback(reply_id, action, corrected_intent, final_answer)` for the window to store.
Out-of-scope or Low confidence says so plainly and offers handoff.

A correction is the label from then on: "Right" confirms it and "Use" sends it with the answer
(the store keeps each reply's latest feedback, so a plain "accepted" would undo it), and the
draft is rewritten for the corrected intent (`redraft` asks the window, `show_redraft`
answers). Using the same answer twice adds it once. What the agent did with a reply (correction,
edited draft, answers used) survives the session being redrawn or reopened.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import QEvent, Signal
from PySide6.QtGui import QGuiApplication, QTextCursor
from PySide6.QtWidgets import (
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
from desktop.widgets.intent_picker import IntentPicker, pretty_intent
from desktop.widgets.tones import GREEN, LEVELS, ON_LIGHT, muted, pick
from engine.types import Entity, Reply

MAX_CHIPS = 12  # entity chips shown under a suggestion (distinct values)


@dataclass
class Verdict:
    """What the agent did with one reply so far (kept while the app runs)."""

    corrected: str | None = None
    draft: str | None = None  # the draft as last shown or edited
    base: str | None = None  # the draft as the assistant wrote it (for the corrected intent)
    source: str | None = None
    used: set[str] = field(default_factory=set)


class SuggestionPanel(QWidget):
    """Shows a Reply; emits `use(reply_id, text)`, `feedback(...)`, `handoff(reply_id)` and
    `redraft(reply_id, turn_id, intent)` after a correction."""

    use = Signal(int, str)
    feedback = Signal(int, str, object, object)  # reply id, action, corrected intent, final answer
    handoff = Signal(int)
    copied = Signal(str)
    redraft = Signal(int, int, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.reply: Reply | None = None
        self.verdict = Verdict()
        self._verdicts: dict[int, Verdict] = {}
        self._draft_when_corrected = ""
        self.setMinimumWidth(300)

        self.intent = QLabel("No suggestion yet.")
        self.intent.setObjectName("intent")
        self.intent.setWordWrap(True)
        self.intent.setStyleSheet("font-size:16px; font-weight:600;")
        self.level = QLabel()
        self.level.setObjectName("level")
        self.top = QLabel()
        self.top.setObjectName("top3")
        self.top.setWordWrap(True)  # "newsletter subscription 12%" was cut off

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

        self.picker = IntentPicker()
        self.correct = self.picker.combo
        self.correct_button = self.picker.correct_button
        self.picker.chosen.connect(self._on_correct)

        self.status = QLabel()
        self.status.setObjectName("feedback-status")
        self.picker.said.connect(self.status.setText)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        title = QLabel("Suggestion")
        self.title = title
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
        layout.addWidget(self.picker)
        layout.addWidget(self.status)
        self._set_enabled(False)
        self._apply_tones()

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt name)
        """A new palette (dark mode): secondary lines take colours readable on it."""
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.StyleChange):
            self._apply_tones()

    def _apply_tones(self) -> None:
        palette = self.palette()
        for label in (self.top, self.source, self.title):
            label.setStyleSheet(f"color:{muted(palette)};")
        self.status.setStyleSheet(f"color:{pick(palette, GREEN)};")
        if self.reply is not None:
            colour = pick(palette, LEVELS.get(self.reply.level, LEVELS["Low"]))
            self.level.setText(
                f"<span style='color:{colour}; font-weight:600'>{self.reply.level}</span> "
                f"confidence ({self.reply.confidence:.0%})")

    def set_labels(self, labels: list[str]) -> None:
        """The intents offered by "correct intent" (the model's label set)."""
        self.picker.set_labels(labels)

    def _keep_verdict(self) -> None:
        if self.reply is not None and self.reply.id is not None:
            self.verdict.draft = self.draft.toPlainText()
            self._verdicts[self.reply.id] = self.verdict

    def show_reply(self, reply: Reply) -> None:
        """Show a reply; the same reply shown again (the session redrawn) keeps what the agent
        did with it, and a reply shown before gets its correction, draft and uses back."""
        if self.reply is not None and reply.id is not None and reply.id == self.reply.id:
            self.reply = reply
            return
        self._keep_verdict()
        self.reply = reply
        known = self._verdicts.pop(reply.id, None) if reply.id is not None else None
        self.verdict = known or Verdict()
        self.picker.reset()
        self.intent.setText(pretty_intent(reply.intent))
        colour = pick(self.palette(), LEVELS.get(reply.level, LEVELS["Low"]))
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
        verdict = self.verdict
        self.draft.setPlainText(verdict.draft if verdict.draft is not None else reply.draft)
        source = verdict.source if verdict.source is not None else reply.source
        self.source.setText(f"Source: {source}" if source else "")
        self.status.clear()
        if verdict.corrected:
            self.intent.setText(f"{pretty_intent(verdict.corrected)} (corrected)")
        self._set_enabled(reply.id is not None)

    def clear(self) -> None:
        self._keep_verdict()
        self.reply = None
        self.verdict = Verdict()
        self.picker.reset()
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
        for index, entity in enumerate(distinct_entities(reply.entities if reply else [])):
            chip = QPushButton(f"{entity.type}: {entity.value}")
            chip.setObjectName("entity-chip")
            chip.setToolTip("Click to copy")
            chip.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
            chip.setStyleSheet(f"border-radius:9px; padding:2px 8px; background:#e8eefc; "
                               f"color:{ON_LIGHT};")
            chip.clicked.connect(lambda _=False, v=entity.value: self._copy(v))
            self.entities.addWidget(chip, index // 2, index % 2)

    def _copy(self, value: str) -> None:
        QGuiApplication.clipboard().setText(value)
        self.status.setText(f"Copied {value}")
        self.copied.emit(value)

    def _set_enabled(self, enabled: bool) -> None:
        for widget in (self.use_button, self.up_button, self.down_button, self.picker):
            widget.setEnabled(enabled)

    def _on_use(self) -> None:
        if self.reply is None or self.reply.id is None:
            return
        text = self.draft.toPlainText().strip()
        if not text:
            self.status.setText("The draft is empty: write the answer first.")
            return
        QGuiApplication.clipboard().setText(text)
        if text in self.verdict.used:
            self.status.setText("Already used: this answer is in the conversation (copied "
                                "again).")
            return
        self.verdict.used.add(text)
        corrected = self.verdict.corrected
        if corrected:  # the correction stays the label; the answer goes with it
            self.feedback.emit(self.reply.id, "corrected", corrected, text)
        else:
            base = self.verdict.base if self.verdict.base is not None else self.reply.draft
            action = "accepted" if text == base.strip() else "edited"
            self.feedback.emit(self.reply.id, action, None, text)
        self.use.emit(self.reply.id, text)
        self.status.setText("Used: inserted as the agent's answer and copied.")

    def _send(self, action: str) -> None:
        if self.reply is None or self.reply.id is None:
            return
        corrected = self.verdict.corrected
        if action == "accepted" and corrected:
            self.feedback.emit(self.reply.id, "corrected", corrected, None)
            self.status.setText(f"Thanks: {pretty_intent(corrected)} confirmed.")
            return
        self.feedback.emit(self.reply.id, action, None, None)
        if action == "accepted":
            self.status.setText("Thanks: marked right.")
        elif corrected:
            self.verdict.corrected = None
            self.intent.setText(pretty_intent(self.reply.intent))
            self.status.setText(f"Marked wrong; the correction to {pretty_intent(corrected)} "
                                "is withdrawn.")
        else:
            self.status.setText("Marked wrong.")

    def _on_correct(self, intent: str) -> None:
        """A known intent picked, or a new one confirmed: store it and rewrite the draft."""
        if self.reply is None or self.reply.id is None:
            return
        self.feedback.emit(self.reply.id, "corrected", intent, None)
        self.verdict.corrected = intent
        self._draft_when_corrected = self.draft.toPlainText()
        self.intent.setText(f"{pretty_intent(intent)} (corrected)")
        self.status.setText(f"Corrected to {pretty_intent(intent)}; rewriting the draft…")
        if self.reply.turn_id is not None:
            self.redraft.emit(self.reply.id, self.reply.turn_id, intent)

    def show_redraft(self, reply_id: int, intent: str, text: str, source: str,
                     answered: bool = True) -> None:
        """The draft the knowledge base gives for the corrected intent (Ctrl+Z brings back the
        one it replaces); `answered` is False when no article answers that intent yet."""
        if self.reply is None or self.reply.id != reply_id or self.verdict.corrected != intent:
            return  # the agent moved on, or corrected again meanwhile
        if self.draft.toPlainText() != self._draft_when_corrected:
            self.status.setText(f"Corrected to {pretty_intent(intent)}; your edited draft is "
                                "kept.")
            return
        cursor = self.draft.textCursor()
        cursor.select(QTextCursor.SelectionType.Document)
        cursor.insertText(text)
        self.verdict.base, self.verdict.source = text, source
        self.source.setText(f"Source: {source}" if source else "")
        if not answered:
            self.status.setText(f"Corrected to {pretty_intent(intent)}; no article answers it "
                                "yet, so check the draft before using it.")
        else:
            self.status.setText(f"Corrected to {pretty_intent(intent)}; the draft is "
                                "rewritten for it.")

    def _on_handoff(self) -> None:
        if self.reply is not None and self.reply.id is not None:
            self.handoff.emit(self.reply.id)
            self.status.setText("Marked for handoff.")

    def use_shortcut(self) -> None:
        """Keyboard shortcut for Use."""
        if self.use_button.isEnabled():
            self._on_use()


def distinct_entities(entities: list[Entity], limit: int = MAX_CHIPS) -> list[Entity]:
    """Each (type, value) once, the first `limit`: a long paste that repeats an order number
    300 times made 300 styled chips, 250 ms of the UI thread (bench/gui.py)."""
    seen: dict[tuple[str, str], Entity] = {}
    for entity in entities:
        seen.setdefault((entity.type, entity.value), entity)
    return list(seen.values())[:limit]
