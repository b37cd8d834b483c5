"""The `frontdesk` command lives above engine and desktop: the engine's CLI never imports the
window, and the script opens the window only because the desktop hands it over (the window
itself opening through `python -m desktop --check` is tests/desktop/test_xcb.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from desktop.cli import main as frontdesk
from engine.cli import main as engine_cli


def test_the_engine_cli_imports_no_window_and_no_qt() -> None:
    probe = ("import sys, engine.cli; engine.cli.build_parser(); "
             "print(sorted(m for m in sys.modules if m.split('.')[0] in ('desktop', 'PySide6')))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]"


def test_the_engine_cli_without_a_command_says_where_the_window_is(capsys) -> None:
    assert engine_cli([]) == 2
    err = capsys.readouterr().err
    assert "usage: frontdesk" in err and "python -m desktop" in err


def test_the_script_runs_the_engine_commands(capsys) -> None:
    with pytest.raises(SystemExit) as done:
        frontdesk(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.startswith("frontdesk ")

