"""What the store answers: sessions, conversations, attachments, search (no writes).

`StoreReads` is the read half of `engine.store.database.Store`, kept apart so each file stays
small; it
works on the Store's `db` (sqlite-utils) and takes the Store's lock through `guarded`.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from engine.errors import InputError
from engine.store.errors import guarded
from engine.store.rows import ATTACHMENT_META, TABLES, decode_reply, fts_query


class StoreReads:
    """Queries over a Frontdesk database; `engine.store.database.Store` adds the writes."""

    db: Database
    path: Path
    _lock: threading.RLock

    @guarded
    def session(self, session_id: int) -> dict[str, Any]:
        """One session's row."""
        self._require("sessions", session_id)
        return dict(self.db["sessions"].get(session_id))

    @guarded
    def sessions(self, query: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
        """Sessions newest first, with turn count and first customer line; `query` searches
        turn text and OCR text."""
        where, params = "", []
        match = fts_query(query or "")
        if match:
            where = (
                "WHERE s.id IN (SELECT t.session FROM turns_fts JOIN turns t "
                "ON t.id = turns_fts.rowid WHERE turns_fts MATCH ?)"
            )
            params.append(match)
        sql = f"""
            SELECT s.*,
              (SELECT count(*) FROM turns WHERE session = s.id) AS turn_count,
              (SELECT text FROM turns WHERE session = s.id AND role = 'customer'
                 ORDER BY seq LIMIT 1) AS preview
            FROM sessions s {where}
            ORDER BY s.started DESC, s.id DESC LIMIT ?"""
        params.append(int(limit))
        return list(self.db.query(sql, params))

    @guarded
    def ocr_for_sha256(self, sha256: str) -> tuple[str, str] | None:
        """(ocr_text, ocr_json) of an identical image read before, so no image is read twice."""
        row = self.db.execute(
            "SELECT ocr_text, ocr_json FROM attachments WHERE sha256 = ? "
            "AND ocr_text IS NOT NULL ORDER BY id LIMIT 1",
            [sha256],
        ).fetchone()
        return (row[0], row[1] or "") if row else None

    @guarded
    def attachments(self, turn_id: int) -> list[dict[str, Any]]:
        """Metadata of a turn's attachments (no bytes)."""
        return list(self.db.query(f"SELECT {ATTACHMENT_META} FROM attachments "
                                  "WHERE turn = ? ORDER BY id", [turn_id]))

    @guarded
    def attachment_bytes(self, attachment_id: int) -> bytes:
        """The stored bytes of one attachment."""
        row = self.db.execute(
            "SELECT data, path FROM attachments WHERE id = ?", [attachment_id]
        ).fetchone()
        if row is None:
            raise InputError(f"Attachment {attachment_id} does not exist.")
        if row[0] is not None:
            return bytes(row[0])
        return Path(row[1]).read_bytes()

    @guarded
    def turns(self, session_id: int, last: int | None = None) -> list[dict[str, Any]]:
        """A conversation in order; each turn has its `attachments` and latest `reply`
        (with that reply's latest `feedback`, or None). `last`: only the newest `last` turns,
        so a turn's answer reads a bounded window, however long the session (issue 15.7)."""
        newest = "ORDER BY seq DESC LIMIT ?" if last is not None else ""
        window = f"SELECT id FROM turns WHERE session = ? {newest}"
        params = [session_id] + ([int(last)] if last is not None else [])
        turns = list(self.db.query(
            f"SELECT * FROM turns WHERE id IN ({window}) ORDER BY seq", params
        ))
        by_id = {turn["id"]: turn for turn in turns}
        for turn in turns:
            turn["attachments"], turn["reply"] = [], None
        for row in self.db.query(
            f"SELECT {ATTACHMENT_META} FROM attachments WHERE turn IN ({window}) ORDER BY id",
            params,
        ):
            by_id[row["turn"]]["attachments"].append(row)
        for row in self.db.query(
            f"SELECT * FROM replies WHERE turn IN ({window}) ORDER BY id", params
        ):
            by_id[row["turn"]]["reply"] = decode_reply(row)
        replies = {t["reply"]["id"]: t["reply"] for t in turns if t["reply"]}
        for row in self.db.query(
            f"SELECT * FROM feedback WHERE reply IN (SELECT id FROM replies WHERE turn IN "
            f"({window})) ORDER BY id", params
        ):
            if row["reply"] in replies:
                replies[row["reply"]]["feedback"] = row
        return turns

    @guarded
    def search(self, query: str, limit: int = 50) -> list[dict[str, Any]]:
        """Turns whose text or screenshot text matches `query` (any string is safe), best first."""
        match = fts_query(query)
        if not match:
            return []
        return list(self.db.query(
            """SELECT t.id, t.session, t.seq, t.role, t.source, t.text, t.created,
                 snippet(turns_fts, -1, '[', ']', '…', 12) AS snippet
               FROM turns_fts JOIN turns t ON t.id = turns_fts.rowid
               WHERE turns_fts MATCH ? ORDER BY rank LIMIT ?""",
            [match, int(limit)],
        ))

    @guarded
    def count(self, table: str) -> int:
        """Rows in one of the store's tables."""
        if table not in TABLES:
            raise InputError(f"There is no table named {table!r} in the store.")
        return int(self.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

    def _require(self, table: str, row_id: int) -> None:
        found = self.db.execute(f"SELECT 1 FROM {table} WHERE id = ?", [row_id]).fetchone()
        if not found:
            raise InputError(f"{TABLES[table]} {row_id} does not exist in the store.")
