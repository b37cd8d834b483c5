"""The `frontdesk` command: the window when run bare, otherwise the engine's headless commands.

It lives above both packages so that `engine/` never imports the window: the engine's parser
is handed the window as what no command does.
"""

from __future__ import annotations

import argparse
import sys


def open_window(args: argparse.Namespace) -> int:
    """No command: the window on the chosen data folder (`--check` closes it once shown)."""
    from desktop.app import main as run_app

    return run_app(home=args.home, check=args.check)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `frontdesk` script; returns the exit code."""
    from engine.cli import main as run_command

    return run_command(argv, open_window=open_window)


if __name__ == "__main__":
    sys.exit(main())
