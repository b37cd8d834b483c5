"""The store's schema as an ordered list of migrations, recorded in `schema_migrations`.

A migration is frozen once released: change the schema by appending one. Each runs in its own
transaction with its version row, so a file is always at exactly one known version.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone

MIGRATIONS: list[tuple[int, str, str]] = [
    (1, "core tables", """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    started TEXT NOT NULL,
    ended TEXT,
    agent TEXT,
    channel TEXT NOT NULL DEFAULT 'chat',
    title TEXT
);
CREATE INDEX sessions_started ON sessions (started);
CREATE TABLE turns (
    id INTEGER PRIMARY KEY,
    session INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('customer', 'agent', 'assistant')),
    text TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL DEFAULT 'typed' CHECK (source IN ('typed', 'voice', 'image')),
    created TEXT NOT NULL,
    UNIQUE (session, seq)
);
CREATE TABLE attachments (
    id INTEGER PRIMARY KEY,
    turn INTEGER NOT NULL REFERENCES turns (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('image', 'audio')),
    sha256 TEXT NOT NULL,
    data BLOB,
    path TEXT,
    mime TEXT,
    size INTEGER,
    width INTEGER,
    height INTEGER,
    duration REAL,
    ocr_text TEXT,
    ocr_json TEXT,
    created TEXT NOT NULL,
    CHECK (data IS NOT NULL OR path IS NOT NULL)
);
CREATE INDEX attachments_turn ON attachments (turn);
CREATE INDEX attachments_sha256 ON attachments (sha256);
CREATE TABLE replies (
    id INTEGER PRIMARY KEY,
    turn INTEGER NOT NULL REFERENCES turns (id) ON DELETE CASCADE,
    intent TEXT NOT NULL,
    confidence REAL,
    level TEXT,
    top TEXT,
    entities TEXT,
    draft TEXT,
    source TEXT,
    evidence TEXT,
    model_version TEXT,
    latency_ms REAL,
    created TEXT NOT NULL
);
CREATE INDEX replies_turn ON replies (turn);
CREATE INDEX replies_created ON replies (created);
CREATE TABLE feedback (
    id INTEGER PRIMARY KEY,
    reply INTEGER NOT NULL REFERENCES replies (id) ON DELETE CASCADE,
    action TEXT NOT NULL CHECK (action IN ('accepted', 'edited', 'rejected', 'corrected')),
    corrected_intent TEXT,
    final_answer TEXT,
    created TEXT NOT NULL
);
CREATE INDEX feedback_reply ON feedback (reply);
"""),
    (2, "full-text search over turns and OCR text", """
CREATE VIRTUAL TABLE turns_fts USING fts5 (text, ocr, tokenize = 'porter unicode61');
INSERT INTO turns_fts (rowid, text, ocr)
    SELECT t.id, t.text, coalesce((SELECT group_concat(a.ocr_text, ' ') FROM attachments a
                                   WHERE a.turn = t.id), '')
    FROM turns t;
CREATE TRIGGER turns_fts_insert AFTER INSERT ON turns BEGIN
    INSERT INTO turns_fts (rowid, text, ocr) VALUES (new.id, new.text, '');
END;
CREATE TRIGGER turns_fts_update AFTER UPDATE OF text ON turns BEGIN
    UPDATE turns_fts SET text = new.text WHERE rowid = new.id;
END;
CREATE TRIGGER turns_fts_delete AFTER DELETE ON turns BEGIN
    DELETE FROM turns_fts WHERE rowid = old.id;
END;
CREATE TRIGGER attachments_fts_insert AFTER INSERT ON attachments
WHEN new.ocr_text IS NOT NULL BEGIN
    UPDATE turns_fts SET ocr = (SELECT group_concat(ocr_text, ' ') FROM attachments
                                WHERE turn = new.turn) WHERE rowid = new.turn;
END;
CREATE TRIGGER attachments_fts_update AFTER UPDATE OF ocr_text ON attachments BEGIN
    UPDATE turns_fts SET ocr = coalesce((SELECT group_concat(ocr_text, ' ') FROM attachments
                                         WHERE turn = new.turn), '') WHERE rowid = new.turn;
END;
"""),
    (3, "origin ids of imported rows (merging desks without duplicates)", """
ALTER TABLE sessions ADD COLUMN origin TEXT;
ALTER TABLE turns ADD COLUMN origin TEXT;
ALTER TABLE replies ADD COLUMN origin TEXT;
CREATE UNIQUE INDEX sessions_origin ON sessions (origin);
CREATE UNIQUE INDEX turns_origin ON turns (origin);
CREATE UNIQUE INDEX replies_origin ON replies (origin);
"""),
    # SQLite cannot change a CHECK in place: the table is rebuilt with its ids, and nothing
    # refers to feedback rows (no foreign key, trigger or FTS), so dropping the old one is safe.
    # Hand-offs recorded before this as 'rejected' cannot be told apart and stay so.
    (4, "hand-off as its own feedback", """
CREATE TABLE feedback_new (
    id INTEGER PRIMARY KEY,
    reply INTEGER NOT NULL REFERENCES replies (id) ON DELETE CASCADE,
    action TEXT NOT NULL
        CHECK (action IN ('accepted', 'edited', 'rejected', 'corrected', 'handoff')),
    corrected_intent TEXT,
    final_answer TEXT,
    created TEXT NOT NULL
);
INSERT INTO feedback_new (id, reply, action, corrected_intent, final_answer, created)
    SELECT id, reply, action, corrected_intent, final_answer, created FROM feedback;
DROP TABLE feedback;
ALTER TABLE feedback_new RENAME TO feedback;
CREATE INDEX feedback_reply ON feedback (reply);
"""),
]
LATEST_VERSION = MIGRATIONS[-1][0]


def current_version(conn: sqlite3.Connection) -> int:
    """The highest migration applied to a file (0 for an empty file)."""
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
    ).fetchone()
    if not exists:
        return 0
    return int(conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations")
               .fetchone()[0])


def apply_migrations(conn: sqlite3.Connection, upto: int = LATEST_VERSION) -> int:
    """Bring a file up to version `upto`, one transaction per migration; returns the version."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations "
        "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied TEXT NOT NULL)"
    )
    conn.commit()
    version = current_version(conn)
    for number, name, sql in MIGRATIONS:
        if version < number <= upto:
            applied = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
            record = name.replace("'", "''")
            try:
                conn.executescript(
                    f"BEGIN IMMEDIATE;\n{sql}\nINSERT INTO schema_migrations VALUES "
                    f"({number}, '{record}', '{applied}');\nCOMMIT;"
                )
            except sqlite3.Error:
                if conn.in_transaction:
                    conn.rollback()
                if current_version(conn) < number:  # not another process opening it too
                    raise
            version = number
    return version
