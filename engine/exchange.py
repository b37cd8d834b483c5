"""Move the store's contents between desks and into training: export to JSONL/CSV, import back.

One JSONL record per assistant reply, in the chat `messages` format, with the gold label taken
from the agent's feedback; `image` (the replied message's screenshot) also makes a record read
as an eval case (DESIGN.md). Images are copied beside the JSONL (`images/<sha256>.<ext>`) so an
export is self-contained. Text is redacted by default (engine.redact). Imports merge exports of
several desks: every record carries its origin (`<desk_id>:<reply_id>`), kept in a UNIQUE
column, so importing the same file twice, or a file that came back through another desk,
adds nothing twice.
"""

from __future__ import annotations

import bisect
import csv
import json
import math
import mimetypes
import os
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TextIO

from engine.errors import InputError, StoreError
from engine.media import image_meta
from engine.redact import redact as redact_text
from engine.store import Store, now_iso

Progress = Callable[[int, int], None]
Clean = Callable[[str], str]
FORMATS = ("jsonl", "csv")
# A record carries at most this many messages of the conversation before the reply (the latest
# ones): enough context to train on, and an export stays linear in the log's size even for a
# session that ran for thousands of turns.
CONTEXT_MESSAGES = 50
CSV_COLUMNS = ["id", "session", "created", "text", "intent", "predicted_intent", "feedback",
               "answer"]
SPEAKER_ROLE = {"customer": "user", "agent": "assistant"}
ROLE_SPEAKER = {"user": "customer", "assistant": "agent"}
_escape = json.encoder.encode_basestring  # the C string escaper behind json.dumps (non-null)


def _text(value: str | None) -> str:
    """A JSON string (or null)."""
    return "null" if value is None else _escape(value)


def _number(value: float | None) -> str:
    """A JSON number (or null; NaN and infinities are not JSON)."""
    return "null" if value is None or not math.isfinite(value) else repr(float(value))


def export_records(
    store: Store,
    out: Path,
    *,
    since: str | None = None,
    until: str | None = None,
    session_ids: list[int] | None = None,
    fmt: str = "jsonl",
    redact: bool = True,
    progress: Progress | None = None,
) -> int:
    """Write one record per assistant reply to `out` (JSONL or CSV); returns rows written.

    `since`/`until` are dates or ISO times (until a bare date includes that whole day) and
    filter on when the reply was made. The file appears whole or not at all.
    """
    if fmt not in FORMATS:
        raise InputError(f"Export format is jsonl or csv, not {fmt!r}.")
    out = Path(out)
    where, params = _filters(since, until, session_ids)
    with store.batch(write=False):  # one consistent snapshot; writers go on meanwhile
        rows = _export_rows(store, where, params)
    clean = _Redactor() if redact else _same
    total = len(rows.replies)
    partial = out.with_name(out.name + ".part")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(partial, "w", encoding="utf-8", newline="") as handle:
            if fmt == "jsonl":
                _write_jsonl(handle, store, rows, out.parent, clean, progress)
            else:
                _write_csv(handle, rows, store.desk_id, clean, progress)
        os.replace(partial, out)
    except OSError as err:
        raise StoreError(f"Cannot write the export to {out}: {err.strerror or err}.") from err
    finally:
        if partial.exists():
            partial.unlink()
    if progress:
        progress(total, total)
    return total


def import_records(
    store: Store, files: list[Path], progress: Progress | None = None
) -> tuple[int, int]:
    """Merge JSONL exports (of any desks) into the store; returns (imported, skipped as
    duplicates). All files are checked first and written in one transaction: a bad line
    changes nothing."""
    records = [record for file in files for record in _read_export(Path(file))]
    imported = skipped = 0
    with store.batch():
        merge = _Merger(store)
        for done, record in enumerate(records, 1):
            if merge.add(record):
                imported += 1
            else:
                skipped += 1
            if done % 5000 == 0:
                merge.flush()
                if progress:
                    progress(done, len(records))
        merge.flush()
    if progress:
        progress(len(records), len(records))
    return imported, skipped


# ---- export ------------------------------------------------------------------------------


class _ExportRows:
    """Everything an export needs, read in a handful of queries."""

    def __init__(self) -> None:
        self.replies: list[tuple] = []
        self.turns: dict[int, list[tuple]] = {}  # session -> [(id, seq, role, text)]
        self.images: dict[int, list[tuple[str, str, int]]] = {}  # turn -> [(sha, mime, id)]
        self.feedback: dict[int, tuple] = {}  # reply -> (action, corrected, final answer)
        self.session_keys: dict[int, str] = {}


