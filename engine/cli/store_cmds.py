"""`frontdesk sessions | export | import`: thin wrappers over engine.store.database and
engine.exchange.records."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:
    """Add the store's subcommands."""
    sessions = sub.add_parser("sessions", help="list or search logged conversations")
    sessions.add_argument("query", nargs="?", help="words to find in turns or screenshot text")
    sessions.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    sessions.add_argument("--json", action="store_true", help="print JSON instead of a table")
    sessions.set_defaults(func=run_sessions)

    export = sub.add_parser("export", help="write replies and their conversations for training")
    export.add_argument("out", type=Path, help="OUT.jsonl (or OUT.csv); images go beside it")
    export.add_argument("--since", help="replies on or after this date/time (2025-01-31)")
    export.add_argument("--until", help="replies up to this date (inclusive) or time")
    export.add_argument("--session", type=int, action="append", dest="sessions",
                        metavar="ID", help="only this session (repeatable)")
    export.add_argument("--csv", action="store_true", help="flat CSV instead of JSONL")
    export.add_argument("--no-redact", action="store_true",
                        help="keep e-mails, phone, card and IBAN numbers, street addresses and "
                        "postcodes (redacted by default)")
    export.add_argument("--regions", metavar="CC,CC",
                        help="countries whose national phone formats are redacted (default: "
                        "$FRONTDESK_PHONE_REGIONS, else US, GB, IE and the EU/EEA)")
    export.set_defaults(func=run_export)

    imports = sub.add_parser("import", help="merge exports from other desks (no duplicates)")
    imports.add_argument("files", type=Path, nargs="+", metavar="FILE", help="JSONL exports")
    imports.set_defaults(func=run_import)


def _store(args: argparse.Namespace):
    from engine import paths
    from engine.store.database import Store

    return Store.open(paths.home(args.home))


def _progress_bar(label: str) -> tuple[Callable[[int, int], None], Callable[[], None]]:
    """A tqdm bar on stderr fed by (done, total) callbacks; hidden when stderr is no terminal."""
    from tqdm import tqdm

    state: dict[str, Any] = {}

    def update(done: int, total: int) -> None:
        if "bar" not in state:
            state["bar"] = tqdm(total=total, desc=label, unit="rec", file=sys.stderr,
                                disable=None, leave=False)
        bar = state["bar"]
        bar.update(done - bar.n)

    def close() -> None:
        if "bar" in state:
            state["bar"].close()

    return update, close


def run_sessions(args: argparse.Namespace) -> int:
    with _store(args) as store:
        found = store.sessions(args.query, limit=args.limit)
    if args.json:
        print(json.dumps(found, ensure_ascii=False, indent=1))
        return 0
    if not found:
        print("No sessions match." if args.query else "No sessions yet.")
        return 0
    for row in found:
        label = row["title"] or row["preview"] or ""
        label = label if len(label) <= 60 else label[:59] + "…"
        print(f"{row['id']:>6}  {row['started'][:16].replace('T', ' ')}  "
              f"{row['turn_count']:>4} turns  {label}")
    return 0


def run_export(args: argparse.Namespace) -> int:
    from engine.exchange.records import export_records

    fmt = "csv" if args.csv or args.out.suffix.lower() == ".csv" else "jsonl"
    update, close = _progress_bar("export")
    try:
        with _store(args) as store:
            written = export_records(
                store, args.out, since=args.since, until=args.until,
                session_ids=args.sessions, fmt=fmt, redact=not args.no_redact, regions=args.regions,
                progress=update,
            )
    finally:
        close()
    note = "" if not args.no_redact else " (not redacted)"
    print(f"Exported {written} records to {args.out}{note}.")
    return 0


def run_import(args: argparse.Namespace) -> int:
    from engine.exchange.merge import import_records

    update, close = _progress_bar("import")
    try:
        with _store(args) as store:
            imported, skipped = import_records(store, args.files, progress=update)
    finally:
        close()
    print(f"Imported {imported} records; skipped {skipped} already here.")
    return 0
