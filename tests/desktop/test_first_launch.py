"""What a new user meets first: `frontdesk --version`, and the first launch's notice saying where
the data is kept and that nothing leaves the machine (once per data folder)."""

from __future__ import annotations

import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

import engine
from desktop.main_window import MainWindow
from desktop.settings import DesktopSettings

ROOT = Path(__file__).resolve().parents[2]  # the repository (tests/desktop/ is two below)


def test_version_is_the_packages_version() -> None:
    done = subprocess.run([sys.executable, "-m", "engine", "--version"],
                          capture_output=True, text=True, timeout=60)
    pyproject = (ROOT / "pyproject.toml").read_text()
    declared = re.search(r'^version = "([^"]+)"', pyproject, re.MULTILINE).group(1)
    assert done.returncode == 0
    assert done.stdout == f"frontdesk {declared}\n"
    assert metadata.version("frontdesk") == declared == engine.__version__


def _notice(window: MainWindow) -> QWidget:
    return window.findChild(QWidget, "first-run")


def test_first_launch_says_where_the_data_is_and_the_second_does_not(qtbot, tmp_path) -> None:
    home = tmp_path / "frontdesk-data"
    first = MainWindow(home)  # the real window; its workers are never started here
    qtbot.addWidget(first)
    first.show()
    notice = _notice(first)
    assert notice.isVisible()
    said = notice.findChild(QLabel).text()
    assert str(home) in said and "Nothing leaves this machine" in said
    qtbot.mouseClick(notice.dismiss, Qt.MouseButton.LeftButton)
    assert not notice.isVisible() and first.isVisible()
    first.close()

    again = MainWindow(home)
    qtbot.addWidget(again)
    again.show()
    assert not _notice(again).isVisible()
    again.close()


def test_saving_settings_keeps_the_notice_seen(qtbot, tmp_path) -> None:
    """Settings > OK rewrites the settings file: the first launch must stay remembered."""
    from desktop.dialogs.settings import SettingsDialog

    home = tmp_path / "data"
    window = MainWindow(home)
    qtbot.addWidget(window)
    SettingsDialog(window.settings, home, "cpu", parent=window).save()
    window.close()
    again = MainWindow(home)
    qtbot.addWidget(again)
    again.show()
    assert DesktopSettings.load(home).welcomed and not _notice(again).isVisible()
