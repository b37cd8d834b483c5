"""The session store on real SQLite files: schema, round trips, search, failures, crashes."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from engine import paths
from engine.errors import InputError, StoreError
from engine.store.database import Store
from engine.store.schema import LATEST_VERSION, MIGRATIONS, apply_migrations
from engine.types import Turn
from tests.conftest import ROOT
from tests.sessions import file_digest, fill_conversation, reply_for

# ---- a new file --------------------------------------------------------------------------


def test_new_store_is_private_in_wal_mode_at_the_latest_schema(home: Path) -> None:
    store = Store.open(home)
    db_file = paths.database(home)
    assert db_file.stat().st_mode & 0o777 == 0o600
    assert store.db.journal_mode == "wal"
    store.new_session()  # a write creates the -wal and -shm files beside it
    for side in ("-wal", "-shm"):
        assert Path(f"{db_file}{side}").stat().st_mode & 0o777 == 0o600
    assert store.schema_version == LATEST_VERSION == MIGRATIONS[-1][0]
    versions = [row[0] for row in store.db.execute("SELECT version FROM schema_migrations")]
    assert versions == [number for number, _, _ in MIGRATIONS]
    desk = store.desk_id
    store.close()
    with Store.open(home) as again:
        assert again.desk_id == desk and len(desk) == 32


def test_existing_file_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    Store(path).close()
    os.chmod(path, 0o644)
    Store(path).close()
    assert path.stat().st_mode & 0o777 == 0o600


# ---- round trips -------------------------------------------------------------------------


def test_conversation_round_trip_survives_reopening(
    home: Path, store_screenshot: Path, store_recording: Path
) -> None:
    store = Store.open(home)
    talk = fill_conversation(store, store_screenshot)
    voice = Turn(text="ask not what your country can do", source="voice", audio=store_recording)
    store.add_turn(talk.session_id, voice)
    store.close()

    store = Store.open(home)
    turns = store.turns(talk.session_id)
    assert [t["id"] for t in turns] == [t.id for t in talk.turns] + [voice.id]
    assert [t["seq"] for t in turns] == [1, 2, 3, 4, 5]
    assert [t["text"] for t in turns[:4]] == [t.text for t in talk.turns]
    assert [t["role"] for t in turns] == ["customer", "agent", "customer", "customer", "customer"]

    image = turns[0]["attachments"][0]
    with Image.open(store_screenshot) as original:
        assert (image["width"], image["height"]) == original.size
    assert image["kind"] == "image" and image["mime"] == "image/png"
    assert image["sha256"] == file_digest(store_screenshot)
    assert store.attachment_bytes(image["id"]) == store_screenshot.read_bytes()
    audio = turns[4]["attachments"][0]
    assert audio["kind"] == "audio" and audio["duration"] == pytest.approx(11.0, abs=0.05)
    assert store.attachment_bytes(audio["id"]) == store_recording.read_bytes()
    assert turns[4]["source"] == "voice"

    first, _, second, third, _ = (t["reply"] for t in turns)
    written = talk.replies[0]
    assert first["id"] == written.id and first["intent"] == "track_order"
    assert first["top"] == [(name, pytest.approx(score)) for name, score in written.top]
    assert first["entities"][0]["value"] == "55231"
    assert first["evidence"] == written.evidence.to_dict()
    assert first["model_version"] == "test-1" and first["latency_ms"] == 42.0
    assert first["feedback"]["action"] == "corrected"
    assert first["feedback"]["corrected_intent"] == "refund"
    assert second["feedback"]["action"] == "accepted"
    assert third["feedback"] is None and turns[1]["reply"] is None
    store.close()


def test_latest_feedback_is_the_one_shown(store: Store, store_screenshot: Path) -> None:
    talk = fill_conversation(store, store_screenshot)
    reply = talk.replies[2]
    store.add_feedback(reply.id, "rejected")
    store.add_feedback(reply.id, "edited", final_answer="Bye now!")
    shown = store.turns(talk.session_id)[3]["reply"]["feedback"]
    assert (shown["action"], shown["final_answer"]) == ("edited", "Bye now!")


def test_sessions_are_listed_newest_first_and_renamed_and_ended(store: Store) -> None:
    first = store.new_session(agent="ann")
    second = store.new_session(agent="bob", channel="email")
    store.add_turn(second, Turn(text="Where is my parcel?"))
    store.rename_session(first, "Billing question")
    store.end_session(first)
    listed = store.sessions()
    assert [s["id"] for s in listed] == [second, first]
    assert listed[0]["preview"] == "Where is my parcel?" and listed[0]["turn_count"] == 1
    assert listed[1]["title"] == "Billing question" and listed[1]["ended"]
    assert store.session(second)["channel"] == "email"


def test_bulk_turns_continue_a_conversation(store: Store) -> None:
    session = store.new_session()
    store.add_turn(session, Turn(text="first"))
    turns = [Turn(text=f"bulk {i}", role="customer" if i % 2 else "agent") for i in range(5)]
    replies = [reply_for("refund") if i % 2 else None for i in range(5)]
    assert store.add_turns_bulk((session, t, r) for t, r in zip(turns, replies, strict=True)) == 5
    stored = store.turns(session)
    assert [t["seq"] for t in stored] == list(range(1, 7))
    assert [t["id"] for t in stored[1:]] == [t.id for t in turns]
    assert [bool(t["reply"]) for t in stored[1:]] == [r is not None for r in replies]
    assert all(r.turn_id == t.id for t, r in zip(turns, replies, strict=True) if r)
    assert store.search("bulk 3")[0]["id"] == turns[3].id


def test_store_made_in_one_thread_is_used_in_another(store: Store) -> None:
    session = store.new_session()
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            store.add_turn(session, Turn(text="from the engine thread"))
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert not errors and store.turns(session)[0]["text"] == "from the engine thread"


# ---- OCR and search ----------------------------------------------------------------------


def test_ocr_text_is_searchable_and_reused_by_sha256(
    store: Store, store_screenshot: Path
) -> None:
    talk = fill_conversation(store, store_screenshot)
    image = store.attachments(talk.turns[0].id)[0]
    assert store.ocr_for_sha256(image["sha256"]) is None
    assert store.search("brown dog") == []
    store.set_ocr(image["id"], "The quick brown dog jumped over the lazy fox", '[{"box": 1}]')

    found = store.search("brown dog")
    assert [hit["id"] for hit in found] == [talk.turns[0].id]
    assert "[brown]" in found[0]["snippet"]
    assert store.ocr_for_sha256(image["sha256"]) == (
        "The quick brown dog jumped over the lazy fox", '[{"box": 1}]'
    )
    assert [s["id"] for s in store.sessions("lazy fox")] == [talk.session_id]
    assert store.sessions("zebra") == []


def test_search_matches_words_stems_and_prefixes(store: Store, store_screenshot: Path) -> None:
    talk = fill_conversation(store, store_screenshot)
    refund_turn = talk.turns[2].id
    assert [h["id"] for h in store.search("refunds")] == [refund_turn]  # porter stemming
    assert [h["id"] for h in store.search("refu")] == [refund_turn]  # typing prefix
    assert [h["id"] for h in store.search("jacket ORDER")] == [talk.turns[0].id]
    assert store.search("jacket refund") == []  # every word must match
    assert all(h["session"] == talk.session_id for h in store.search("the"))


@given(st.text(max_size=40))
@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_query_string_is_safe(store: Store, query: str) -> None:
    assert isinstance(store.search(query), list)
    assert isinstance(store.sessions(query), list)


# ---- migrations --------------------------------------------------------------------------


def test_version_1_file_is_upgraded_and_its_rows_become_searchable(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    assert apply_migrations(conn, upto=1) == 1
    conn.execute("INSERT INTO sessions (id, started) VALUES (1, '2024-01-02T10:00:00.000+00:00')")
    conn.execute("INSERT INTO turns (id, session, seq, role, text, source, created) VALUES "
                 "(1, 1, 1, 'customer', 'my parcel is lost', 'typed', '2024-01-02')")
    conn.execute("INSERT INTO attachments (turn, kind, sha256, data, ocr_text, created) VALUES "
                 "(1, 'image', 'abc', x'00', 'tracking number unknown', '2024-01-02')")
    conn.commit()
    conn.close()

    with Store(path) as store:
        assert store.schema_version == LATEST_VERSION
        assert [h["id"] for h in store.search("parcel")] == [1]
        assert [h["id"] for h in store.search("tracking")] == [1]  # OCR text indexed too
        assert "origin" in store.db["turns"].columns_dict
        assert store.turns(1)[0]["text"] == "my parcel is lost"
        session = store.sessions()[0]
        assert session["id"] == 1 and session["turn_count"] == 1
    backup = tmp_path / "old.db.schema1.bak"  # the file as it was, kept before upgrading
    assert backup.stat().st_mode & 0o777 == 0o600
    kept = sqlite3.connect(backup)
    assert kept.execute("SELECT max(version) FROM schema_migrations").fetchone()[0] == 1
    assert kept.execute("SELECT text FROM turns").fetchone()[0] == "my parcel is lost"
    kept.close()


def test_newer_schema_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    with Store(path) as store:
        store.db.execute("INSERT INTO schema_migrations VALUES (99, 'from the future', 'x')")
    before = file_digest(path)
    with pytest.raises(StoreError, match="newer Frontdesk") as err:
        Store(path)
    assert str(err.value).count(".") >= 1 and "\n" not in str(err.value)
    assert file_digest(path) == before


# ---- crash safety ------------------------------------------------------------------------

WRITER = """
import sys
from engine.store.database import Store
from engine.types import Turn
store = Store(sys.argv[1])
session = store.new_session()
i = 0
while True:
    i += 1
    if i % 4 == 0:
        batch = [Turn(text=f"bulk {i} part {k} " + "x" * 1500) for k in range(300)]
        store.add_turns_bulk((session, turn, None) for turn in batch)
        print("bulk", i, batch[0].id, batch[-1].id, flush=True)
    else:
        turn = Turn(text=f"single {i}")
        store.add_turn(session, turn)
        print("single", i, turn.id, flush=True)
