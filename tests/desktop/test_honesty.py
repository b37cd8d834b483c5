"""Issue 14, data and honesty: what the window stores and proposes must be true.

Each test drives the real window (offscreen, real models, a real SQLite file) with key presses,
clicks and dropped files, then reads the store the window wrote.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from engine.nlu.knowledge import claimed_action
from engine.store.database import Store
from tests.desktop.drive import (
    VOICE_CLIP,
    click_session,
    drop_files,
    new_session_by_keys,
    press,
    session_turns,
    type_and_send,
)

pytestmark = pytest.mark.slow  # real Whisper and intent models

PAYPAL = "can I pay with paypal?"


def transcribed(window) -> bool:
    return "refund" in window.composer.text().lower()


def test_a_deleted_transcript_takes_its_recording_with_it(qtbot, make_window, home):
    """Drop a clip in session A, Ctrl+A Delete its transcript, Ctrl+N, type, Enter: the new
    session's turn is typed, with no attachment, and nothing of A went anywhere."""
    window = make_window()
    first = new_session_by_keys(qtbot, window)
    drop_files(window.composer.edit, [VOICE_CLIP])
    qtbot.waitUntil(lambda: transcribed(window), timeout=90_000)
    press(qtbot, window.composer.edit, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    press(qtbot, window.composer.edit, Qt.Key.Key_Delete)
    assert window.composer.text() == ""
    second = new_session_by_keys(qtbot, window)
    assert second != first
    with qtbot.waitSignal(window.reply_shown, timeout=60_000):
        type_and_send(qtbot, window, PAYPAL)

    [turn] = session_turns(home, second)
    assert turn["text"] == PAYPAL
    assert turn["source"] == "typed" and turn["attachments"] == []
    assert session_turns(home, first) == []


def test_a_recording_stays_with_its_session_when_the_agent_switches(qtbot, make_window, home):
    """Drop a clip in A and switch (Ctrl+N) without sending: B's turn carries nothing of A;
    back in A, the transcript and its recording are still there to send."""
    window = make_window()
    first = new_session_by_keys(qtbot, window)
    drop_files(window.composer.edit, [VOICE_CLIP])
    qtbot.waitUntil(lambda: transcribed(window), timeout=90_000)
    transcript = window.composer.text()
    second = new_session_by_keys(qtbot, window)
    assert window.composer.text() == ""
    with qtbot.waitSignal(window.reply_shown, timeout=60_000):
        type_and_send(qtbot, window, PAYPAL)
    [turn] = session_turns(home, second)
    assert (turn["source"], turn["attachments"]) == ("typed", [])

    with qtbot.waitSignal(window.session_shown, timeout=10_000):
        click_session(qtbot, window, first)
    assert window.composer.text() == transcript
    with qtbot.waitSignal(window.reply_shown, timeout=60_000):
        press(qtbot, window.composer.edit, Qt.Key.Key_Return)
    [voiced] = session_turns(home, first)
    assert voiced["source"] == "voice"
    assert [a["kind"] for a in voiced["attachments"]] == ["audio"]


def test_the_draft_offers_instead_of_claiming_and_uses_what_the_customer_gave(
    qtbot, make_window
):
    """Two customer turns typed in the window: the address and the order number given earlier
    fill the draft in the Suggestion panel, which offers the change instead of claiming it."""
    window = make_window()
    with qtbot.waitSignal(window.reply_shown, timeout=60_000):
        type_and_send(qtbot, window, "I moved house, my new address is 12 Baker Street, "
                                     "London NW1 6XE")
    with qtbot.waitSignal(window.reply_shown, timeout=60_000) as shown:
        type_and_send(qtbot, window, "can you change the delivery address on order 48213 please")
    draft = window.suggestion.draft.toPlainText()
    assert shown.args[0].intent == "change_shipping_address"
    assert "12 Baker Street, London NW1 6XE" in draft and "48213" in draft
    assert "postcode" not in draft and "share" not in draft
    assert claimed_action(draft) is None and draft.rstrip().endswith("?")


REFUND = "hi, can I get my money back for order 48213? the shoes never arrived"


def feedback_rows(home) -> list[dict]:
    with Store.open(home) as store:
        return [dict(r) for r in store.db.query("SELECT * FROM feedback ORDER BY id")]


def agent_turns(home, session_id) -> list[dict]:
    return [t for t in session_turns(home, session_id) if t["role"] == "agent"]


def pick(qtbot, window, words: str) -> None:
    """Type into the Correct-intent box (what was there first is selected and replaced)."""
    qtbot.waitUntil(lambda: window.suggestion.correct.count() > 5, timeout=30_000)  # the labels
    box = window.suggestion.correct.lineEdit()
    press(qtbot, box, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(box, Qt.Key.Key_Delete)
    qtbot.keyClicks(box, words)


def test_a_correction_is_chosen_from_known_intents_and_rewrites_the_draft(
    qtbot, make_window, home
):
    window = make_window()
    with qtbot.waitSignal(window.reply_shown, timeout=60_000) as shown:
        type_and_send(qtbot, window, REFUND)
    reply = shown.args[0]
    panel = window.suggestion

    # a typo is no intent: refused in one sentence that offers the closest, nothing stored
    pick(qtbot, window, "trak ordr")
    qtbot.mouseClick(panel.correct_button, Qt.MouseButton.LeftButton)
    assert "not an intent the assistant knows" in panel.status.text()
    assert "track order" in panel.status.text()
    qtbot.wait(300)
    assert feedback_rows(home) == []
    assert panel.intent.text() == reply.intent.replace("_", " ")

    # words of the intent's name find it; picked from the popup with the keyboard
    pick(qtbot, window, "delivery per")
    popup = panel.correct.completer().popup()
    qtbot.waitUntil(popup.isVisible, timeout=5_000)
    model = panel.correct.completer().completionModel()
    assert [model.index(i, 0).data() for i in range(model.rowCount())] == ["delivery period"]
    qtbot.keyClick(popup, Qt.Key.Key_Down)
    qtbot.keyClick(popup, Qt.Key.Key_Return)
    assert panel.correct.currentText() == "delivery period"
    qtbot.mouseClick(panel.correct_button, Qt.MouseButton.LeftButton)
    assert panel.intent.text() == "delivery period (corrected)"
    # the draft is rewritten for the corrected intent, the order number still filled in
    qtbot.waitUntil(lambda: panel.source.text() == "Source: delivery_period", timeout=30_000)
    draft = panel.draft.toPlainText()
    assert "48213" in draft and draft != reply.draft
    assert draft == window.engine._core.resource.knowledge.draft(
        "delivery_period", REFUND, {"order_number": reply.entities[0]}).text

    # "Right" confirms the correction instead of replacing it; Use twice adds one turn
    qtbot.mouseClick(panel.up_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(panel.use_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(agent_turns(home, window.session_id)) == 1, timeout=10_000)
    qtbot.waitUntil(lambda: window.chat.pending_count == 0, timeout=10_000)
    qtbot.mouseClick(panel.use_button, Qt.MouseButton.LeftButton)
    press(qtbot, window.composer.edit, Qt.Key.Key_Return,
          Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.wait(1_000)
    assert [t["text"] for t in agent_turns(home, window.session_id)] == [draft]
    rows = feedback_rows(home)
    assert [(r["action"], r["corrected_intent"]) for r in rows] == [
        ("corrected", "delivery_period")] * 3
    assert rows[-1]["final_answer"] == draft
    # the session redrawn after Use keeps the correction on screen
    assert panel.intent.text() == "delivery period (corrected)"


def test_a_new_intent_is_a_deliberate_confirmed_action(qtbot, make_window, home):
    window = make_window()
    with qtbot.waitSignal(window.reply_shown, timeout=60_000):
        type_and_send(qtbot, window, "my kettle broke after 4 months, is it under warranty?")
    panel = window.suggestion
    pick(qtbot, window, "warranty claim")
    qtbot.mouseClick(panel.correct_button, Qt.MouseButton.LeftButton)  # not known: refused
    assert "New intent" in panel.status.text() and feedback_rows(home) == []

    qtbot.mouseClick(panel.picker.new_button, Qt.MouseButton.LeftButton)
    assert panel.picker.confirm_box.isVisible()
    assert "warranty claim" in panel.picker.question.text()
    qtbot.mouseClick(panel.picker.cancel_button, Qt.MouseButton.LeftButton)  # changed mind
    qtbot.wait(300)
    assert not panel.picker.confirm_box.isVisible() and feedback_rows(home) == []

    qtbot.mouseClick(panel.picker.new_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(panel.picker.add_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(feedback_rows(home)) == 1, timeout=10_000)
    [row] = feedback_rows(home)
    assert (row["action"], row["corrected_intent"]) == ("corrected", "warranty_claim")
    assert panel.intent.text() == "warranty claim (corrected)"
    qtbot.waitUntil(lambda: "no article answers it yet" in panel.status.text(), timeout=30_000)
    assert "warranty_claim" in panel.picker.labels()  # offered from now on
