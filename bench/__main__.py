"""Run every benchmark module in this package, or the ones named on the command line."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def available() -> list[str]:
    """Names of the benchmark modules beside this file."""
    folder = str(Path(__file__).resolve().parent)
    return sorted(m.name for m in pkgutil.iter_modules([folder]) if not m.name.startswith("_"))


def main(argv: list[str]) -> int:
    """`python -m bench [NAME ...] [--option value ...]`: options go to each benchmark."""
    split = next((i for i, arg in enumerate(argv) if arg.startswith("-")), len(argv))
    names, extra = argv[:split] or available(), argv[split:]
    unknown = sorted(set(names) - set(available()))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; have: {', '.join(available())}")
        return 2
    status = 0
    for name in names:
        print(f"== bench.{name}")
        module = importlib.import_module(f"bench.{name}")
        status = max(status, int(module.main(extra) or 0))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
