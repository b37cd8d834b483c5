"""The composer's text box: Enter sends, Shift+Enter adds a line; pasted or dropped images and
files become attachments (not file:// text); pastes longer than a message can hold are refused
in one sentence, leaving the typed text as it was."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtGui import QImage, QKeyEvent
from PySide6.QtWidgets import QPlainTextEdit

MAX_TEXT_CHARS = 20_000


class MessageEdit(QPlainTextEdit):
    """The text box: Enter sends, pasted images become attachments, huge pastes are refused."""

    send = Signal()
    image_pasted = Signal(QImage)
    files_dropped = Signal(list)
    refused = Signal(str)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt name)
        enter = event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        if enter and not event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self.send.emit()
            return
        super().keyPressEvent(event)

    def _is_files(self, source: QMimeData) -> bool:
        return source.hasUrls() and all(url.isLocalFile() for url in source.urls())

    def dragEnterEvent(self, event) -> None:  # noqa: N802
        if self._is_files(event.mimeData()) or event.mimeData().hasImage():
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event) -> None:  # noqa: N802
        if self._is_files(event.mimeData()) or event.mimeData().hasImage():
            event.acceptProposedAction()
        else:
            super().dragMoveEvent(event)

    def dropEvent(self, event) -> None:  # noqa: N802
        """Files and images dropped on the text become attachments, not file:// text."""
        source = event.mimeData()
        if self._is_files(source) or source.hasImage():
            self.insertFromMimeData(source)
            event.acceptProposedAction()
        else:
            super().dropEvent(event)

    def canInsertFromMimeData(self, source: QMimeData) -> bool:  # noqa: N802
        return source.hasImage() or source.hasUrls() or super().canInsertFromMimeData(source)

    def insertFromMimeData(self, source: QMimeData) -> None:  # noqa: N802
        if source.hasImage():
            image = QImage(source.imageData())
            if image.isNull():
                self.refused.emit("The clipboard holds an image Frontdesk cannot read.")
            else:
                self.image_pasted.emit(image)
            return
        if source.hasUrls() and all(url.isLocalFile() for url in source.urls()):
            self.files_dropped.emit([Path(url.toLocalFile()) for url in source.urls()])
            return
        text = source.text()
        room = MAX_TEXT_CHARS - len(self.toPlainText())
        if len(text) > room:
            self.refused.emit(
                f"That paste is {len(text):,} characters; a message holds up to "
                f"{MAX_TEXT_CHARS:,}, so it was not pasted."
            )
            return
        super().insertFromMimeData(source)
