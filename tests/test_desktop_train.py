"""The Train dialog runs the real retraining on this desk's logs, shows before/after, switches."""

from __future__ import annotations

import pytest

from engine import versions
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
    qtbot.waitUntil(lambda: not dialog.running, timeout=240_000)
    assert dialog.result is not None, dialog.message.text()
    rows = {dialog.table.item(r, 0).text(): (dialog.table.item(r, 1).text(),
                                              dialog.table.item(r, 2).text())
            for r in range(dialog.table.rowCount())}
    assert "accuracy" in rows and rows["cases"][0] == rows["cases"][1]
    assert versions.current_name(home) == "default"  # nothing switched yet
    with qtbot.waitSignal(dialog.switched, timeout=60_000):
        dialog.use_button.click()
    assert versions.current_name(home) == dialog.result.version
    with qtbot.waitSignal(window.reply_shown, timeout=60_000) as shown:
        window.composer.set_text("where is my parcel")
        window.composer.submit()
    assert shown.args[0].model_version == versions.list_versions(home)[-1].model_version
