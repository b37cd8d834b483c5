"""A long message in the conversation is laid out once per width (issue 14, item 8): QLabel laid
a word-wrapped text out again for every height the conversation's layout asked of it, and the
layout asks every bubble again whenever a turn is added, so each 2,000-character opening on
screen cost a new layout per turn (bench gui: sending a 20,000-character message)."""

from __future__ import annotations

import time

from PySide6.QtGui import QFont
from PySide6.QtWidgets import QLabel

from desktop.widgets.chat_view import ChatView


def test_a_long_message_is_laid_out_once_per_width_and_again_when_it_changes(qtbot) -> None:
    chat = ChatView()
    qtbot.addWidget(chat)
    chat.resize(700, 600)
    chat.show()
    qtbot.waitExposed(chat)
    text = " ".join(f"my order 48213 came with the box open, part {n}." for n in range(500))
    chat.show_turns([{"id": 1, "role": "customer", "text": text}])  # shows its opening
    qtbot.waitUntil(lambda: chat.findChild(QLabel, "turn-text") is not None, timeout=5_000)
    label = chat.findChild(QLabel, "turn-text")
    assert len(label.text()) > 1_500

    # the heights a plain QLabel of the same text and style needs, at any width
    plain = QLabel(label.text())
    plain.setWordWrap(True)
    plain.setStyleSheet(label.styleSheet())
    qtbot.addWidget(plain)
    plain.ensurePolished()
    for width in (180, 333, 560, 333, 180):
        assert label.heightForWidth(width) == plain.heightForWidth(width)

    # asked again at a width it has seen, it does not lay the text out again
    started = time.perf_counter()
    first = label.heightForWidth(417)
    once = time.perf_counter() - started
    started = time.perf_counter()
    again = [label.heightForWidth(417) for _ in range(50)]
    assert again == [first] * 50
    assert time.perf_counter() - started < 5 * once  # a QLabel took ~50x its first ask

    # other text or another font: laid out anew
    label.setText("hello")
    assert label.heightForWidth(417) < first
    label.setText(plain.text())
    assert label.heightForWidth(417) == first
    bigger = QFont(label.font())
    bigger.setPointSizeF(bigger.pointSizeF() * 2)
    label.setFont(bigger)
    assert label.heightForWidth(417) > first
