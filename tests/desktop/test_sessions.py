"""The window leaves no empty session behind when a new conversation's first turn is refused."""

from __future__ import annotations

from engine.store.database import Store


def test_a_refused_first_turn_leaves_no_empty_session(qtbot, make_window, home, tmp_path):
    window = make_window()
    qtbot.waitUntil(lambda: window.engine.is_ready, timeout=60_000)
    assert window.session_id is None
    fake = tmp_path / "receipt.png"
    fake.write_bytes(b"%PDF-1.4\n% a PDF saved under an image name\n")
    window.composer.add_files([fake])
    window.composer.set_text("why was I charged twice")
    with qtbot.waitSignal(window.message_shown, timeout=30_000) as said:
        window.composer.submit()
    assert "receipt.png" in said.args[0]
    assert window.session_id is None
    qtbot.waitUntil(lambda: _sessions(home) == 0, timeout=10_000)  # the one made for it went
    qtbot.waitUntil(lambda: window.sessions.ids() == [], timeout=10_000)
    assert window.composer.text() == "why was I charged twice"  # given back to the agent
    assert window.composer.images == [fake]

    window.composer.clear_sent()
    window.composer.set_text("why was I charged twice on order 48213")
    with qtbot.waitSignal(window.reply_shown, timeout=60_000):
        window.composer.submit()
    qtbot.waitUntil(lambda: len(window.sessions.ids()) == 1, timeout=10_000)
    with Store.open(home) as store:
        (session,) = store.sessions()
        assert session["turn_count"] == 1 and session["id"] == window.session_id


def _sessions(home) -> int:
    with Store.open(home) as store:
        return store.count("sessions")