def _export_rows(store: Store, where: str, params: list[Any]) -> _ExportRows:
    rows = _ExportRows()
    conn = store.db.conn
    chosen = f"SELECT r.id FROM replies r JOIN turns t ON t.id = r.turn {where}"
    sessions = f"SELECT DISTINCT t.session FROM replies r JOIN turns t ON t.id = r.turn {where}"
    rows.replies = conn.execute(
        "SELECT r.id, r.origin, r.turn, t.session, t.seq, r.intent, r.confidence, r.draft, "
        f"r.model_version, r.created FROM replies r JOIN turns t ON t.id = r.turn {where} "
        "ORDER BY t.session, t.seq, r.id", params
    ).fetchall()
    for turn in conn.execute(
        "SELECT session, id, seq, role, text FROM turns WHERE role != 'assistant' "
        f"AND session IN ({sessions}) ORDER BY session, seq", params
    ):
        rows.turns.setdefault(turn[0], []).append(turn[1:])
    for sha, mime, attachment_id, turn_id in conn.execute(
        "SELECT a.sha256, a.mime, a.id, a.turn FROM attachments a JOIN turns t ON t.id = a.turn "
        f"WHERE a.kind = 'image' AND t.session IN ({sessions}) ORDER BY a.id", params
    ):
        rows.images.setdefault(turn_id, []).append((sha, mime, attachment_id))
    for reply_id, *rest in conn.execute(
        "SELECT reply, action, corrected_intent, final_answer FROM feedback "
        f"WHERE reply IN ({chosen}) ORDER BY id", params
    ):
        rows.feedback[reply_id] = tuple(rest)  # the latest feedback wins
    desk = store.desk_id
    for session_id, origin in conn.execute(
        f"SELECT id, origin FROM sessions WHERE id IN ({sessions})", params
    ):
        rows.session_keys[session_id] = origin or f"{desk}:{session_id}"
    return rows


def _filters(
    since: str | None, until: str | None, session_ids: list[int] | None
) -> tuple[str, list[Any]]:
    clauses, params = [], []
    if since:
        clauses.append("r.created >= ?")
        params.append(_as_utc(since, end=False))
    if until:
        clauses.append("r.created < ?")
        params.append(_as_utc(until, end=True))
    if session_ids:
        clauses.append(f"t.session IN ({', '.join('?' * len(session_ids))})")
        params.extend(int(s) for s in session_ids)
    return ("WHERE " + " AND ".join(clauses) if clauses else ""), params


def _as_utc(text: str, *, end: bool) -> str:
    """An ISO date/time as the store's UTC text; a bare `until` date means the end of that day."""
    try:
        if len(text.strip()) == 10:
            day = date.fromisoformat(text.strip())
            moment = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
            if end:
                moment += timedelta(days=1)
        else:
            moment = datetime.fromisoformat(text.strip())
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=timezone.utc)
    except ValueError as err:
        raise InputError(f"{text!r} is not a date like 2025-01-31 or 2025-01-31T09:00.") from err
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def _gold(feedback: tuple | None, predicted: str, draft: str) -> tuple[Any, Any, Any]:
    """(gold intent, action, answer sent) from the latest feedback on a reply."""
    if feedback is None:
        return None, None, None
    action, corrected, final = feedback
    intent = corrected if action == "corrected" else predicted if action != "rejected" else None
    answer = final if final is not None else (draft if action == "accepted" else None)
    return intent, action, answer


def _write_jsonl(
    handle: TextIO, store: Store, rows: _ExportRows, folder: Path, clean: Clean,
    progress: Progress | None,
) -> None:
    images_dir = folder / "images"
    copied: set[str] = set()
    messages: dict[int, tuple[list[int], list[str], list[list[str]]]] = {}

    def conversation(session_id: int) -> tuple[list[int], list[str], list[list[str]]]:
        """Per session: seqs, pre-serialized messages, image paths per message (built once)."""
        if session_id not in messages:
            seqs, pieces, images = [], [], []
            for turn_id, seq, role, text in rows.turns.get(session_id, []):
                paths = [_copy_image(store, images_dir, img, copied)
                         for img in rows.images.get(turn_id, [])]
                listed = f', "images": [{", ".join(map(_text, paths))}]' if paths else ""
                seqs.append(seq)
                pieces.append(f'{{"role": "{SPEAKER_ROLE[role]}", "speaker": "{role}", '
                              f'"content": {_text(clean(text))}{listed}}}')
                images.append(paths)
            messages[session_id] = (seqs, pieces, images if any(images) else [])
        return messages[session_id]

    total, desk = len(rows.replies), store.desk_id
    for done, reply in enumerate(rows.replies, 1):
        reply_id, origin, _, session_id, seq, intent, confidence, draft, version, created = reply
        seqs, pieces, images = conversation(session_id)
        upto = bisect.bisect_right(seqs, seq)
        start = max(0, upto - CONTEXT_MESSAGES)
        gold, action, answer = _gold(rows.feedback.get(reply_id), intent, draft)
        # Assembled by hand from C-escaped strings: json.dumps per record was half the time.
        paths = [path for paths in images[start:upto] for path in paths] if images else []
        last_image = images[upto - 1][-1] if images and upto and images[upto - 1] else None
        handle.write(
            f'{{"id": {_escape(origin or f"{desk}:{reply_id}")}, "session": {session_id}, '
            f'"session_key": {_escape(rows.session_keys[session_id])}, '
            f'"created": {_escape(created)}, "intent": {_text(gold)}, '
            f'"predicted_intent": {_escape(intent)}, "confidence": {_number(confidence)}, '
            f'"feedback": {_text(action)}, "answer": {_text(answer and clean(answer))}, '
            f'"draft": {_text(draft and clean(draft))}, '
            f'"images": [{", ".join(map(_text, paths))}], "image": {_text(last_image)}, '
            f'"model_version": {_text(version)}, '
            f'"messages": [{", ".join(pieces[start:upto])}]}}\n'
        )
        if progress and done % 2000 == 0:
            progress(done, total)