"""


def test_killed_writer_loses_no_committed_turn(tmp_path: Path) -> None:
    path = tmp_path / "crash.db"
    child = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    committed = []
    try:
        for line in child.stdout:  # type: ignore[union-attr]
            committed.append(line.split())
            if len(committed) >= 40:
                break
    finally:
        os.kill(child.pid, signal.SIGKILL)  # mid-write: the child never stops writing
        child.wait()
    assert child.returncode == -signal.SIGKILL and len(committed) >= 40

    with Store(path) as store:
        assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        texts = {row["id"]: row["text"] for row in store.db.query("SELECT id, text FROM turns")}
        for kind, i, *ids in committed:
            if kind == "single":
                assert texts[int(ids[0])] == f"single {i}"
            else:
                first, last = int(ids[0]), int(ids[1])
                assert all(texts[n].startswith(f"bulk {i} part ") for n in range(first, last + 1))
        bulk_sizes: dict[str, int] = {}
        for text in texts.values():
            if text.startswith("bulk "):
                key = text.split()[1]
                bulk_sizes[key] = bulk_sizes.get(key, 0) + 1
        assert set(bulk_sizes.values()) == {300}  # a batch is all there or not at all


RACER = """
import sys
from engine.store.database import Store
from engine.types import Turn
store = Store(sys.argv[1])
session = store.new_session(agent=sys.argv[2])
for i in range(25):
    store.add_turn(session, Turn(text=f"{sys.argv[2]} {i}"))
