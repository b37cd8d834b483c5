"""The export record's format, checked field by field before an import writes anything.

engine.exchange.records writes records of format 2 (`FORMAT`, 3, where the feedback is a hand-off);
engine.exchange.merge reads them back through `check_record`, which refuses a record whose fields
have
the wrong type or range (a `"confidence": "high"` would otherwise be stored and break every
later export), a string with a lone surrogate (not UTF-8, so SQLite cannot store it), and a
record of a newer format or with fields this version does not know (they would be dropped
silently). Format 1 records (before each message named its turn) still import when their
conversation was not cut to the export's window.
"""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path
from typing import Any

FORMAT = 3  # 2: every message names its turn (`turn`), so windows of a long session line up;
# 3: feedback may be "handoff" (written only on such records: see `record_format`)
CONTEXT_MESSAGES = 50  # a record carries at most this many messages (engine.exchange.records)
SPEAKER_ROLE = {"customer": "user", "agent": "assistant"}
ROLE_SPEAKER = {"user": "customer", "assistant": "agent"}
FEEDBACK = ("accepted", "edited", "corrected", "rejected", "handoff")
LABELS = ("accepted", "edited", "corrected")  # the feedback that names the customer's intent
RECORD_FIELDS = frozenset({
    "format", "id", "session", "session_key", "created", "intent", "predicted_intent",
    "confidence", "feedback", "answer", "draft", "images", "image", "model_version", "messages",
})
MESSAGE_FIELDS = frozenset({"role", "speaker", "content", "images", "turn"})


def record_format(feedback: str | None) -> int:
    """The format a record is written in: 3 only for a hand-off, so a desk on an older
    Frontdesk still imports exports without one, and refuses one with a hand-off by asking
    for an update rather than calling the feedback wrong."""
    return FORMAT if feedback == "handoff" else 2


class RecordError(ValueError):
    """What is wrong with one record, as the end of a sentence that names its line."""


def check_record(record: Any, root: Path) -> dict[str, Any]:
    """The record, checked, with `desk`, `reply_id`, `session_key` filled in and each message's
    image files resolved inside `root` (the export's folder: a record cannot make import read
    files from elsewhere). Raises RecordError."""
    if not isinstance(record, dict):
        raise RecordError("it is not a JSON object")
    version = record.get("format", 1)
    if type(version) is not int or version < 1:
        raise RecordError(f"format must be a whole number, not {_shown(version)}")
    if version > FORMAT:
        raise RecordError(f"it was written by a newer Frontdesk (export format {version}; this "
                          f"one reads up to {FORMAT}), so update Frontdesk to import it")
    _known_fields(record, RECORD_FIELDS, "the record")
    desk, _, reply_id = _text(record, "id", required=True).rpartition(":")
    if not desk or not reply_id:
        raise RecordError(f"id {record['id']!r} is not <desk>:<reply>")
    session = record.get("session")
    if not (type(session) is int or isinstance(session, str)):
        raise RecordError(f"session must be a number or text, not {_shown(session)}")
    record["session_key"] = _text(record, "session_key") or f"{desk}:{session}"
    record["desk"], record["reply_id"] = desk, reply_id
    created = _text(record, "created")
    if created is not None:
        try:
            datetime.fromisoformat(created)
        except ValueError as err:
            raise RecordError(f"created {created!r} is not an ISO date and time") from err
    if not _text(record, "predicted_intent", required=True).strip():
        raise RecordError("predicted_intent is empty")
    for key in ("intent", "answer", "draft", "model_version", "image"):
        _text(record, key)
    confidence = record.get("confidence")
    if confidence is not None and not (
            type(confidence) in (int, float) and math.isfinite(confidence)
            and 0 <= confidence <= 1):
        raise RecordError(f"confidence must be a number from 0 to 1, not {_shown(confidence)}")
    feedback = record.get("feedback")
    if feedback is not None and feedback not in FEEDBACK:
        raise RecordError(f"feedback must be one of {', '.join(FEEDBACK)}, not "
                          f"{_shown(feedback)}")
    if feedback == "corrected" and not (record.get("intent") or "").strip():
        raise RecordError("a corrected reply needs the intent the agent chose")
    _paths(record, "images", "the record")
    messages = record.get("messages")
    if not isinstance(messages, list) or not messages:
        raise RecordError("messages must be a non-empty list")
    for number, message in enumerate(messages, 1):
        _check_message(message, number, root)
    turns = [m.get("turn") for m in messages]
    if version >= 2 and None in turns:
        raise RecordError(f"message {turns.index(None) + 1} does not name its turn")
    if None in turns and len(messages) >= CONTEXT_MESSAGES:
        raise RecordError(
            f"it comes from an older export (format 1) whose conversation was cut to its last "
            f"{CONTEXT_MESSAGES} messages, so its turns cannot be placed; export it again with "
            "this version of Frontdesk")
    if len(set(turns)) != len(turns) and None not in turns:
        raise RecordError("two messages name the same turn")
    return record


def _check_message(message: Any, number: int, root: Path) -> None:
    where = f"message {number}"
    if not isinstance(message, dict):
        raise RecordError(f"{where} is not a JSON object")
    _known_fields(message, MESSAGE_FIELDS, where)
    role, speaker = message.get("role"), message.get("speaker")
    if speaker is None:
        speaker = ROLE_SPEAKER.get(role) if isinstance(role, str) else None
    if speaker not in SPEAKER_ROLE or role not in (None, SPEAKER_ROLE[speaker]):
        raise RecordError(f"{where} has an unknown speaker or role "
                          f"({_shown(speaker)}, {_shown(role)})")
    message["speaker"] = speaker
    _text(message, "content", required=True, where=where)
    _text(message, "turn", where=where)
    message["image_files"] = []
    for rel in _paths(message, "images", where):
        path = (root / rel).resolve()
        if root not in path.parents or not path.is_file():
            raise RecordError(f"image {rel} is missing beside the export")
        message["image_files"].append(path)


def _known_fields(value: dict, known: frozenset[str], where: str) -> None:
    unknown = sorted(set(value) - known)
    if unknown:
        raise RecordError(f"{where} has fields this Frontdesk does not know "
                          f"({', '.join(map(str, unknown))}) and would drop; update Frontdesk "
                          "to import it")


def _text(value: dict, key: str, *, required: bool = False, where: str = "") -> str | None:
    """value[key] as text (None where absent and not required), refused when it is not text
    or holds a lone surrogate (not UTF-8: it could not be stored)."""
    found = value.get(key)
    name = f"{where} {key}".strip()
    if found is None and not required:
        return None
    if not isinstance(found, str):
        raise RecordError(f"{name} must be text, not {_shown(found)}")
    if not found.isascii():
        try:
            found.encode("utf-8")
        except UnicodeEncodeError as err:
            raise RecordError(f"{name} holds a broken character (a lone surrogate at "
                              f"position {err.start})") from err
    return found


def _paths(value: dict, key: str, where: str) -> list[str]:
    found = value.get(key)
    if found is None:
        return []
    if not isinstance(found, list):
        raise RecordError(f"{where} {key} must be a list of file names")
    return [_text({key: item}, key, required=True, where=where) for item in found]


def _shown(value: Any) -> str:
    """A wrong value as a sentence can show it: short scalars as written, containers by kind."""
    if isinstance(value, dict | list):
        return "an object" if isinstance(value, dict) else "a list"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
