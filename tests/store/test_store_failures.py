"""The store with bad files and bad input: one sentence each, nothing stored damaged."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from engine.errors import InputError, StoreError
from engine.store.database import Store
from engine.types import Turn
from tests.sessions import file_digest, reply_for


def test_corrupt_file_gives_one_sentence_and_is_not_touched(tmp_path: Path) -> None:
    path = tmp_path / "frontdesk.db"
    path.write_bytes(os.urandom(8192))
    before = file_digest(path)
    with pytest.raises(StoreError, match="damaged or is not a Frontdesk database"):
        Store(path)
    assert file_digest(path) == before


def test_another_programs_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="another program"):
        Store(path)


def test_unwritable_location_is_reported(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data folder should be")
    with pytest.raises(StoreError, match="cannot write its database"):
        Store(blocker / "frontdesk.db")


def test_locked_database_is_reported_at_open(tmp_path: Path) -> None:
    path = tmp_path / "busy.db"
    Store(path).close()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("PRAGMA locking_mode=EXCLUSIVE")
    other.execute("BEGIN EXCLUSIVE")
    other.execute("INSERT INTO meta VALUES ('holder', 'other program')")
    try:
        with pytest.raises(StoreError, match="in use by another program"):
            Store(path, timeout=0.2)
    finally:
        other.execute("ROLLBACK")
        other.close()
    with Store(path) as store:
        assert store.db.execute("SELECT count(*) FROM meta WHERE key='holder'").fetchone()[0] == 0


def test_write_lock_held_elsewhere_fails_the_write_not_the_data(tmp_path: Path) -> None:
    path = tmp_path / "busy.db"
    store = Store(path, timeout=0.2)
    session = store.new_session()
    store.add_turn(session, Turn(text="kept"))
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreError, match="in use"):
            store.add_turn(session, Turn(text="blocked"))
        assert [t["text"] for t in store.turns(session)] == ["kept"]  # reads still work (WAL)
    finally:
        other.execute("ROLLBACK")
        other.close()
    store.add_turn(session, Turn(text="after"))
    assert [t["text"] for t in store.turns(session)] == ["kept", "after"]
    store.close()


def test_full_disk_fails_cleanly_and_keeps_what_was_committed(store: Store) -> None:
    session = store.new_session()
    pages = store.db.execute("PRAGMA page_count").fetchone()[0]
    store.db.execute(f"PRAGMA max_page_count = {pages + 8}")  # SQLite's own SQLITE_FULL path
    written = []
    with pytest.raises(StoreError, match="is full"):
        for i in range(200):
            store.add_turn(session, Turn(text=f"message {i} " + "x" * 3000))
            written.append(i)
    assert 0 < len(written) < 200
    assert len(store.turns(session)) == len(written)
    assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_bad_input_is_refused_before_anything_is_written(
    store: Store, tmp_path: Path, store_screenshot: Path
) -> None:
    session = store.new_session()
    not_an_image = tmp_path / "notes.png"
    not_an_image.write_text("this is text, not a picture")
    with pytest.raises(InputError, match="not an image"):
        store.add_turn(session, Turn(text="see attached", images=[store_screenshot, not_an_image]))
    with pytest.raises(InputError, match="Cannot read image"):
        store.add_turn(session, Turn(text="see attached", images=[tmp_path / "missing.png"]))
    with pytest.raises(InputError, match="Session 999 does not exist"):
        store.add_turn(999, Turn(text="hello"))
    with pytest.raises(InputError, match="role"):
        store.add_turn(session, Turn(text="hello", role="robot"))  # type: ignore[arg-type]
    assert store.count("turns") == 0 and store.count("attachments") == 0

    turn_id = store.add_turn(session, Turn(text="hello"))
    reply = reply_for("greeting")
    store.add_reply(turn_id, reply)
    with pytest.raises(InputError, match="Feedback must be one of"):
        store.add_feedback(reply.id, "liked")
    with pytest.raises(InputError, match="needs the intent"):
        store.add_feedback(reply.id, "corrected")
    with pytest.raises(InputError, match="Reply 12345 does not exist"):
        store.add_feedback(12345, "accepted")
    with pytest.raises(InputError, match="image or audio"):
        store.add_attachment(turn_id, "video", b"...", mime="video/mp4")
    assert store.count("feedback") == 0


def test_a_bulk_write_refused_by_a_full_disk_hands_out_no_ids(store: Store) -> None:
    """Ids are set once the rows are committed: a turn whose write failed keeps `id` None and
    can be written again later (the bulk path used to set them before the commit)."""
    session = store.new_session()
    pages = store.db.execute("PRAGMA page_count").fetchone()[0]
    store.db.execute(f"PRAGMA max_page_count = {pages + 2}")  # SQLite's own SQLITE_FULL path
    turns = [Turn(text=f"message {i} " + "x" * 3000) for i in range(20)]
    replies = [reply_for("refund") for _ in turns]
    with pytest.raises(StoreError, match="is full"):
        store.add_turns_bulk((session, t, r) for t, r in zip(turns, replies, strict=True))
    assert all(t.id is None for t in turns) and all(r.id is None for r in replies)
    assert store.count("turns") == 0 and store.count("replies") == 0
    store.db.execute(f"PRAGMA max_page_count = {2**30}")
    assert store.add_turns_bulk((session, t, r) for t, r in zip(turns, replies, strict=True))
    assert [t["id"] for t in store.turns(session)] == [t.id for t in turns]
