"""Row shapes of the store: table names, reply columns, turn checks, the FTS5 query builder."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from engine.clock import now_iso  # noqa: F401 (the store's timestamps)
from engine.errors import InputError
from engine.types import ROLES, SOURCES, Reply, Turn

TABLES = {
    "sessions": "Session", "turns": "Turn", "attachments": "Attachment", "replies": "Reply",
    "feedback": "Feedback",
}
ATTACHMENT_META = (
    "id, turn, kind, sha256, path, mime, size, width, height, duration, ocr_text, ocr_json, "
    "created"
)
REPLY_COLUMNS = (
    "turn, intent, confidence, level, top, entities, draft, source, evidence, model_version, "
    "latency_ms, created"
)
REPLY_INSERT = f"INSERT INTO replies ({REPLY_COLUMNS}) VALUES ({', '.join('?' * 12)})"
REPLY_INSERT_WITH_ID = f"INSERT INTO replies (id, {REPLY_COLUMNS}) VALUES ({', '.join('?' * 13)})"


def reply_values(reply: Reply, turn_id: int) -> tuple[Any, ...]:
    return (
        turn_id, reply.intent, float(reply.confidence), reply.level,
        json.dumps([[name, float(score)] for name, score in reply.top]),
        json.dumps([asdict(e) for e in reply.entities]) if reply.entities else "[]",
        reply.draft, reply.source,
        json.dumps(reply.evidence.to_dict()),
        reply.model_version, float(reply.latency_ms),
    )


def decode_reply(row: dict[str, Any]) -> dict[str, Any]:
    """A replies row with its JSON columns parsed; `feedback` filled in by the caller."""
    row = dict(row)
    row["top"] = [tuple(pair) for pair in json.loads(row["top"] or "[]")]
    row["entities"] = json.loads(row["entities"] or "[]")
    row["evidence"] = json.loads(row["evidence"] or "{}")
    row["feedback"] = None
    return row


def check_turn(turn: Turn) -> None:
    if turn.role not in ROLES:
        raise InputError(f"A turn's role is one of {', '.join(ROLES)}, not {turn.role!r}.")
    if turn.source not in SOURCES:
        raise InputError(f"A turn's source is one of {', '.join(SOURCES)}, not {turn.source!r}.")
    if not isinstance(turn.text, str):
        raise InputError("A turn's text must be a string.")


def fts_query(query: str) -> str:
    """A safe FTS5 MATCH expression: every word quoted (so any input is valid), all required,
    the last one also matching as a prefix (search as you type)."""
    words = [w for w in "".join(c if c.isalnum() else " " for c in query).split() if w]
    if not words:
        return ""
    quoted = ['"' + w.replace('"', '""') + '"' for w in words]
    quoted[-1] += "*"
    return " ".join(quoted)
