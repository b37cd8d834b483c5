"""The first launch's notice: where the data is kept, and that nothing leaves the machine.

Shown once per data folder: the first time a window opens on it, remembered in its settings
(`DesktopSettings.welcomed`) as soon as it is shown, so the next launch starts without it.
"""

from __future__ import annotations

import html
import logging
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from desktop.settings import DesktopSettings

log = logging.getLogger("frontdesk.desktop")


def notice_text(home: Path) -> str:
    """What the first launch says (rich text; the path stays selectable)."""
    return (
        "<b>Welcome to Frontdesk.</b> Sessions, recordings, screenshots, feedback and the "
        f"models you train are kept on this computer, in <code>{html.escape(str(home))}</code> "
        "(Settings can move it). Nothing leaves this machine: speech, screenshots and answers "
        "are worked out here, offline, and nothing is sent anywhere unless you export it."
    )


class FirstRunNotice(QWidget):
    """A dismissible strip above the conversation, visible on the first launch only."""

    def __init__(self, home: Path, settings: DesktopSettings) -> None:
        super().__init__()
        self.setObjectName("first-run")
        self.label = QLabel(notice_text(home))
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.dismiss = QPushButton("Got it")
        self.dismiss.clicked.connect(self.hide)
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 6, 8, 6)
        row.addWidget(self.label, 1)
        row.addWidget(self.dismiss)
        self.setStyleSheet("background:#e8f1fb; color:#0b3a66;")
        if settings.welcomed:
            self.hide()
            return
        settings.welcomed = "yes"
        try:
            home.mkdir(parents=True, exist_ok=True)
            settings.save(home)
        except OSError as err:  # a read-only folder: the notice comes back next time
            log.warning("could not remember the first launch: %s", err)
