"""The real app on a real X server: Qt's xcb platform plugin loads (its libraries are what
packaging/system-deps.sh installs), the window is mapped and exposed, and the app exits cleanly.

Xvfb stands in for the desktop's X server (CI has no display). Every other window test runs
offscreen, which needs none of the xcb libraries: only this one catches a missing one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

XVFB_RUN = shutil.which("xvfb-run")


def _need_xvfb() -> None:
    if XVFB_RUN and shutil.which("xauth"):
        return
    reason = "Xvfb is not installed: `sudo bash packaging/system-deps.sh` installs it"
    if os.environ.get("CI"):
        pytest.fail(reason)  # CI runs as root, so system-deps.sh has installed it
    pytest.skip(reason)


def test_the_window_opens_on_x11_and_the_app_exits_cleanly(tmp_path: Path) -> None:
    _need_xvfb()
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb", "FRONTDESK_HOME": str(tmp_path / "home")}
    env.pop("WAYLAND_DISPLAY", None)
    done = subprocess.run(
        [XVFB_RUN, "-a", "-s", "-screen 0 1440x900x24",
         sys.executable, "-m", "desktop", "--check"],
        env=env, capture_output=True, text=True, timeout=180,
    )
    said = done.stdout + done.stderr
    assert "Could not load the Qt platform plugin" not in said, said
    assert "QThread: Destroyed" not in said, said  # closing while the store opened aborted
    assert done.returncode == 0, said
    assert "frontdesk: window shown on xcb" in done.stdout, said
    assert (tmp_path / "home" / "frontdesk.db").exists()  # the real app's store, not a stub


def test_the_check_fails_without_a_display(tmp_path: Path) -> None:
    """No X server at all: the plugin cannot connect, and --check says so by its exit code."""
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb", "DISPLAY": ":93",
           "FRONTDESK_HOME": str(tmp_path / "home")}
    env.pop("WAYLAND_DISPLAY", None)
    done = subprocess.run([sys.executable, "-m", "desktop", "--check"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "window shown" not in done.stdout
