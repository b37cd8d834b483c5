"""Store benchmark: insert N turns with replies, export them, search them.

Inserts are compared with raw `sqlite3` writing the same rows (same Turn/Reply objects turned
into the same tuples) into the same schema (FTS triggers included) with `executemany` in one
transaction, in the same run. Goals: inserts within 1.5x of raw, export of 100k turns < 2 s.

    python -m bench.store [--turns 100000] [--per-session 10]
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from engine.errors import StoreError
from engine.exchange.merge import import_records
from engine.exchange.records import export_records
from engine.store.database import OPEN_CHECK_WAIT_S, WRITE_BATCH, Store, now_iso
from engine.store.schema import apply_migrations
from engine.types import Evidence, Reply, Turn, TurnEvidence

INTENTS = ["refund", "track_order", "cancel_order", "change_address", "payment_issue",
           "delivery_delay", "account_locked", "invoice_request", "complaint", "out_of_scope"]
PHRASES = [
    "I ordered a {item} last week and it still has not arrived, order {num}.",
    "Can you refund the {item}? It came broken and the box was wet.",
    "My card was charged twice for order {num}, please check.",
    "How do I change the delivery address for my {item}?",
    "I can't log in, it says my account is locked after {num} tries.",
    "Please send the invoice for order {num} to billing{num}@example.com.",
    "The {item} is the wrong size, I want to swap it for a bigger one.",
    "Where is my parcel? Tracking says it left the depot on Monday.",
    "Call me back on +1 415 555 {num4} about the {item}, thanks.",
]
ITEMS = ["jacket", "kettle", "laptop stand", "blue sneakers", "phone case", "desk lamp"]
# Knowledge-base drafts with their slots filled, as the assistant writes them.
DRAFTS = {
    intent: f"About your {intent.replace('_', ' ')} (order {{num}}): here is what happens next, "
    "and you will get an e-mail from us as soon as it is done."
    for intent in INTENTS
}
AGENT = ["Sorry about that, let me check.", "I have refunded the order.", "Thanks for waiting."]


def make_rows(turns: int, per_session: int, seed: int = 7) -> list[tuple[int, Turn, Reply]]:
    """(session index, turn, reply) triples: alternating customer/agent turns, each with the
    copilot's reply (the worst case for export: one record per turn). One customer line in
    nine holds a phone number and one an e-mail address, for redaction to find."""
    rng = random.Random(seed)
    rows = []
    for index in range(turns):
        session = index // per_session
        if index % 2 == 0:
            text = rng.choice(PHRASES).format(
                item=rng.choice(ITEMS), num=rng.randint(10000, 99999), num4=rng.randint(1000, 9999)
            )
            turn = Turn(text=text, role="customer")
        else:
            turn = Turn(text=rng.choice(AGENT), role="agent")
        scores = sorted(((name, rng.random()) for name in rng.sample(INTENTS, 3)),
                        key=lambda pair: -pair[1])
        reply = Reply(intent=scores[0][0], confidence=scores[0][1], level="Medium", top=scores,
                      draft=DRAFTS[scores[0][0]].format(num=rng.randint(10000, 99999)),
                      source="kb/" + scores[0][0],
                      evidence=Evidence([TurnEvidence(None, turn.role, "message")]),
                      model_version="bench-1", latency_ms=12.5)
        rows.append((session, turn, reply))
    return rows


class Timer:
    """Wall and CPU seconds of a block: this machine is shared, so CPU time is the steadier
    figure and both are printed."""

    def __enter__(self) -> Timer:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu

    @staticmethod
    def best(timers: list[Timer]) -> Timer:
        """The fastest wall and the fastest CPU time of several runs."""
        best = Timer()
        best.wall, best.cpu = min(t.wall for t in timers), min(t.cpu for t in timers)
        return best

    def __str__(self) -> str:
        return f"{self.wall:.2f} s wall / {self.cpu:.2f} s cpu"


def raw_insert(path: Path, rows: list[tuple[int, Turn, Reply]], sessions: int) -> Timer:
    """Seconds raw sqlite3 takes to write the same turns and replies (sessions made first)."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")  # as the Store runs
    apply_migrations(conn)
    stamp = now_iso()
    conn.executemany("INSERT INTO sessions (id, started) VALUES (?, ?)",
                     [(i + 1, stamp) for i in range(sessions)])
    conn.commit()
    timer = Timer().__enter__()
    turn_rows, reply_rows = [], []
    seq = 0
    for index, (session, turn, reply) in enumerate(rows, 1):
        seq = 1 if index == 1 or rows[index - 2][0] != session else seq + 1
        stamp = now_iso()
        turn_rows.append((index, session + 1, seq, turn.role, turn.text, turn.source, stamp))
        reply_rows.append((index, index, reply.intent, reply.confidence, reply.level,
                           json.dumps([[n, s] for n, s in reply.top]), "[]", reply.draft,
                           reply.source, json.dumps(reply.evidence.to_dict()), reply.model_version,
                           reply.latency_ms, stamp))
    conn.executemany("INSERT INTO turns (id, session, seq, role, text, source, created) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?)", turn_rows)
    conn.executemany("INSERT INTO replies (id, turn, intent, confidence, level, top, entities, "
                     "draft, source, evidence, model_version, latency_ms, created) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", reply_rows)
    conn.commit()
    timer.__exit__()
    conn.close()
    return timer


