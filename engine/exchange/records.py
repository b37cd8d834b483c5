"""Export the store's contents for training and for other desks: JSONL (and CSV).

One JSONL record per assistant reply, in the chat `messages` format, with the gold label taken
from the agent's feedback; `image` (the replied message's screenshot) also makes a record read
as an eval case (DESIGN.md). Images are copied beside the JSONL (`images/<sha256>.<ext>`) so an
export is self-contained. Text is redacted by default (engine.exchange.redact). Every record
carries its
origin (`<desk_id>:<reply_id>`), by which engine.exchange.merge imports exports without duplicates.
"""

from __future__ import annotations

import bisect
import csv
import json
import math
import mimetypes
import os
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TextIO

from engine.errors import InputError, StoreError
from engine.exchange.format import CONTEXT_MESSAGES, LABELS, SPEAKER_ROLE, record_format
from engine.exchange.redact import phone_regions
from engine.exchange.redact import redact as redact_text
from engine.store.database import Store

Progress = Callable[[int, int], None]
Clean = Callable[[str], str]
FORMATS = ("jsonl", "csv")
# A record carries at most CONTEXT_MESSAGES messages of the conversation before the reply (the
# latest ones): enough context to train on, and an export stays linear in the log's size even
# for a session that ran for thousands of turns. Each message names its turn (`turn`: its origin,
# or `<desk>:turn:<id>`), so an import lines the windows of a long session up by identity.
CSV_COLUMNS = ["id", "session", "created", "text", "intent", "predicted_intent", "feedback",
               "answer"]
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
    regions: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> int:
    """Write one record per assistant reply to `out` (JSONL or CSV); returns rows written.

    `since`/`until` are dates or ISO times (until a bare date includes that whole day) and
    filter on when the reply was made. Phone numbers are read as written in `regions` (default:
    $FRONTDESK_PHONE_REGIONS, else engine.exchange.redact.DEFAULT_REGIONS). The file appears whole
    or
    not at all.
    """
    if fmt not in FORMATS:
        raise InputError(f"Export format is jsonl or csv, not {fmt!r}.")
    out = Path(out)
    where, params = _filters(since, until, session_ids)
    with store.batch(write=False):  # one consistent snapshot; writers go on meanwhile
        rows = _export_rows(store, where, params)
    clean = _Redactor(phone_regions(regions)) if redact else _same
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


# ---- export ------------------------------------------------------------------------------


class _ExportRows:
    """Everything an export needs, read in a handful of queries."""

    def __init__(self) -> None:
        self.replies: list[tuple] = []
        self.turns: dict[int, list[tuple]] = {}  # session -> [(id, seq, role, text, origin)]
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
        "SELECT session, id, seq, role, text, origin FROM turns WHERE role != 'assistant' "
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
        if rest[0] == "handoff" and rows.feedback.get(reply_id, ("",))[0] in LABELS:
            continue  # handing off after labelling a reply keeps the label (it still teaches)
        rows.feedback[reply_id] = tuple(rest)  # else the latest feedback wins
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
    """(gold intent, action, answer sent) from the latest feedback on a reply; a rejection or a
    hand-off names no intent."""
    if feedback is None:
        return None, None, None
    action, corrected, final = feedback
    intent = {"corrected": corrected, "accepted": predicted, "edited": predicted}.get(action)
    answer = final if final is not None else (draft if action == "accepted" else None)
    return intent, action, answer


def _write_jsonl(
    handle: TextIO, store: Store, rows: _ExportRows, folder: Path, clean: Clean,
    progress: Progress | None,
) -> None:
    images_dir = folder / "images"
    copied: set[str] = set()
    messages: dict[int, tuple[list[int], list[str], list[list[str]]]] = {}
    desk = store.desk_id

    def conversation(session_id: int) -> tuple[list[int], list[str], list[list[str]]]:
        """Per session: seqs, pre-serialized messages, image paths per message (built once)."""
        if session_id not in messages:
            seqs, pieces, images = [], [], []
            for turn_id, seq, role, text, origin in rows.turns.get(session_id, []):
                paths = [_copy_image(store, images_dir, img, copied)
                         for img in rows.images.get(turn_id, [])]
                listed = f', "images": [{", ".join(map(_text, paths))}]' if paths else ""
                seqs.append(seq)
                pieces.append(f'{{"role": "{SPEAKER_ROLE[role]}", "speaker": "{role}", '
                              f'"content": {_text(clean(text))}{listed}, '
                              f'"turn": {_escape(origin or f"{desk}:turn:{turn_id}")}}}')
                images.append(paths)
            messages[session_id] = (seqs, pieces, images if any(images) else [])
        return messages[session_id]

    total = len(rows.replies)
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
            f'{{"format": {record_format(action)}, '
            f'"id": {_escape(origin or f"{desk}:{reply_id}")}, '
            f'"session": {session_id}, '
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
            found = [(s, text) for _, s, role, text, _ in rows.turns.get(session_id, [])
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

    def __init__(self, regions: Sequence[str]) -> None:
        super().__init__()
        self.regions = regions

    def __call__(self, text: str) -> str:
        found = self.get(text)
        if found is None:
            found = self[text] = redact_text(text, regions=self.regions)
        return found
