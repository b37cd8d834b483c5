"""The Train dialog runs the real retraining on this desk's logs, shows before/after, switches."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from engine.learning import versions
from engine.types import Turn

pytestmark = pytest.mark.slow  # trains a model (heads only, a few seconds)

LOGS = [  # (customer message, intent the agent confirmed or corrected to)
    ("where is my parcel, it has not moved for days", "track_order"),
    ("I want my money back for the broken kettle", "get_refund"),
    ("my package still hasnt arrived, tracking says nothing", "track_order"),
    ("please refund order 4411, it came damaged", "get_refund"),
    ("can you tell me where my order is right now", "track_order"),
    ("refund me for the shoes I returned last week", "get_refund"),
]


def test_train_dialog_retrains_from_the_logs_and_switches(qtbot, make_window, assistant, home):
    for text, gold in LOGS:  # one conversation each, feedback on every reply
        session = assistant.new_session()
        reply = assistant.respond(session, Turn(text=text))
        if reply.intent == gold:
            assistant.feedback(reply.id, "accepted", final_answer=reply.draft)
        else:
            assistant.feedback(reply.id, "corrected", corrected_intent=gold)
    window = make_window()
    qtbot.waitUntil(lambda: window.engine.is_ready, timeout=60_000)
    dialog = window.open_train()
    assert dialog.heads_only.isChecked()
    dialog.train_button.click()
    assert dialog.running and dialog.close_button.text() == "Cancel"
    assert dialog.start() is None  # one training at a time
    qtbot.waitUntil(lambda: not dialog.running, timeout=240_000)
    assert dialog.result is not None, dialog.message.text()
    rows = {dialog.table.item(r, 0).text(): (dialog.table.item(r, 1).text(),
                                              dialog.table.item(r, 2).text())
            for r in range(dialog.table.rowCount())}
    # one session of six is held out: its one case is counted, its rates are held back
    assert rows == {"cases": ("1", "1")}
    assert "Before/after rates are held back: 1 held-out case" in dialog.message.text()
    assert versions.current_name(home) == "default"  # nothing switched yet
    with qtbot.waitSignal(dialog.switched, timeout=60_000):
        dialog.use_button.click()
    assert versions.current_name(home) == dialog.result.version
    with qtbot.waitSignal(window.reply_shown, timeout=60_000) as shown:
        window.composer.set_text("where is my parcel")
        window.composer.submit()
    assert shown.args[0].model_version == versions.list_versions(home)[-1].model_version


def test_train_dialog_says_how_much_feedback_is_needed(qtbot, make_window, home, monkeypatch):
    """Five corrections of five new intents, no earlier training data at hand: one sentence
    saying what is needed (was: "stack expects a non-empty TensorList"), nothing to switch to."""
    from tests.learning.test_small_data import desk_with_few_corrections

    monkeypatch.setenv("FRONTDESK_SHARED_DATA", str(home / "absent"))
    desk_with_few_corrections(home)
    window = make_window()
    qtbot.waitUntil(lambda: window.engine.is_ready, timeout=60_000)
    dialog = window.open_train()
    qtbot.mouseClick(dialog.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.running, timeout=120_000)
    text = dialog.message.text()
    assert text.startswith("Too little feedback to retrain") and "at least 2 of one intent" in text
    assert "Traceback" not in text and "Tensor" not in text
    assert dialog.result is None and not dialog.use_button.isEnabled()
    assert dialog.train_button.isEnabled() and dialog.table.rowCount() == 0
    assert versions.current_name(home) == "default"


def test_cancelling_training_keeps_the_current_model(qtbot, make_window, assistant, home):
    """Cancel once training reports progress: the dialog says the current model stays (the
    engine's TrainingCancelled is the agent's own choice, not an error), and Train works again."""
    for text, gold in LOGS:
        session = assistant.new_session()
        reply = assistant.respond(session, Turn(text=text))
        assistant.feedback(reply.id, "corrected", corrected_intent=gold)
    window = make_window()
    qtbot.waitUntil(lambda: window.engine.is_ready, timeout=60_000)
    dialog = window.open_train()
    dialog.progress.valueChanged.connect(
        lambda _value: dialog.close_button.click() if dialog.running else None)
    errors = []
    window.message_shown.connect(errors.append)
    qtbot.mouseClick(dialog.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.running, timeout=240_000)
    assert dialog.message.text() == "Training cancelled; the current model stays in use."
    assert dialog.result is None and not dialog.use_button.isEnabled()
    assert dialog.train_button.isEnabled() and dialog.isVisible()  # Cancel did not close it
    assert versions.current_name(home) == "default" and errors == []