def store_insert(path: Path, rows: list[tuple[int, Turn, Reply]], sessions: int) -> Timer:
    """Seconds the Store takes for the same rows through `add_turns_bulk`."""
    store = Store(path)
    with store.batch():
        ids = [store.new_session(agent="bench") for _ in range(sessions)]
    with Timer() as timer:
        store.add_turns_bulk((ids[session], turn, reply) for session, turn, reply in rows)
    store.close()
    return timer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.store")
    parser.add_argument("--turns", type=int, default=100_000)
    parser.add_argument("--per-session", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=2, help="insert runs of each kind")
    args = parser.parse_args(argv)
    n, per = args.turns, args.per_session
    sessions = -(-n // per)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        raws, ourses = [], []
        for attempt in range(args.repeat):  # alternated, best of each: the machine is shared
            raws.append(raw_insert(folder / f"raw{attempt}.db", make_rows(n, per), sessions))
            (folder / "store.db").unlink(missing_ok=True)
            ourses.append(store_insert(folder / "store.db", make_rows(n, per), sessions))
        raw, ours = Timer.best(raws), Timer.best(ourses)
        print(f"insert {n} turns + {n} replies (best of {args.repeat}):\n"
              f"  raw sqlite3 executemany {raw} "
              f"({n / raw.wall:,.0f} turns/s)\n  Store.add_turns_bulk     {ours} "
              f"({n / ours.wall:,.0f} turns/s)\n  ratio {ours.wall / raw.wall:.2f}x wall, "
              f"{ours.cpu / raw.cpu:.2f}x cpu (goal <= 1.5x)")

        store = Store(folder / "store.db")
        interactive = 200
        session = store.new_session()
        start = time.perf_counter()
        for _, turn, reply in make_rows(interactive, interactive, seed=1):
            store.add_turn(session, turn)
            store.add_reply(turn.id, reply)
        per_turn = (time.perf_counter() - start) / interactive * 1000
        print(f"interactive add_turn + add_reply (each committed, WAL + synchronous=NORMAL): "
              f"{per_turn:.2f} ms per turn")
        checker = sqlite3.connect(folder / "store.db")
        with Timer() as took:
            checker.execute("PRAGMA quick_check").fetchall()
        checker.close()
        size = (folder / "store.db").stat().st_size / 1e6
        print(f"PRAGMA quick_check (what Store runs at open) of that {size:.0f} MB store: {took}; "
              f"open waits {OPEN_CHECK_WAIT_S * 1000:.0f} ms for it, then a first write waits")

        replies = store.count("replies")
        for label, name, kwargs in [
            ("jsonl, redacted", "redacted.jsonl", {}),
            ("jsonl, --no-redact", "plain.jsonl", {"redact": False}),
            ("csv, redacted", "redacted.csv", {"fmt": "csv"}),
        ]:
            out = folder / "export" / name
            with Timer() as took:
                written = export_records(store, out, **kwargs)
            print(f"export {label}: {written} records ({replies} replies) in {took} "
                  f"({written / took.wall:,.0f} records/s, {out.stat().st_size / 1e6:.0f} MB)"
                  + ("; goal < 2 s" if label == "jsonl, redacted" else ""))

        with Store(folder / "imported.db") as hub, Timer() as took:
            imported, _ = import_records(hub, [folder / "export" / "redacted.jsonl"])
        print(f"import of that export into an empty store: {imported} records in {took} "
              f"({imported / took.wall:,.0f} records/s)")
        waits, failed = desk_during_import(folder, folder / "export" / "redacted.jsonl")
        waits.sort()
        print(f"a desk writing a turn every 20 ms while another process imports that export: "
              f"{len(waits)} turns, lock wait p50 {waits[len(waits) // 2] * 1000:.0f} ms, "
              f"p95 {waits[int(len(waits) * 0.95)] * 1000:.0f} ms, max {waits[-1] * 1000:.0f} ms, "
              f"{failed} failed (batches of {WRITE_BATCH} records)")

        queries = ["refund", "broken box", "invoice billing", "locked account", "parcel depot",
                   "wrong size", "charged twice", "sneak", "nothing matches this xyzzy"]
        conn = sqlite3.connect(folder / "store.db")
        start = time.perf_counter()
        hits = sum(len(store.search(q, limit=50)) for q in queries)
        ours = (time.perf_counter() - start) / len(queries) * 1000
        start = time.perf_counter()
        for q in queries:
            conn.execute("SELECT rowid FROM turns_fts WHERE turns_fts MATCH ? ORDER BY rank "
                         "LIMIT 50", [store_fts(q)]).fetchall()
        raw = (time.perf_counter() - start) / len(queries) * 1000
        print(f"search over {replies} turns: {ours:.1f} ms per query ({hits} hits in "
              f"{len(queries)} queries), raw FTS5 MATCH {raw:.1f} ms; ratio {ours / raw:.2f}x")
        start = time.perf_counter()
        listed = store.sessions("refund")
        print(f"sessions('refund'): {len(listed)} sessions in "
              f"{(time.perf_counter() - start) * 1000:.1f} ms")
        conn.close()
        store.close()
    return 0


def desk_during_import(folder: Path, export: Path) -> tuple[list[float], int]:
    """Import `export` in a child process (`frontdesk import`) while this process writes a
    turn every 20 ms, as a desk does: how long each write took, and how many failed."""
    home = folder / "desk-during-import"
    home.mkdir()
    Store.open(home).close()
    importer = subprocess.Popen(
        [sys.executable, "-m", "engine", "--home", str(home), "import", str(export)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    waits, failed = [], 0
    with Store.open(home) as desk:
        session = desk.new_session()
        while importer.poll() is None:
            started = time.perf_counter()
            try:
                desk.add_turn(session, Turn(text="where is my parcel?"))
            except StoreError:
                failed += 1
            waits.append(time.perf_counter() - started)
            time.sleep(0.02)
    if importer.returncode != 0:
        raise SystemExit(f"the import failed: {importer.stderr.read().decode()}")
    return waits or [0.0], failed


def store_fts(query: str) -> str:
    """The same MATCH expression the store builds (so raw and ours run the same search)."""
    from engine.store.database import fts_query

    return fts_query(query)


if __name__ == "__main__":
    raise SystemExit(main())
