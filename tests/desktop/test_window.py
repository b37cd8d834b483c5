"""The window end to end with the real engine: typed turns, feedback, start-up order, failures.

Each test drives the real MainWindow (offscreen) over a fresh SQLite file; the Assistant is
built inside the engine thread from the session's loaded model, as the app does.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

from engine.store.database import Store

pytestmark = pytest.mark.slow  # real models (loaded once per session)

REFUND = "hi, can I get my money back for order 48213? the shoes never arrived"


def stored_turns(home: Path) -> list[dict]:
    with Store.open(home) as store:
        sessions = store.sessions()
        return [t for s in sessions for t in store.turns(s["id"])]


def type_and_send(qtbot, window, text: str) -> None:
    window.composer.edit.setFocus()
    qtbot.keyClicks(window.composer.edit, text)
    qtbot.keyClick(window.composer.edit, Qt.Key.Key_Return)


def test_typed_message_gets_intent_and_draft_and_is_stored(qtbot, make_window, home):
    window = make_window()
    with qtbot.waitSignal(window.reply_shown, timeout=60_000) as shown:
        type_and_send(qtbot, window, REFUND)
    reply = shown.args[0]
    assert window.composer.text() == ""  # sent, not lost: it is in the store
    assert window.suggestion.intent.text() == reply.intent.replace("_", " ")
    assert reply.draft and window.suggestion.draft.toPlainText() == reply.draft
    assert "48213" in reply.draft  # the slot filled from the message
    assert f">{reply.level}</span>" in window.suggestion.level.text()
    chips = [c.text() for c in window.suggestion.findChildren(type(window.suggestion.use_button))
             if c.objectName() == "entity-chip"]
    assert "order_number: 48213" in chips
    chip = next(c for c in window.suggestion.findChildren(type(window.suggestion.use_button))
                if c.objectName() == "entity-chip" and c.text() == "order_number: 48213")
    chip.click()
    assert QGuiApplication.clipboard().text() == "48213"

    turns = stored_turns(home)
    assert [(t["role"], t["text"]) for t in turns] == [("customer", REFUND)]
    assert turns[0]["reply"]["intent"] == reply.intent
    assert turns[0]["reply"]["draft"] == reply.draft
    qtbot.waitUntil(lambda: len(window.chat.turns) == 1, timeout=10_000)  # redrawn from store


def test_input_typed_before_the_model_is_ready_is_answered_when_it_is(qtbot, make_window, home):
    gate = threading.Event()
    window = make_window(gate=gate)
    qtbot.waitUntil(lambda: window.store.is_ready, timeout=10_000)
    type_and_send(qtbot, window, REFUND)
    qtbot.waitUntil(lambda: window.chat.pending_count == 1, timeout=10_000)
    qtbot.wait(300)
    assert not window.engine.is_ready and window.suggestion.reply is None
    assert window.progress.isVisible()  # the status bar shows the load
    with qtbot.waitSignal(window.reply_shown, timeout=60_000):
        gate.set()
    qtbot.waitUntil(lambda: window.chat.pending_count == 0, timeout=10_000)
    assert [t["text"] for t in stored_turns(home)] == [REFUND]


def test_use_thumbs_and_correct_intent_land_in_the_store(qtbot, make_window, home):
    window = make_window()
    with qtbot.waitSignal(window.reply_shown, timeout=60_000) as shown:
        type_and_send(qtbot, window, REFUND)
    reply = shown.args[0]
    panel = window.suggestion

    panel.up_button.click()
    qtbot.waitUntil(lambda: panel.correct.count() > 5, timeout=30_000)  # the model's labels
    panel.correct.setCurrentText("track order")  # what the agent types in the searchable list
    panel.correct_button.click()
    edited = reply.draft + " Anything else I can do?"
    panel.draft.setPlainText(edited)
    panel.use_button.click()
    assert QGuiApplication.clipboard().text() == edited

    def feedback_rows():
        with Store.open(home) as store:
            return list(store.db.query("SELECT * FROM feedback ORDER BY id"))

    qtbot.waitUntil(lambda: len(feedback_rows()) == 3, timeout=10_000)
    rows = feedback_rows()
    assert [(r["reply"], r["action"]) for r in rows] == [
        (reply.id, "accepted"), (reply.id, "corrected"), (reply.id, "corrected")
    ]  # Use after a correction keeps it as the label
    assert rows[1]["corrected_intent"] == rows[2]["corrected_intent"] == "track_order"
    assert rows[2]["final_answer"] == edited
    # "Use" also put the answer into the conversation as the agent's turn
    msgs = []
    window.message_shown.connect(msgs.append)
    qtbot.waitUntil(lambda: len(stored_turns(home)) == 2 or bool(msgs), timeout=10_000)
    assert not msgs
    agent = stored_turns(home)[1]
    assert (agent["role"], agent["text"]) == ("agent", edited)


def test_correct_intent_list_is_searchable(qtbot, make_window):
    window = make_window()
    qtbot.waitUntil(lambda: window.suggestion.correct.count() > 5, timeout=60_000)
    labels = [window.suggestion.correct.itemText(i)
              for i in range(window.suggestion.correct.count())]
    assert labels == sorted(labels) and "track order" in labels  # shown as words
    assert "track_order" in window.suggestion.picker.labels()
    completer = window.suggestion.correct.completer()
    completer.setCompletionPrefix("refund")
    matches = {completer.completionModel().index(i, 0).data()
               for i in range(completer.completionModel().rowCount())}
    assert matches and all("refund" in m for m in matches)


def test_sessions_new_rename_and_search(qtbot, make_window, home):
    window = make_window()
    with qtbot.waitSignal(window.reply_shown, timeout=60_000):
        type_and_send(qtbot, window, REFUND)
    first = window.session_id
    window.new_session()
    qtbot.waitUntil(lambda: window.session_id != first and len(window.sessions.ids()) == 2,
                    timeout=10_000)
    with qtbot.waitSignal(window.reply_shown, timeout=60_000):
        type_and_send(qtbot, window, "how do I change the delivery address on my order")
    assert window.sessions.ids()[0] == window.session_id  # newest first

    window.rename_session(first, "Shoes refund")
    qtbot.waitUntil(lambda: "Shoes refund" in window.sessions.list.item(1).text(),
                    timeout=10_000)
    window.sessions.search.setText("shoes never")
    qtbot.waitUntil(lambda: window.sessions.ids() == [first], timeout=10_000)
    window.sessions.search.setText("zebra")
    qtbot.waitUntil(lambda: window.sessions.ids() == [], timeout=10_000)


def test_a_huge_paste_is_refused_in_one_sentence_and_typed_text_kept(qtbot, make_window):
    window = make_window(start=False)
    window.composer.set_text("order 48213 ")
    QGuiApplication.clipboard().setText("x" * 1_000_000)
    with qtbot.waitSignal(window.message_shown, timeout=5_000) as said:
        window.paste()
    assert window.composer.text() == "order 48213 "
    message = said.args[0]
    assert "1,000,000 characters" in message and message.count(".") == 1
    assert window.banner.isVisible()


def test_engine_failing_on_one_turn_says_why_and_the_rest_keeps_working(
    qtbot, make_window, home, tmp_path
):
    window = make_window()
    qtbot.waitUntil(lambda: window.engine.is_ready, timeout=60_000)
    fake = tmp_path / "invoice.png"
    fake.write_bytes(b"%PDF-1.4\n% not an image at all\n")  # a PDF saved under an image name
    window.composer.add_files([fake])
    window.composer.set_text("what is this charge on my invoice")
    with qtbot.waitSignal(window.message_shown, timeout=30_000) as said:
        window.composer.submit()
    assert "invoice.png" in said.args[0]
    # never stored, so the agent gets the text and the attachment back
    qtbot.waitUntil(lambda: window.composer.text() == "what is this charge on my invoice",
                    timeout=5_000)
    assert window.composer.images == [fake]
    assert stored_turns(home) == []
    window.composer.clear_sent()
    with qtbot.waitSignal(window.reply_shown, timeout=60_000):
        type_and_send(qtbot, window, REFUND)


def test_no_model_keeps_the_customer_turn_and_says_so(qtbot, make_window, home, tmp_path):
    from engine.assistant import Assistant

    missing = tmp_path / "no-model-here"
    window = make_window(assistant_factory=lambda: Assistant(home, model=missing))
    with qtbot.waitSignal(window.message_shown, timeout=30_000) as said:
        pass
    assert str(missing) in said.args[0]
    with qtbot.waitSignal(window.message_shown, timeout=30_000) as said:
        type_and_send(qtbot, window, REFUND)
    assert said.args[0].endswith("The message was saved without a suggestion.")
    assert [t["text"] for t in stored_turns(home)] == [REFUND]


def test_a_data_folder_that_cannot_hold_the_database_is_one_sentence(qtbot, make_window, home):
    (home / "frontdesk.db").mkdir()  # the database path is taken by a folder
    window = make_window()
    qtbot.waitUntil(lambda: window.store.load_error is not None, timeout=10_000)
    assert "frontdesk.db" in window.status_text.text() or window.banner.isVisible()
    type_and_send(qtbot, window, REFUND)
    qtbot.waitUntil(lambda: window.composer.text() == REFUND, timeout=60_000)  # given back


def test_dialogs_open_and_say_what_is_in_use(qtbot, make_window, home):
    window = make_window()
    qtbot.waitUntil(lambda: window.device_in_use != "loading…", timeout=60_000)
    about = window.open_about()
    text = about.findChild(type(window.status_text), "about-text").text()
    assert "PySide6" in text and window.device_in_use in text
    settings = window.open_settings()
    assert settings.in_use.text() == f"In use now: {window.device_in_use}"
    settings.whisper.setCurrentText("base")
    settings.save()
    from desktop.settings import DesktopSettings

    assert DesktopSettings.load(home).whisper_model == "base"
    assert window.settings.whisper_model == "base"
    train = window.open_train()
    assert train.message.text()
    logs = window.open_logs()
    assert logs.text.toPlainText()