def _write_csv(
    handle: TextIO, rows: _ExportRows, desk: str, clean: Clean, progress: Progress | None
) -> None:
    writer = csv.writer(handle)
    writer.writerow(CSV_COLUMNS)
    last_customer: dict[int, tuple[list[int], list[str]]] = {}
    for done, reply in enumerate(rows.replies, 1):
        reply_id, origin, _, session_id, seq, intent, _, draft, _, created = reply
        if session_id not in last_customer:
            found = [(s, text) for _, s, role, text in rows.turns.get(session_id, [])
                     if role == "customer"]
            last_customer[session_id] = ([s for s, _ in found], [t for _, t in found])
        seqs, texts = last_customer[session_id]
        upto = bisect.bisect_right(seqs, seq)
        text = clean(texts[upto - 1]) if upto else ""
        gold, action, answer = _gold(rows.feedback.get(reply_id), intent, draft)
        writer.writerow([
            origin or f"{desk}:{reply_id}", session_id, created, text,
            gold or "", intent, action or "", clean(answer) if answer else "",
        ])
        if progress and done % 2000 == 0:
            progress(done, len(rows.replies))


def _copy_image(store: Store, folder: Path, image: tuple[str, str, int], copied: set[str]) -> str:
    sha, mime, attachment_id = image
    ext = {"image/jpeg": ".jpg"}.get(mime) or mimetypes.guess_extension(mime or "") or ".bin"
    name = f"{sha}{ext}"
    if name not in copied:
        target = folder / name
        if not target.exists():
            folder.mkdir(parents=True, exist_ok=True)
            target.write_bytes(store.attachment_bytes(attachment_id))
        copied.add(name)
    return f"images/{name}"


def _same(text: str) -> str:
    return text


class _Redactor(dict):
    """redact() with memory: drafts and agent lines repeat, and each text is redacted once."""

    def __call__(self, text: str) -> str:
        found = self.get(text)
        if found is None:
            found = self[text] = redact_text(text)
        return found


# ---- import ------------------------------------------------------------------------------


def _read_export(file: Path) -> Iterable[dict[str, Any]]:
    """Every record of one JSONL export, checked, with image paths made absolute."""
    if file.suffix.lower() == ".csv":
        raise InputError(f"{file} is a CSV export; import reads the JSONL exports.")
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"Cannot read {file}: {getattr(err, 'strerror', None) or err}.") from err
    records = []
    root = file.parent.resolve()
    for number, line in enumerate(lines, 1):
        if line.strip():
            try:
                records.append(_check_record(json.loads(line), root))
            except (ValueError, KeyError, TypeError, AttributeError) as err:
                raise InputError(
                    f"Line {number} of {file} is not a Frontdesk export record ({err})."
                ) from err
    return records


def _check_record(record: dict[str, Any], root: Path) -> dict[str, Any]:
    """The record, checked, with each message's image files resolved inside `root` (the
    export's folder: a record cannot make import read files from elsewhere)."""
    desk, _, reply_id = str(record["id"]).rpartition(":")
    if not desk or not reply_id:
        raise ValueError(f"id {record['id']!r} is not <desk>:<reply>")
    record["desk"], record["reply_id"] = desk, reply_id
    record.setdefault("session_key", f"{desk}:{record['session']}")
    if not isinstance(record["predicted_intent"], str):
        raise ValueError("predicted_intent must be text")
    if not record["messages"]:
        raise ValueError("no messages")
    for message in record["messages"]:
        speaker = message.get("speaker") or ROLE_SPEAKER[message["role"]]
        if speaker not in SPEAKER_ROLE or not isinstance(message["content"], str):
            raise ValueError(f"unknown speaker {speaker!r}")
        message["speaker"] = speaker
        files = []
        for rel in message.get("images", []):
            path = (root / rel).resolve()
            if root not in path.parents or not path.is_file():
                raise ValueError(f"image {rel} is missing beside the export")
            files.append(path)
        message["image_files"] = files
    return record


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

    def add(self, record: dict[str, Any]) -> bool:
        """Queue one record; False when it is already here."""
        origin = record["id"]
        if origin in self.replies or self._is_local(record):
            return False
        session_id = self._session(record)
        turn_id = 0
        for index, message in enumerate(record["messages"]):
            turn_id = self._turn(session_id, f"{record['session_key']}:{index}", message, record)
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

    def _turn(self, session_id: int, origin: str, message: dict, record: dict) -> int:
        if origin in self.turns:
            return self.turns[origin]
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
