"""Import: exports of several desks merged into one store, nothing added twice.

Every export record carries its origin (`<desk_id>:<reply_id>`), kept in a UNIQUE column, so
importing the same file twice, or a file that came back through another desk, adds nothing
twice. All files are read and checked before anything is written, then written in batches
of a few hundred records, each its own transaction, so a big import never blocks a desk for long.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from engine.errors import InputError
from engine.exchange.format import CONTEXT_MESSAGES, check_record
from engine.exchange.records import Progress
from engine.store.database import Store, now_iso
from engine.store.media import image_meta


def import_records(
    store: Store, files: list[Path], progress: Progress | None = None
) -> tuple[int, int]:
    """Merge JSONL exports (of any desks) into the store; returns (imported, skipped as
    duplicates). All files are checked first, so a bad line changes nothing; then records are
    written in batches (Store.write_in_batches), so a desk can write while a big import runs.
    An import cut short can be run again: what it wrote is skipped as already here."""
    records = [record for file in files for record in _read_export(Path(file))]
    merge = _Merger(store)
    added = {True: 0, False: 0}

    def write(batch: Sequence[dict[str, Any]]) -> None:
        merge.begin()
        for record in batch:
            added[merge.add(record)] += 1
        merge.flush()

    store.write_in_batches(records, write, progress=progress)
    imported, skipped = added[True], added[False]
    if progress:
        progress(len(records), len(records))
    return imported, skipped


def _read_export(file: Path) -> Iterable[dict[str, Any]]:
    """Every record of one JSONL export, checked (engine.exchange.format), with image paths made
    absolute."""
    if file.suffix.lower() == ".csv":
        raise InputError(f"{file} is a CSV export; import reads the JSONL exports.")
    try:
        # split at "\n" alone: str.splitlines() also breaks at U+2028, U+0085..., which JSON
        # strings hold unescaped
        lines = file.read_text(encoding="utf-8").split("\n")
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"Cannot read {file}: {getattr(err, 'strerror', None) or err}.") from err
    records = []
    root = file.parent.resolve()
    for number, line in enumerate(lines, 1):
        if line.strip():
            try:
                records.append(check_record(json.loads(line), root))
            except RecursionError as err:
                raise InputError(f"Line {number} of {file} is nested too deeply to be a "
                                 "Frontdesk export record; nothing was imported.") from err
            except ValueError as err:  # RecordError and JSONDecodeError
                reason = "it is not valid JSON" if isinstance(err, json.JSONDecodeError) else err
                raise InputError(f"Line {number} of {file} cannot be imported: {reason}; "
                                 "nothing was imported.") from err
    return records


class _Merger:
    """Adds records to the store inside the caller's transaction, remembering origins.

    Ids are handed out here and rows go in with `executemany` at `flush()`, like
    Store.add_turns_bulk; the caller's write transaction keeps the ids free meanwhile.
    """

    def __init__(self, store: Store) -> None:
        self.store, self.conn = store, store.db.conn
        self.replies = {o for (o,) in self.conn.execute(
            "SELECT origin FROM replies WHERE origin IS NOT NULL")}
        self.sessions = dict(self.conn.execute(
            "SELECT origin, id FROM sessions WHERE origin IS NOT NULL").fetchall())
        self.turns = dict(self.conn.execute(
            "SELECT origin, id FROM turns WHERE origin IS NOT NULL").fetchall())
        self.next_seq: dict[int, int] = {}
        self.next_turn = self._next_id("turns")
        self.next_reply = self._next_id("replies")
        self.turn_rows: list[tuple] = []
        self.reply_rows: list[tuple] = []
        self.feedback_rows: list[tuple] = []
        self.images: list[tuple[int, Path]] = []

    def _next_id(self, table: str) -> int:
        return int(self.conn.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}")
                   .fetchone()[0])

    def begin(self) -> None:
        """At the start of each batch's transaction: ids and seqs from what the file holds now
        (another process may have written between batches)."""
        self.next_seq.clear()
        self.next_turn = self._next_id("turns")
        self.next_reply = self._next_id("replies")

    def add(self, record: dict[str, Any]) -> bool:
        """Queue one record; False when it is already here."""
        origin = record["id"]
        if origin in self.replies or self._is_local(record):
            return False
        session_id = self._session(record)
        turn_id = 0
        messages = record["messages"]
        for index, message in enumerate(messages):
            # A turn is known by the key its export gave it; a format 1 record (no keys) by its
            # position, exact only when its window starts the session (checked on reading).
            legacy = (f"{record['session_key']}:{index}"
                      if len(messages) < CONTEXT_MESSAGES else None)
            turn_id = self._turn(session_id, message.get("turn") or legacy, legacy, message,
                                 record)
        reply_id, self.next_reply = self.next_reply, self.next_reply + 1
        created = record.get("created") or now_iso()
        self.reply_rows.append((
            reply_id, turn_id, record["predicted_intent"], record.get("confidence"), None, "[]",
            "[]", record.get("draft") or "", "", "{}", record.get("model_version") or "", None,
            created, origin,
        ))
        if record.get("feedback"):
            corrected = record.get("intent") if record["feedback"] == "corrected" else None
            self.feedback_rows.append(
                (reply_id, record["feedback"], corrected, record.get("answer"), created)
            )
        self.replies.add(origin)
        return True

    def flush(self) -> None:
        """Write what was queued (turns before what refers to them)."""
        self.conn.executemany(
            "INSERT INTO turns (id, session, seq, role, text, source, created, origin) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", self.turn_rows)
        for turn_id, file in self.images:
            data = file.read_bytes()
            self.store.insert_attachment_row(turn_id, "image", data, **image_meta(data, file))
        self.conn.executemany(
            "INSERT INTO replies (id, turn, intent, confidence, level, top, entities, draft, "
            "source, evidence, model_version, latency_ms, created, origin) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", self.reply_rows)
        self.conn.executemany(
            "INSERT INTO feedback (reply, action, corrected_intent, final_answer, created) "
            "VALUES (?, ?, ?, ?, ?)", self.feedback_rows)
        self.turn_rows, self.reply_rows, self.feedback_rows, self.images = [], [], [], []

    def _is_local(self, record: dict[str, Any]) -> bool:
        """A record this desk exported itself, whose reply is still here."""
        if record["desk"] != self.store.desk_id or not record["reply_id"].isdigit():
            return False
        return self.conn.execute(
            "SELECT 1 FROM replies WHERE id = ?", [int(record["reply_id"])]).fetchone() is not None

    def _session(self, record: dict[str, Any]) -> int:
        key = record["session_key"]
        if key not in self.sessions:
            cursor = self.conn.execute(
                "INSERT INTO sessions (started, channel, title, origin) VALUES (?, ?, ?, ?)",
                (record.get("created") or now_iso(), "import", f"Imported {key}", key))
            self.sessions[key] = int(cursor.lastrowid)
        return self.sessions[key]

    def _turn(self, session_id: int, origin: str, legacy: str | None, message: dict,
              record: dict) -> int:
        """The turn with this origin (or, imported before turns had keys, with this position
        key), added when it is new."""
        for key in (origin, legacy):
            if key in self.turns:
                return self.turns[key]
        if session_id not in self.next_seq:
            self.next_seq[session_id] = int(self.conn.execute(
                "SELECT coalesce(max(seq), 0) + 1 FROM turns WHERE session = ?",
                [session_id]).fetchone()[0])
        seq = self.next_seq[session_id]
        self.next_seq[session_id] += 1
        turn_id, self.next_turn = self.next_turn, self.next_turn + 1
        source = "image" if message["image_files"] and not message["content"] else "typed"
        self.turn_rows.append((turn_id, session_id, seq, message["speaker"], message["content"],
                               source, record.get("created") or now_iso(), origin))
        if message["image_files"]:
            self.images.extend((turn_id, file) for file in message["image_files"])
        self.turns[origin] = turn_id
        return turn_id
