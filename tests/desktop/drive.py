"""Driving the real window as an agent does: key presses, clicks, dropped files; reading the
store it wrote. Shared by the desktop scenario tests (not a fixture module: plain helpers)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QApplication

from engine.store.database import Store

DATA = Path(__file__).parent.parent / "data"
VOICE_CLIP = DATA / "audio" / "refund_order.wav"  # "... charged twice for order 48213 ..."


def drop_files(widget: Any, paths: list[Path]) -> None:
    """A real drop event handed to the widget's handler (QApplication only routes drops that
    come with a drag in progress, which offscreen tests cannot start)."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    event = QDropEvent(QPointF(20, 20), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    widget.dropEvent(event)


def wait_until(condition: Callable[[], object], timeout_s: float) -> bool:
    """Run the event loop until `condition` holds or `timeout_s` passes; whether it holds. For
    the scripts that drive a window in a fresh interpreter, where there is no qtbot."""
    from PySide6.QtCore import QEventLoop

    deadline = time.monotonic() + timeout_s
    while not condition() and time.monotonic() < deadline:
        QApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
        time.sleep(0.005)
    return bool(condition())


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


def context_menu_choose(qtbot: Any, widget: Any, entry: str, pos: Any = None) -> list[str]:
    """Right-click `widget` (a real QContextMenuEvent, as the platform sends for a right
    click), then pick `entry` in the menu with the arrow keys and Enter; returns the entries
    the menu offered."""
    from PySide6.QtCore import QPoint, QTimer
    from PySide6.QtGui import QContextMenuEvent

    pos = pos or QPoint(10, 10)
    offered: list[str] = []

    def pick() -> None:
        from PySide6.QtWidgets import QMenu

        menus = [w for w in QApplication.topLevelWidgets() if isinstance(w, QMenu)
                 and w.isVisible()]
        menu = menus[0] if menus else None
        if menu is None:
            QTimer.singleShot(50, pick)
            return
        actions = [a for a in menu.actions() if not a.isSeparator()]
        offered.extend(a.text() for a in actions)
        for _ in actions:
            qtbot.keyClick(menu, Qt.Key.Key_Down)
            if menu.activeAction() is not None and menu.activeAction().text() == entry:
                qtbot.keyClick(menu, Qt.Key.Key_Return)
                return
        qtbot.keyClick(menu, Qt.Key.Key_Escape)

    QTimer.singleShot(50, pick)
    event = QContextMenuEvent(QContextMenuEvent.Reason.Mouse, pos, widget.mapToGlobal(pos))
    QApplication.sendEvent(widget, event)
    return offered
