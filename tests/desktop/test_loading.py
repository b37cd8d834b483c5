"""The window stays responsive while models load and when a very long message is sent:
a typed turn is answered before Whisper and the screenshot models load (they come after it), a
20,000-character paste shows its start in the conversation (the whole is stored and one click
away), and an order number repeated through it is one chip, not hundreds."""

from __future__ import annotations

import gc
import importlib.machinery
import logging
import threading

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QLabel, QPushButton, QToolButton

from desktop.engine_worker import EngineWorker
from desktop.native_preload import Native, preload
from desktop.stall_probe import where_threads_are
from desktop.widgets.long_text import SHOWN_CHARS
from desktop.widgets.suggestion_panel import MAX_CHIPS
from tests.desktop.drive import press, session_turns, type_and_send

LONG_LINES = [
    "my order 48213 came with the box open and the jacket torn at the sleeve.",
    "I wrote to you twice already, the tracking page still says delivered in full.",
    "please refund it to the card ending 4242, I do not want a replacement.",
]


def long_message(chars: int = 20_000) -> str:
    text, n = "", 0
    while len(text) < chars:
        text += f"{LONG_LINES[n % len(LONG_LINES)]} (part {n}) "
        n += 1
    return text[:chars].rstrip()


def test_a_typed_turn_comes_first_then_whisper_and_screenshot_models_load(
    qtbot, make_window, home
):
    gate = threading.Event()  # the text model "loading" while the agent types
    window = make_window(gate=gate, preload=True)
    events: list[str] = []
    window.reply_shown.connect(lambda _r: events.append("reply"))
    window.speech.status.connect(lambda s: events.append("speech: " + s))
    window.preload.worker.status.connect(lambda s: events.append("screenshots: " + s))
    type_and_send(qtbot, window, "where is my parcel? order 48213")
    gate.set()
    with qtbot.waitSignal(window.preload.finished, timeout=240_000):
        pass
    assert events[0] == "reply", events  # nothing else loaded before the typed turn's answer
    assert window.speech.is_ready or window.speech.load_error is None
    qtbot.waitUntil(lambda: window.speech.is_ready, timeout=120_000)
    assert window.preload.done and window.preload.worker.load_error is None
    assert [t["role"] for t in session_turns(home, window.session_id)] == ["customer"]


def test_a_20k_character_paste_shows_its_start_and_the_whole_on_request(
    qtbot, make_window, home
):
    window = make_window()
    text = long_message()
    QGuiApplication.clipboard().setText(text)
    press(qtbot, window.composer.edit, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    shown: list[int] = []
    window.session_shown.connect(shown.append)
    with qtbot.waitSignal(window.reply_shown, timeout=120_000) as answered:
        qtbot.keyClick(window.composer.edit, Qt.Key.Key_Return)
    # the stored turn drawn, and nothing more queued that would draw the session again
    qtbot.waitUntil(lambda: bool(shown) and not (window.store.pending or window.engine.pending),
                    timeout=10_000)
    [turn] = session_turns(home, window.session_id)
    assert turn["text"] == text  # all of it stored

    def bubble_label() -> QLabel | None:
        labels = window.chat.findChildren(QLabel, "turn-text")
        return labels[0] if len(labels) == 1 else None

    qtbot.waitUntil(lambda: bubble_label() is not None, timeout=10_000)
    start = bubble_label().text()
    assert text.startswith(start.removesuffix(" …")) and len(start) <= SHOWN_CHARS + 2
    def shown_buttons() -> list[QToolButton]:
        return [b for b in window.chat.findChildren(QToolButton, "show-all") if b.isVisible()]

    # a widget added to a shown layout is shown at the next turn of the event loop
    qtbot.waitUntil(lambda: len(shown_buttons()) == 1, timeout=5_000)
    [more] = shown_buttons()
    assert more.text() == f"Show all {len(text):,} characters"
    window.chat.ensureWidgetVisible(more)  # the agent scrolls to it
    qtbot.waitUntil(lambda: not more.visibleRegion().isEmpty(), timeout=5_000)
    qtbot.mouseClick(more, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bubble_label() is not None and bubble_label().text() == text,
                    timeout=10_000)

    reply = answered.args[0]
    assert len(reply.entities) > MAX_CHIPS  # the order number and card, again and again
    chips = [c.text() for c in window.suggestion.findChildren(QPushButton, "entity-chip")]
    assert 0 < len(chips) <= MAX_CHIPS and len(chips) == len(set(chips))
    assert any("48213" in chip for chip in chips)


def test_no_collection_pauses_while_workers_load_and_collection_is_back_after(qtbot):
    """Two workers loading at once (one fails): no automatic collection during either load
    (each full one walked the loading models holding the GIL, up to 823 ms), on afterwards."""
    during: list[bool] = []
    both_started = threading.Barrier(2, timeout=30)

    def model() -> str:
        both_started.wait()
        during.append(gc.isenabled())
        return "model"

    def broken() -> str:
        both_started.wait()
        during.append(gc.isenabled())
        raise OSError("no such model folder")

    workers = [EngineWorker("model", model), EngineWorker("broken", broken)]
    with qtbot.waitSignals([workers[0].ready, workers[1].error], timeout=30_000):
        for worker in workers:
            worker.start()
    for worker in workers:
        worker.stop()
    assert during == [False, False] and gc.isenabled()


def test_a_preload_that_cannot_load_leaves_the_import_to_do_it(tmp_path, monkeypatch, caplog):
    """Another layout or a broken file: nothing is preloaded, nothing raises, one log line."""
    package = tmp_path / "fakenative"
    package.mkdir()
    (package / "__init__.py").write_text("")
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    (package / f"_core{suffix}").write_text("not a shared object")
    monkeypatch.syspath_prepend(str(tmp_path))
    with caplog.at_level(logging.INFO, logger="frontdesk.desktop"):
        assert preload(Native("fakenative", "_core")) == []
        assert preload(Native("fakenative", "_missing"), Native("no_such_package_here", "_C")) == []
    [record] = [r for r in caplog.records if "could not preload" in r.getMessage()]
    assert f"_core{suffix}" in record.getMessage()


def test_a_stall_report_says_where_the_loading_threads_were():
    """What bench/gui.py prints for the longest loading stall: each other thread's innermost
    frames, by the thread's name."""
    started, release = threading.Event(), threading.Event()

    def load_the_model() -> None:
        started.set()
        release.wait(30)

    worker = threading.Thread(target=load_the_model, name="frontdesk-assistant")
    worker.start()
    started.wait(30)
    try:
        where = where_threads_are()
    finally:
        release.set()
        worker.join()
    assert any("load_the_model" in frame for frame in where["frontdesk-assistant"])
    assert threading.current_thread().name not in where
