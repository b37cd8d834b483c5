"""`frontdesk` with no arguments: the window, visible at once; models load behind it.

Nothing heavy is imported here (no torch, transformers or whisper): the engine thread imports
them after the window is on screen, which is what keeps cold start fast.
"""

from __future__ import annotations

import logging
import os
import sys
from logging.handlers import RotatingFileHandler
from pathlib import Path

from desktop.settings import DesktopSettings
from engine import paths


def setup_logging(home: Path) -> Path:
    """Details go to a rotating log file in the data folder (Help > Show logs)."""
    folder = home / "logs"
    log_file = folder / "frontdesk.log"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = RotatingFileHandler(log_file, maxBytes=2_000_000,
                                                       backupCount=2, encoding="utf-8")
    except OSError:  # a read-only data folder must not stop the window
        handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for existing in root.handlers:  # the console keeps the level it was given (-v or not)
        if existing.level == logging.NOTSET:
            existing.setLevel(root.level)
    handler.setLevel(logging.INFO)
    root.addHandler(handler)
    root.setLevel(min(root.level or logging.INFO, logging.INFO))
    return log_file


def close_once_shown(window, timeout_s: float = 60.0) -> None:
    """`frontdesk --check`: close the window as soon as the display shows it (the platform
    plugin loaded and the server exposed the window), saying so on stdout; exit code 1 if it
    never shows. What an install or a bundle is checked with, on a real X server or Xvfb."""
    from PySide6.QtCore import QElapsedTimer, QTimer
    from PySide6.QtWidgets import QApplication

    clock = QElapsedTimer()
    clock.start()
    poll = QTimer(window)

    def look() -> None:
        handle = window.windowHandle()
        if handle is not None and handle.isExposed():
            poll.stop()
            print(f"frontdesk: window shown on {QApplication.platformName()}", flush=True)
            window.close()
        elif clock.elapsed() > timeout_s * 1000:
            poll.stop()
            print("frontdesk: the window was never shown", file=sys.stderr, flush=True)
            QApplication.exit(1)

    poll.timeout.connect(look)
    poll.start(10)


def main(home: str | Path | None = None, argv: list[str] | None = None,
         check: bool = False) -> int:
    """Open the window and run until it closes (`check`: until it is shown); the exit code."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from desktop.main_window import MainWindow

    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationName("Frontdesk")
    data = paths.home(home)
    if home is None and not os.environ.get("FRONTDESK_HOME"):
        moved = DesktopSettings.load(data).data_dir  # Settings > Data folder
        if moved:
            data = paths.home(moved)
    setup_logging(data)
    window = MainWindow(data)
    window.show()
    QTimer.singleShot(0, window.start)
    if check:
        close_once_shown(window)
    return int(app.exec())


if __name__ == "__main__":
    sys.exit(main())
