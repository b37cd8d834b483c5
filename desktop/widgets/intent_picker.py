"""Choosing the right intent: a searchable list of the intents the model knows, and a separate,
confirmed path for a new one.

The list shows names as words ("delivery period") and matches any part of them, so "delivery
per" or "period" finds it. Text that names no known intent is never taken as one ("trak ordr"
once became an intent `trak_ordr`): the picker says so and offers the closest names; only
"New intent…" followed by "Add" creates an intent.
"""

from __future__ import annotations

import difflib
import re

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QCompleter,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

_NEW_NAME = re.compile(r"^[a-z][a-z0-9_]{1,48}[a-z0-9]$")


def pretty_intent(name: str) -> str:
    """`delivery_period` -> `delivery period` (how agents read and search intents)."""
    return name.replace("_", " ")


def intent_name(words: str) -> str:
    """What the agent typed as a new intent's name -> `snake_case` ("Warranty claim!" ->
    `warranty_claim`)."""
    return re.sub(r"[^a-z0-9]+", "_", words.lower()).strip("_")


class IntentPicker(QWidget):
    """Emits `chosen(intent)` for a known intent picked from the list or a new one the agent
    confirmed; `said(sentence)` for the status line."""

    chosen = Signal(str)
    said = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._new: str | None = None
        self.combo = QComboBox()
        self.combo.setObjectName("correct-intent")
        self.combo.setEditable(True)
        self.combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.combo.lineEdit().setPlaceholderText("Correct intent… (type to search)")
        completer = self.combo.completer()
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.correct_button = QPushButton("Correct")
        self.correct_button.setToolTip("Mark the suggestion's intent as this one from the list")
        self.correct_button.clicked.connect(self._on_correct)
        self.new_button = QPushButton("New intent…")
        self.new_button.setToolTip("Add an intent the assistant does not know yet")
        self.new_button.clicked.connect(self._on_new)

        self.question = QLabel()
        self.question.setObjectName("new-intent-question")
        self.question.setWordWrap(True)
        self.add_button = QPushButton("Add new intent")
        self.add_button.clicked.connect(self._confirm_new)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self._cancel_new)
        self.confirm_box = QFrame()
        self.confirm_box.setFrameShape(QFrame.Shape.StyledPanel)
        confirm = QVBoxLayout(self.confirm_box)
        confirm.setContentsMargins(6, 4, 6, 4)
        confirm.addWidget(self.question)
        answers = QHBoxLayout()
        answers.addStretch(1)
        answers.addWidget(self.cancel_button)
        answers.addWidget(self.add_button)
        confirm.addLayout(answers)
        self.confirm_box.hide()

        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.combo, 1)
        row.addWidget(self.correct_button)
        row.addWidget(self.new_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.confirm_box)

    # --- the list -----------------------------------------------------------------------------
    def set_labels(self, labels: list[str]) -> None:
        """The intents offered (the model's label set), shown as words, sorted; what the agent
        is typing (the labels may arrive meanwhile) stays."""
        typed = self.combo.currentText()
        self.combo.clear()
        for name in sorted(set(labels), key=pretty_intent):
            self.combo.addItem(pretty_intent(name), name)
        self.combo.setCurrentIndex(-1)
        self.combo.setEditText(typed)

    def labels(self) -> list[str]:
        return [self.combo.itemData(i) for i in range(self.combo.count())]

    def reset(self) -> None:
        """Nothing chosen, nothing typed (a new reply or another session)."""
        self.combo.setCurrentIndex(-1)
        self.combo.clearEditText()
        self._cancel_new()

    def selected(self) -> str | None:
        """The known intent the box names (as words or as the name itself), else None."""
        typed = " ".join(self.combo.currentText().split()).lower()
        for index in range(self.combo.count()):
            name = self.combo.itemData(index)
            if typed in (name.lower(), pretty_intent(name).lower()):
                return name
        return None

    # --- choosing -----------------------------------------------------------------------------
    def _on_correct(self) -> None:
        typed = self.combo.currentText().strip()
        intent = self.selected()
        if intent is not None:
            self._cancel_new()
            self.chosen.emit(intent)
            return
        if not typed:
            self.said.emit("Pick the right intent from the list first.")
            return
        words = [self.combo.itemText(i) for i in range(self.combo.count())]
        close = difflib.get_close_matches(typed.lower(), words, n=3, cutoff=0.6)
        hint = f"Did you mean {' or '.join(close)}? " if close else "Pick one from the list, or "
        self.said.emit(f"“{typed}” is not an intent the assistant knows. {hint}"
                       f"{'Or use' if close else 'use'} New intent… to add it.")

    def _on_new(self) -> None:
        typed = self.combo.currentText().strip()
        if not typed:
            self.said.emit("Type the new intent's name in the box first, then New intent….")
            return
        if self.selected() is not None:
            self.said.emit(f"“{typed}” is already an intent: use Correct.")
            return
        name = intent_name(typed)
        if not _NEW_NAME.match(name):
            self.said.emit(f"“{typed}” cannot be an intent name: use 3 to 50 letters, digits "
                           "and spaces, starting with a letter.")
            return
        self._new = name
        self.question.setText(
            f"Add “{pretty_intent(name)}” as a new intent? The assistant learns it at the next "
            "training, from the messages labelled with it."
        )
        self.confirm_box.show()
        self.add_button.setFocus()

    def _confirm_new(self) -> None:
        name, self._new = self._new, None
        self.confirm_box.hide()
        if name is None:
            return
        if name not in self.labels():
            self.combo.addItem(pretty_intent(name), name)
        self.combo.setCurrentIndex(self.combo.findData(name))
        self.chosen.emit(name)

    def _cancel_new(self) -> None:
        self._new = None
        self.confirm_box.hide()
