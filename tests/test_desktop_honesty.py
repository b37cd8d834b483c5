"""Issue 14, data and honesty: what the window stores and proposes must be true.

Each test drives the real window (offscreen, real models, a real SQLite file) with key presses,
clicks and dropped files, then reads the store the window wrote.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from engine.knowledge import claimed_action
from tests.desktop_drive import (
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
