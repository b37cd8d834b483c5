"""Driving the real window as an agent does: key presses, clicks, dropped files; reading the
store it wrote. Shared by the desktop scenario tests (not a fixture module: plain helpers)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QApplication

from engine.store import Store

DATA = Path(__file__).parent / "data"
VOICE_CLIP = DATA / "audio" / "refund_order.wav"  # "... charged twice for order 48213 ..."


def drop_files(widget: Any, paths: list[Path]) -> None:
    """A real drop event handed to the widget's handler (QApplication only routes drops that
    come with a drag in progress, which offscreen tests cannot start)."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    event = QDropEvent(QPointF(20, 20), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    widget.dropEvent(event)


def focus(qtbot: Any, widget: Any) -> None:
    """Give the widget keyboard focus in an active window, so shortcuts reach the window."""
    window = widget.window()
    window.activateWindow()
    widget.setFocus()
    # a combo box's line edit: the combo itself holds the focus and passes the keys on
    holders = (widget, widget.parentWidget())
    qtbot.waitUntil(lambda: QApplication.focusWidget() in holders, timeout=5_000)


def press(qtbot: Any, widget: Any, key: Qt.Key, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    focus(qtbot, widget)
    qtbot.keyClick(widget, key, modifier)


def type_text(qtbot: Any, widget: Any, text: str) -> None:
    focus(qtbot, widget)
    qtbot.keyClicks(widget, text)


def type_and_send(qtbot: Any, window: Any, text: str) -> None:
    type_text(qtbot, window.composer.edit, text)
    qtbot.keyClick(window.composer.edit, Qt.Key.Key_Return)


def new_session_by_keys(qtbot: Any, window: Any) -> int:
    """Ctrl+N from the composer; returns the new session's id once the window shows it."""
    before = window.session_id
    press(qtbot, window.composer.edit, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.session_id not in (None, before), timeout=10_000)
    return window.session_id


def session_turns(home: Path, session_id: int) -> list[dict]:
    with Store.open(home) as store:
        return store.turns(session_id)


def click_session(qtbot: Any, window: Any, session_id: int) -> None:
    """Click a session in the left column, as the agent does."""
    sessions = window.sessions.list
    item = sessions.item(window.sessions.ids().index(session_id))
    qtbot.mouseClick(sessions.viewport(), Qt.MouseButton.LeftButton,
                     pos=sessions.visualItemRect(item).center())
