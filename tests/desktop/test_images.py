"""Screenshots in the window: Ctrl+V from the clipboard, a dropped file, search by their text,
and the files the window must refuse (in one sentence, keeping what was typed)."""

from __future__ import annotations

import os

import pytest
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import QLabel

from engine.store.database import Store
from tests.desktop.drive import drop_files
from tests.screens import render_screenshot

pytestmark = pytest.mark.slow  # real OCR and intent models


def ocr_labels(window) -> list[str]:
    return [label.text() for label in window.chat.findChildren(QLabel, "ocr-text")]


def test_pasted_screenshot_is_read_and_answered(qtbot, make_window, home, tmp_path):
    shot = render_screenshot(tmp_path / "shot.png", [
        "Order #48213  -  Refund requested",
        "Your refund has not been processed yet",
    ])
    window = make_window()
    QGuiApplication.clipboard().setImage(QImage(str(shot)))
    window.paste()  # what Ctrl+V does in the window
    assert len(window.composer.images) == 1
    with qtbot.waitSignal(window.reply_shown, timeout=90_000) as shown:
        window.composer.submit()
    reply = shown.args[0]
    assert reply.intent and reply.turn_id is not None
    qtbot.waitUntil(lambda: any("Refund" in text for text in ocr_labels(window)), timeout=10_000)

    with Store.open(home) as store:
        turn = store.turns(window.session_id)[0]
    assert turn["source"] == "image"
    [attachment] = turn["attachments"]
    assert attachment["kind"] == "image" and "48213" in attachment["ocr_text"]
    assert "48213" in turn["text"]  # the screenshot was the message
    # "Why": the graph holds the turn and its screenshot, the screenshot pane shows the image
    qtbot.waitUntil(lambda: any(n.kind == "screenshot" for n in window.why.graph.nodes.values()),
                    timeout=10_000)
    # (the graph can show the turn before its reply is stored; the screenshot pane follows)
    qtbot.waitUntil(lambda: len(window.why.shot_scene.items()) >= 1, timeout=10_000)


def test_dropped_image_file_is_read_and_found_by_search(qtbot, make_window, shared_data):
    picture = shared_data / "screenshots" / "pytesseract" / "test.png"
    window = make_window()
    drop_files(window.composer.edit, [picture])
    assert window.composer.images == [picture]
    window.composer.set_text("the customer sent this, what does it mean?")
    with qtbot.waitSignal(window.reply_shown, timeout=90_000) as shown:
        window.composer.submit()
    assert shown.args[0].intent
    qtbot.waitUntil(lambda: any("brown" in text for text in ocr_labels(window)), timeout=10_000)
    first = window.session_id

    window.new_session()
    qtbot.waitUntil(lambda: window.session_id != first, timeout=10_000)
    with qtbot.waitSignal(window.reply_shown, timeout=60_000):
        window.composer.set_text("where is my parcel")
        window.composer.submit()
    qtbot.waitUntil(lambda: len(window.sessions.ids()) == 2, timeout=10_000)
    window.sessions.search.setText("quick brown")  # only on the screenshot, never typed
    qtbot.waitUntil(lambda: window.sessions.ids() == [first], timeout=10_000)


def test_a_30_mb_screenshot_and_a_pdf_are_refused_in_one_sentence(qtbot, make_window, tmp_path):
    huge = tmp_path / "huge.png"
    with open(huge, "wb") as handle:
        handle.write(b"\x89PNG\r\n\x1a\n" + os.urandom(30 * 1024 * 1024))
    pdf = tmp_path / "statement.pdf"
    pdf.write_bytes(b"%PDF-1.4\n1 0 obj <<>> endobj\n")
    window = make_window(start=False)
    window.composer.set_text("the customer says the charge is wrong")
    said = []
    window.message_shown.connect(said.append)
    drop_files(window.composer.edit, [huge, pdf])
    assert window.composer.images == []
    assert len(said) == 2
    assert "huge.png is 30.0 MB" in said[0] and said[0].count(". ") == 0
    assert "statement.pdf" in said[1] and "not added" in said[1]
    assert window.composer.text() == "the customer says the charge is wrong"
