"""Help > About (versions, device in use) and Help > Show logs.

Versions come from package metadata, so opening About never imports torch on the UI thread.
"""

from __future__ import annotations

import platform
from importlib import metadata
from pathlib import Path

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import qVersion
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QPlainTextEdit, QVBoxLayout

PACKAGES = ("frontdesk", "torch", "transformers", "faster-whisper", "rapidocr", "torch-geometric")
LOG_TAIL_BYTES = 200_000


def versions() -> dict[str, str]:
    """Installed versions of what Frontdesk runs on (without importing any of it)."""
    found = {"Python": platform.python_version(), "Qt": qVersion(), "PySide6": pyside_version}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


class AboutDialog(QDialog):
    def __init__(self, device: str, home: Path, parent=None, longest_stall_ms: float = 0.0):
        super().__init__(parent)
        self.setWindowTitle("About Frontdesk")
        rows = "".join(f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in versions().items())
        text = QLabel(
            "<h3>Frontdesk</h3><p>An offline copilot for customer-service agents.</p>"
            f"<table>{rows}<tr><td>Device in use</td><td>{device}</td></tr>"
            f"<tr><td>Data folder</td><td>{home}</td></tr>"
            f"<tr><td>Longest UI freeze</td><td>{longest_stall_ms:.0f} ms</td></tr></table>"
        )
        text.setObjectName("about-text")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addWidget(buttons)


class LogDialog(QDialog):
    """The end of the app's log file, read-only (details that errors in the window leave out)."""

    def __init__(self, log_file: Path, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Frontdesk log")
        self.resize(800, 500)
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        try:
            with open(log_file, "rb") as handle:
                handle.seek(0, 2)
                handle.seek(max(0, handle.tell() - LOG_TAIL_BYTES))
                self.text.setPlainText(handle.read().decode("utf-8", "replace"))
        except OSError as err:
            self.text.setPlainText(f"No log could be read from {log_file}: {err.strerror or err}.")
        self.text.moveCursor(self.text.textCursor().MoveOperation.End)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(buttons)
