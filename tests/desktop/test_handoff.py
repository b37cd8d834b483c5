"""Handing a customer off from the suggestion panel is stored as `handoff`, not "rejected"
(issue 14 item 12): the real window, offscreen, driven by key presses and a click."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from engine.store.database import Store

pytestmark = pytest.mark.slow  # the real intent model (loaded once per session)

OFF_TOPIC = "what will the weather be like in Lisbon on saturday, should I bring an umbrella"


def feedback_rows(home: Path) -> list[tuple]:
    with Store.open(home) as store:
        return [tuple(r) for r in store.db.conn.execute(
            "SELECT reply, action, corrected_intent FROM feedback ORDER BY id")]


def test_the_handoff_button_stores_a_handoff(qtbot, make_window, home):
    window = make_window()
    window.composer.edit.setFocus()
    with qtbot.waitSignal(window.reply_shown, timeout=60_000) as shown:
        qtbot.keyClicks(window.composer.edit, OFF_TOPIC)
        qtbot.keyClick(window.composer.edit, Qt.Key.Key_Return)
    reply = shown.args[0]
    panel = window.suggestion
    qtbot.waitUntil(panel.handoff_button.isVisible, timeout=5_000)  # offered: out of scope
    qtbot.mouseClick(panel.handoff_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(feedback_rows(home)), timeout=10_000)
    assert feedback_rows(home) == [(reply.id, "handoff", None)]
    assert panel.status.text() == "Marked for handoff."
