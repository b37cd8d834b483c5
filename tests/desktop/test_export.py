"""The Export dialog writes a real file through the store's thread, with progress and cancel."""

from __future__ import annotations

import json

import pytest

from desktop.dialogs.export import ExportDialog
from engine.store.database import Store
from engine.types import Reply, Turn

pytestmark = pytest.mark.slow  # the window's engine thread loads the intent model


def test_export_dialog_writes_redacted_jsonl_and_csv(qtbot, make_window, home, tmp_path):
    window = make_window()
    with qtbot.waitSignal(window.reply_shown, timeout=60_000):
        window.composer.set_text("refund order 48213 please, mail me at jo.bloggs@mail.com")
        window.composer.submit()
    window.suggestion.use_button.click()
    qtbot.waitUntil(lambda: window.store.pending == 0 and window.engine.pending == 0,
                    timeout=10_000)

    dialog = window.open_export()
    out = tmp_path / "out" / "logs.jsonl"
    dialog.path.setText(str(out))
    with qtbot.waitSignal(dialog.exported, timeout=30_000) as done:
        dialog.export_button.click()
    assert done.args == [out, 1]
    [record] = [json.loads(line) for line in out.read_text().splitlines()]
    text = json.dumps(record)
    assert "48213" in text and "jo.bloggs@mail.com" not in text  # redaction on by default
    assert "Exported 1 records" in dialog.message.text()

    dialog.format.setCurrentIndex(1)  # CSV, and the file name follows
    assert dialog.path.text().endswith("logs.csv")
    dialog.redact.setChecked(False)
    with qtbot.waitSignal(dialog.exported, timeout=30_000):
        dialog.export_button.click()
    assert "jo.bloggs@mail.com" in (tmp_path / "out" / "logs.csv").read_text()


def test_a_long_export_shows_progress_and_can_be_cancelled(qtbot, make_window, home, tmp_path):
    rows = 30_000
    with Store.open(home) as store:  # a big log, written the fast way
        session = store.new_session()
        store.add_turns_bulk(
            (session, Turn(text=f"where is order {n}", role="customer"),
             Reply(intent="track_order", confidence=0.9, level="High",
                   top=[("track_order", 0.9)], draft=f"Order {n} is on its way."))
            for n in range(rows)
        )
    window = make_window(start=False)
    dialog = ExportDialog(window.store, tmp_path, None, window)
    out = tmp_path / "big.jsonl"
    dialog.path.setText(str(out))
    # the agent presses Cancel as soon as the progress bar shows the real total
    dialog.progress.valueChanged.connect(
        lambda _value: dialog.cancel_button.click()
        if dialog.running and dialog.progress.maximum() == rows else None
    )
    dialog.start()
    assert dialog.running and dialog.cancel_button.text() == "Cancel"
    qtbot.waitUntil(lambda: not dialog.running, timeout=60_000)
    assert dialog.message.text() == "Export cancelled."
    assert not out.exists() and not (tmp_path / "big.jsonl.part").exists()
    assert dialog.export_button.isEnabled()  # and it can be run again
