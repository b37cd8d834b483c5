"""`frontdesk` command line: a thin layer over engine functions (tests call the same ones).

The installed `frontdesk` script is `desktop.cli.main`: it hands this parser the window as
`open_window`, so that run bare it opens the window while the engine never imports it. Run
here without a command (`python -m engine`), it prints the usage. Each subcommand lives in a
small module with a `register(sub)` that adds its parser; heavy imports happen inside the
handlers so `--help` stays instant.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Callable

from engine.errors import FrontdeskError

# Modules that add subcommands; each has register(subparsers) -> None.
COMMAND_MODULES = (
    "engine.cli.store_cmds",
    "engine.cli.intent_cmds",
    "engine.cli.speech_cmds",
    "engine.cli.ask_cmd",
    "engine.cli.models_cmds",
)

log = logging.getLogger("frontdesk")


def package_version() -> str:
    """The installed package's version (pyproject's); engine.__version__ where no package
    metadata came along."""
    from importlib import metadata

    try:
        return metadata.version("frontdesk")
    except metadata.PackageNotFoundError:
        from engine import __version__

        return __version__


def build_parser() -> argparse.ArgumentParser:
    """The full parser, with every subcommand that is installed."""
    parser = argparse.ArgumentParser(
        prog="frontdesk",
        description="Frontdesk: a copilot for customer-service agents. "
        "No command opens the window.",
    )
    parser.add_argument(
        "--home", help="data folder (default: $FRONTDESK_HOME or the user data dir)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    parser.add_argument("--version", action="version", version=f"frontdesk {package_version()}")
    parser.add_argument(
        "--check", action="store_true",
        help="open the window, close it as soon as it is on screen, exit 0 (an install check)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as err:  # a part not built yet must not break the rest
            if err.name != name:
                raise
            continue
        module.register(sub)
    return parser


def main(
    argv: list[str] | None = None,
    open_window: Callable[[argparse.Namespace], int] | None = None,
) -> int:
    """Run one command; returns the exit code. `open_window` is what no command does (the
    desktop passes the window; without it the usage is printed)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        if args.command is None:
            if open_window is None:
                parser.print_usage(sys.stderr)
                print("frontdesk: no command given; the window opens with the `frontdesk` "
                      "script or `python -m desktop`", file=sys.stderr)
                return 2
            return open_window(args)
        return int(args.func(args) or 0)
    except FrontdeskError as err:
        log.debug("command failed", exc_info=True)
        print(f"frontdesk: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("frontdesk: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
