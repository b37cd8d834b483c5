"""The session store: Frontdesk's memory and its training set, one SQLite file per data folder.

Every turn is committed before inference runs, so a crash never loses what the agent entered.
The file is in WAL mode (readers never block the writer), private to its owner (0600), versioned
by the `schema_migrations` table, and searchable through one FTS5 index over turn text and the
OCR text of attached screenshots. Table access goes through sqlite-utils; the few hot paths
(`add_turns_bulk`) use `executemany` inside one transaction so they stay close to raw sqlite3.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from engine import paths
from engine.errors import InputError, StoreError
from engine.store import file as store_file
from engine.store.errors import guarded, store_error
from engine.store.media import read_media
from engine.store.reads import StoreReads
from engine.store.rows import (
    REPLY_INSERT,
    REPLY_INSERT_WITH_ID,
    check_turn,
    decode_reply,
    fts_query,
    now_iso,
    reply_values,
)
from engine.store.schema import LATEST_VERSION, current_version
from engine.store.transactions import WRITE_BATCH, StoreTransactions
from engine.types import Reply, Turn

__all__ = [
    "WRITE_BATCH", "Store", "StoreError", "decode_reply", "fts_query", "now_iso", "store_error",
]

log = logging.getLogger(__name__)

# handoff: the agent passed the customer on to a colleague; it says nothing about the intent
FEEDBACK_ACTIONS: tuple[str, ...] = ("accepted", "edited", "rejected", "corrected", "handoff")
ATTACHMENT_KINDS: tuple[str, ...] = ("image", "audio")
DEFAULT_TIMEOUT_S = 5.0
# quick_check at open: a store of up to ~20k turns is checked within this wait; a bigger one
# goes on being checked in the background and its first write waits for the verdict
OPEN_CHECK_WAIT_S = 0.1


class Store(StoreReads, StoreTransactions):
    """A Frontdesk database file: sessions, turns, attachments, replies and feedback."""

    def __init__(self, path: str | Path, *, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        self.path = Path(path)
        self.timeout = timeout  # seconds a write waits for another process's write lock
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._check: store_file.IntegrityCheck | None = None
        # a file the user made read-only (0444) is opened read-only, never chmod-ed back
        self.read_only = store_file.is_read_only(self.path)
        try:
            store_file.create_private_file(self.path)
            if not self.read_only:  # before SQLite opens them
                store_file.restrict_side_files(self.path)
            self._conn = store_file.connect(self.path, read_only=self.read_only, timeout=timeout)
            self.db = Database(self._conn)
            store_file.check_is_ours(self._conn, self.path)
            self._check = store_file.IntegrityCheck(self.path)
            if self._check.wait(OPEN_CHECK_WAIT_S) or current_version(self._conn) < LATEST_VERSION:
                self._check.require_sound()  # a migration writes: it waits for the verdict
            if not self.read_only:
                self.db.enable_wal()
            self.db.execute("PRAGMA foreign_keys=ON")
            # WAL + NORMAL: a commit survives the app being killed (it is in the WAL before
            # commit returns); only a power cut can lose the last moments. FULL costs ~4 ms an
            # fsync per commit, two per typed turn, which the 20 ms turn budget cannot carry.
            self.db.execute("PRAGMA synchronous=NORMAL")
            store_file.migrate(self._conn, self.path, read_only=self.read_only)
            self.desk_id = self._desk_id()
        except (sqlite3.Error, OSError) as err:
            self.close()
            log.debug("cannot open store", exc_info=True)
            raise store_error(err, self.path) from err
        except StoreError:
            self.close()
            raise

    @classmethod
    def open(cls, home: Path) -> Store:
        """The store of a data folder."""
        return cls(paths.database(Path(home)))

    def close(self) -> None:
        """Close the connection; the WAL is checkpointed by SQLite on the last close."""
        if self._check is not None:
            self._check.stop()
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- opening -------------------------------------------------------------------------

    def _desk_id(self) -> str:
        """This file's uuid, made once (several processes may open a new file at once)."""
        row = self.db.execute("SELECT value FROM meta WHERE key = 'desk_id'").fetchone()
        if row or self.read_only:
            return str(row[0]) if row else ""
        with self._writing():
            self.db.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('desk_id', ?)", [uuid.uuid4().hex]
            )
            self.db.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('created', ?)", [now_iso()]
            )
        return str(self.db.execute("SELECT value FROM meta WHERE key = 'desk_id'").fetchone()[0])

    @property
    def schema_version(self) -> int:
        """The migration level of the open file."""
        return current_version(self._conn)

    # ---- sessions ------------------------------------------------------------------------

    @guarded
    def new_session(
        self, *, agent: str | None = None, channel: str = "chat", title: str | None = None
    ) -> int:
        """Start a conversation; returns its id."""
        row = {"started": now_iso(), "agent": agent, "channel": channel, "title": title}
        with self._writing():
            return int(self.db["sessions"].insert(row).last_pk)

    @guarded
    def discard_empty_session(self, session_id: int) -> bool:
        """Remove a session that holds no turn, for a caller whose session's first turn could
        not be stored (a refused recording, a full disk): nothing empty is left behind. Best
        effort (False when nothing was removed, or when the store cannot write now)."""
        try:
            with self._writing():
                cursor = self._conn.execute(
                    "DELETE FROM sessions WHERE id = ? AND NOT EXISTS "
                    "(SELECT 1 FROM turns WHERE session = ?)", (session_id, session_id))
        except (sqlite3.Error, StoreError) as err:
            log.warning("could not remove the empty session %s: %s", session_id, err)
            return False
        return cursor.rowcount > 0

    @guarded
    def rename_session(self, session_id: int, title: str) -> None:
        """Give a conversation the title shown in the session list."""
        self._require("sessions", session_id)
        with self._writing():
            self.db["sessions"].update(session_id, {"title": title})

    @guarded
    def delete_session(self, session_id: int) -> None:
        """Remove a conversation and all it holds (turns, attachments, replies, feedback go by
        the foreign keys' cascade; the search index by its triggers): an export never carries
        it again."""
        self._require("sessions", session_id)
        with self._writing():
            self._conn.execute("DELETE FROM sessions WHERE id = ?", (session_id,))

    @guarded
    def delete_turn(self, turn_id: int) -> None:
        """Remove one turn with its attachments, reply and feedback (cascade) and its search
        entry (trigger), e.g. a message sent to the wrong conversation."""
        self._require("turns", turn_id)
        with self._writing():
            self._conn.execute("DELETE FROM turns WHERE id = ?", (turn_id,))

    @guarded
    def end_session(self, session_id: int) -> None:
        """Mark a conversation closed (its `ended` time is set once)."""
        self._require("sessions", session_id)
        with self._writing():
            self.db.execute(
                "UPDATE sessions SET ended = ? WHERE id = ? AND ended IS NULL",
                [now_iso(), session_id],
            )

    # ---- turns and attachments -----------------------------------------------------------

    @guarded
    def add_turn(self, session_id: int, turn: Turn) -> int:
        """Write one turn with copies of its image/audio files, committed before returning;
        sets `turn.id`. The one-row case of `add_turns_bulk` (as sqlite-utils' `insert` is
        `insert_all` of one record), so both write turns the same way."""
        self.add_turns_bulk([(session_id, turn, None)])
        return int(turn.id)

    @guarded
    def set_turn_text(self, turn_id: int, text: str) -> None:
        """Fill in a turn's text after the fact (a recording kept first, its transcript later)."""
        if not isinstance(text, str):
            raise InputError("A turn's text must be a string.")
        self._require("turns", turn_id)
        with self._writing():
            self._conn.execute("UPDATE turns SET text = ? WHERE id = ?", (text, turn_id))

    @guarded
    def add_turns_bulk(self, items: Iterable[tuple[int, Turn, Reply | None]]) -> int:
        """Write many (session id, turn, reply or None) in one transaction, with copies of each
        turn's image/audio files; sets their ids once committed. Returns the number written.

        Everything is checked before anything is written (turn fields, sessions, media files),
        so a bad item refuses the whole lot. Rows go in with `executemany` and ids handed out
        here, so the cost stays close to raw sqlite3.
        """
        items = list(items)
        for _, turn, _ in items:
            check_turn(turn)
        self._require_sessions({session_id for session_id, _, _ in items})
        media = [[(kind, read_media(kind, file)) for kind, file in _turn_files(turn)]
                 for _, turn, _ in items]  # read (and refuse) before writing
        with self._writing():
            first_turn = self._next_id("turns")
            turn_ids = range(first_turn, first_turn + len(items))
            next_reply = self._next_id("replies") if any(r for _, _, r in items) else 0
            seqs = self._next_seqs({session_id for session_id, _, _ in items})
            turn_rows, reply_rows, reply_ids = [], [], []
            stamp = now_iso()
            for turn_id, (session_id, turn, reply) in zip(turn_ids, items, strict=True):
                turn_rows.append(
                    (turn_id, session_id, seqs[session_id], turn.role, turn.text, turn.source,
                     stamp)
                )
                seqs[session_id] += 1
                if reply is not None:
                    reply_rows.append((next_reply, *reply_values(reply, turn_id), stamp))
                    reply_ids.append(next_reply)
                    next_reply += 1
            self._conn.executemany(
                "INSERT INTO turns (id, session, seq, role, text, source, created) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                turn_rows,
            )
            if reply_rows:
                self._conn.executemany(REPLY_INSERT_WITH_ID, reply_rows)
            for turn_id, files in zip(turn_ids, media, strict=True):
                for kind, (data, meta) in files:
                    self.insert_attachment_row(turn_id, kind, data, **meta)
        replies = iter(reply_ids)
        for turn_id, (_, turn, reply) in zip(turn_ids, items, strict=True):
            turn.id = turn_id
            if reply is not None:
                reply.id, reply.turn_id = next(replies), turn_id
        return len(turn_rows)

    @guarded
    def add_attachment(
        self,
        turn_id: int,
        kind: str,
        data: bytes,
        *,
        mime: str,
        width: int | None = None,
        height: int | None = None,
        duration: float | None = None,
        ocr_text: str | None = None,
        ocr_json: str | None = None,
    ) -> int:
        """Attach raw bytes (a pasted screenshot, a recording) to a stored turn."""
        if kind not in ATTACHMENT_KINDS:
            raise InputError(f"An attachment is an image or audio, not {kind!r}.")
        self._require("turns", turn_id)
        with self._writing():
            return self.insert_attachment_row(
                turn_id, kind, bytes(data), mime=mime, width=width, height=height,
                duration=duration, ocr_text=ocr_text, ocr_json=ocr_json,
            )

    @guarded
    def set_ocr(self, attachment_id: int, ocr_text: str, ocr_json: str) -> None:
        """Keep the text read from a screenshot; it becomes searchable at once."""
        self._require("attachments", attachment_id)
        with self._writing():
            self.db["attachments"].update(
                attachment_id, {"ocr_text": ocr_text, "ocr_json": ocr_json}
            )

    # ---- replies and feedback ------------------------------------------------------------

    @guarded
    def add_reply(self, turn_id: int, reply: Reply) -> int:
        """Keep what the assistant proposed for a turn; sets `reply.id`."""
        self._require("turns", turn_id)
        with self._writing():
            cursor = self._conn.execute(
                REPLY_INSERT, (*reply_values(reply, turn_id), now_iso())
            )
        reply.id, reply.turn_id = int(cursor.lastrowid), turn_id
        return reply.id

    @guarded
    def add_feedback(
        self,
        reply_id: int,
        action: str,
        *,
        corrected_intent: str | None = None,
        final_answer: str | None = None,
    ) -> int:
        """Record what the agent did with a reply: the label source for retraining."""
        if action not in FEEDBACK_ACTIONS:
            raise InputError(
                f"Feedback must be one of {', '.join(FEEDBACK_ACTIONS)}, not {action!r}."
            )
        if action == "corrected" and not corrected_intent:
            raise InputError("A correction needs the intent the agent chose.")
        self._require("replies", reply_id)
        row = {
            "reply": reply_id, "action": action, "corrected_intent": corrected_intent,
            "final_answer": final_answer, "created": now_iso(),
        }
        with self._writing():
            return int(self.db["feedback"].insert(row).last_pk)

    # ---- internals -----------------------------------------------------------------------

    def _require_sessions(self, session_ids: set[int]) -> None:
        """InputError naming the first of `session_ids` that does not exist."""
        wanted = json.dumps(sorted(session_ids))
        found = {row[0] for row in self.db.execute(
            "SELECT id FROM sessions WHERE id IN (SELECT value FROM json_each(?))", [wanted])}
        missing = session_ids - found
        if missing:
            raise InputError(f"Session {min(missing)} does not exist in the store.")

    def _next_seqs(self, session_ids: set[int]) -> dict[int, int]:
        """Next free seq of each session (one another process deleted since `_require_sessions`
        is refused by the foreign key). One max(seq) per session, which SQLite reads off the
        end of the (session, seq) index: a GROUP BY over the sessions' turns would read every
        turn, 19 ms a write in a 50k-turn session."""
        return dict(self.db.execute(
            "SELECT value, (SELECT coalesce(max(seq), 0) + 1 FROM turns WHERE session = value) "
            "FROM json_each(?)", [json.dumps(sorted(session_ids))]).fetchall())

    def _next_id(self, table: str) -> int:
        return int(self.db.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}").fetchone()[0])

    def insert_attachment_row(self, turn_id: int, kind: str, data: bytes, **meta: Any) -> int:
        """Insert an attachment row inside the caller's transaction (for add_turn and import)."""
        row = {
            "turn": turn_id, "kind": kind, "sha256": hashlib.sha256(data).hexdigest(),
            "data": data, "size": len(data), "created": now_iso(), **meta,
        }
        return int(self.db["attachments"].insert(row).last_pk)


def _turn_files(turn: Turn) -> list[tuple[str, Path]]:
    """The (kind, path) of each file a turn brings: its screenshots, then its recording."""
    files = [("image", Path(p)) for p in turn.images]
    return files + ([("audio", Path(turn.audio))] if turn.audio is not None else [])
