"""The left column: sessions newest first, a search box (turn text and screenshot text),
new/rename/delete (Delete key or right-click; the window offers Undo).

The widget never reads the store itself: it asks (`search_changed`, `new_requested`,
`rename_requested`) and the window answers with `show_sessions` from the store's thread.
"""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

SEARCH_DELAY_MS = 250  # wait for a pause in typing before searching


def session_label(session: dict) -> str:
    """Title (or a fallback) on the first line, date and channel on the second."""
    preview = " ".join((session.get("preview") or "").split())
    preview = preview if len(preview) <= 40 else preview[:39] + "…"
    title = session.get("title") or preview or f"Session {session.get('id')}"
    started = str(session.get("started") or "")
    try:
        when = datetime.fromisoformat(started.replace("Z", "+00:00")).strftime("%d %b %Y %H:%M")
    except ValueError:
        when = started[:16]
    extra = session.get("channel") or ""
    return f"{title}\n{when}  {extra}".rstrip()


class SessionList(QWidget):
    """Sessions list. Emits `selected(id)`, `search_changed(query)`, `new_requested()`,
    `rename_requested(id, title)`."""

    selected = Signal(int)
    search_changed = Signal(str)
    new_requested = Signal()
    rename_requested = Signal(int, str)
    delete_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search sessions (text and screenshots)")
        self.search.setClearButtonEnabled(True)
        self._debounce = QTimer(self, singleShot=True, interval=SEARCH_DELAY_MS)
        self._debounce.timeout.connect(lambda: self.search_changed.emit(self.query()))
        self.search.textChanged.connect(lambda _: self._debounce.start())

        self.new_button = QPushButton("New session")
        self.new_button.setToolTip("Start a new conversation (Ctrl+N)")
        self.new_button.clicked.connect(self.new_requested)

        self.list = QListWidget()
        self.list.setAlternatingRowColors(True)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.setEditTriggers(QListWidget.EditTrigger.EditKeyPressed)
        self.list.currentItemChanged.connect(self._on_current)
        self.list.itemChanged.connect(self._on_edited)
        self.list.itemDoubleClicked.connect(self.list.editItem)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._menu)
        delete = QShortcut(QKeySequence.StandardKey.Delete, self.list)
        delete.setContext(Qt.ShortcutContext.WidgetShortcut)
        delete.activated.connect(self._delete_current)
        self._filling = False

        top = QHBoxLayout()
        top.addWidget(self.new_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.search)
        layout.addWidget(self.list, 1)

    def query(self) -> str:
        return self.search.text().strip()

    def current_id(self) -> int | None:
        item = self.list.currentItem()
        return int(item.data(Qt.ItemDataRole.UserRole)) if item else None

    def ids(self) -> list[int]:
        return [
            int(self.list.item(i).data(Qt.ItemDataRole.UserRole)) for i in range(self.list.count())
        ]

    def show_sessions(self, sessions: list[dict], select: int | None = None) -> None:
        """Replace the list (newest first, as the store gives them) keeping or setting selection."""
        keep = select if select is not None else self.current_id()
        self._filling = True
        self.list.blockSignals(True)
        self.list.clear()
        chosen = None
        for session in sessions:
            item = QListWidgetItem(session_label(session))
            item.setData(Qt.ItemDataRole.UserRole, int(session["id"]))
            item.setData(Qt.ItemDataRole.UserRole + 1, session.get("title") or "")
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable)
            item.setToolTip("Double-click to rename")
            self.list.addItem(item)
            if int(session["id"]) == keep:
                chosen = item
        if chosen is not None:  # restoring the selection is not the agent choosing again
            self.list.setCurrentItem(chosen)
        self.list.blockSignals(False)
        self._filling = False
        if chosen is not None and select is not None:
            self.selected.emit(int(select))

    def _on_current(self, current: QListWidgetItem | None, _previous) -> None:
        if current is not None and not self._filling:
            self.selected.emit(int(current.data(Qt.ItemDataRole.UserRole)))

    def _delete_current(self) -> None:
        session_id = self.current_id()
        if session_id is not None:
            self.delete_requested.emit(session_id)

    def _menu(self, pos) -> None:
        item = self.list.itemAt(pos)
        if item is None:
            return
        session_id = int(item.data(Qt.ItemDataRole.UserRole))
        menu = QMenu(self)
        menu.addAction("Rename", lambda: self.list.editItem(item))
        menu.addAction("Delete session", lambda: self.delete_requested.emit(session_id))
        menu.exec(self.list.viewport().mapToGlobal(pos))

    def _on_edited(self, item: QListWidgetItem) -> None:
        if self._filling:
            return
        title = item.text().split("\n", 1)[0].strip()
        if title and title != item.data(Qt.ItemDataRole.UserRole + 1):
            self.rename_requested.emit(int(item.data(Qt.ItemDataRole.UserRole)), title)