print(store.desk_id)
"""


def test_processes_opening_and_writing_one_new_file_at_once(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    racers = [
        subprocess.Popen([sys.executable, "-c", RACER, str(path), f"agent{n}"], cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for n in range(3)
    ]
    results = [racer.communicate(timeout=120) for racer in racers]
    assert [racer.returncode for racer in racers] == [0, 0, 0], [err for _, err in results]
    assert len({out.strip() for out, _ in results}) == 1  # one desk id for one file
    with Store(path) as store:
        assert store.count("sessions") == 3 and store.count("turns") == 75
        assert store.schema_version == LATEST_VERSION


def test_bulk_turns_copy_media_and_refuse_bad_files_whole(
    store: Store, store_screenshot: Path, store_recording: Path, tmp_path: Path
) -> None:
    session = store.new_session()
    shot = Turn(text="see screenshot", source="image", images=[store_screenshot])
    voice = Turn(text="spoken", source="voice", audio=store_recording)
    assert store.add_turns_bulk([(session, shot, None), (session, voice, reply_for("x"))]) == 2
    assert store.attachments(shot.id)[0]["sha256"] == file_digest(store_screenshot)
    assert store.attachments(voice.id)[0]["duration"] == pytest.approx(11.0, abs=0.05)

    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot really audio")
    with pytest.raises(InputError, match="not an audio file"):
        store.add_turns_bulk([(session, Turn(text="ok"), None),
                              (session, Turn(text="bad", audio=broken), None)])
    assert store.count("turns") == 2 and store.count("attachments") == 2
