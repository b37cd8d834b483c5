"""The store at its edges, on real files: a read-only file, damaged pages, a large import beside
another writer, first turns that fail, recordings over the size limit."""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import stat
import subprocess
import sys
import time
import wave
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.cli import main as cli
from engine.errors import InputError, StoreError
from engine.store import database as store_module
from engine.store.database import Store
from engine.types import Turn
from tests.sessions import file_digest, fill_conversation

ROOT = Path(__file__).resolve().parents[2]  # the repository (this file is two below it)


def _one_sentence(message: str) -> bool:
    return "\n" not in message and message.endswith(".") and message.count(". ") == 0


def test_read_only_file_is_read_never_made_writable(
    home: Path, store_screenshot: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Store.open(home) as store:
        talk = fill_conversation(store, store_screenshot)
    path = home / "frontdesk.db"
    os.chmod(path, 0o444)
    before = file_digest(path)

    with Store.open(home) as store:
        assert stat.S_IMODE(path.stat().st_mode) == 0o444  # not made 0600 behind the user
        assert store.read_only
        assert [t["text"] for t in store.turns(talk.session_id)] == [t.text for t in talk.turns]
        assert store.search("jacket")[0]["session"] == talk.session_id
        with pytest.raises(StoreError) as caught:
            store.add_turn(talk.session_id, Turn(text="one more"))
        assert "read-only" in str(caught.value) and _one_sentence(str(caught.value))
        with pytest.raises(StoreError, match="read-only"):
            store.new_session()

    assert cli(["--home", str(home), "sessions", "jacket"]) == 0
    assert "Jacket never arrived" in capsys.readouterr().out
    out = tmp_path / "out" / "export.jsonl"
    assert cli(["--home", str(home), "export", str(out)]) == 0
    assert len(out.read_text().splitlines()) == 3
    assert cli(["--home", str(home), "import", str(out)]) == 3  # a write: one sentence, rc 3
    assert "read-only" in capsys.readouterr().err

    assert stat.S_IMODE(path.stat().st_mode) == 0o444  # the user's choice stands
    assert file_digest(path) == before
    with Store.open(home) as store:
        assert store.count("turns") == len(talk.turns) and store.count("replies") == 3


def _damage_pages(path: Path, table: str, pages: int = 3) -> None:
    """Overwrite some of `table`'s b-tree leaf pages in the middle of a real file with noise,
    as a bad disk sector would (the page numbers come from SQLite's dbstat table)."""
    conn = sqlite3.connect(path)
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    leaves = [row[0] for row in conn.execute(
        "SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf' ORDER BY pageno",
        [table])]
    conn.close()
    assert len(leaves) > 10
    middle = len(leaves) // 2
    noise = random.Random(7)
    with open(path, "r+b") as file:
        for page in leaves[middle:middle + pages]:
            file.seek((page - 1) * page_size)
            file.write(bytes(noise.randrange(256) for _ in range(page_size)))


@pytest.fixture
def damaged_home(home: Path) -> Path:
    """A data folder whose store (2,000 turns) has three damaged pages of the turns table."""
    with Store.open(home) as store:
        session = store.new_session()
        store.add_turns_bulk(
            (session, Turn(text=f"order {i} never arrived, please refund me " * 3), None)
            for i in range(2000))
    _damage_pages(home / "frontdesk.db", "turns")
    return home


def test_damaged_pages_are_found_at_open_and_nothing_is_written(
    damaged_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = damaged_home / "frontdesk.db"
    before = file_digest(path)
    with pytest.raises(StoreError) as caught:
        Store.open(damaged_home)
    message = str(caught.value)
    assert "damaged" in message and ".recover" in message and _one_sentence(message)
    assert cli(["--home", str(damaged_home), "sessions"]) == 3
    assert "damaged" in capsys.readouterr().err
    assert file_digest(path) == before and not Path(f"{path}-wal").exists()


def test_a_big_store_checked_after_open_refuses_its_first_write(
    damaged_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store too big to check within the wait at open: the check goes on in the background
    and the first write waits for it."""
    monkeypatch.setattr(store_module, "OPEN_CHECK_WAIT_S", 0.0)
    path = damaged_home / "frontdesk.db"
    before = file_digest(path)
    try:
        store = Store.open(damaged_home)
    except StoreError as err:  # the check finished before open looked: refused there
        assert "damaged" in str(err)
    else:
        with store:
            with pytest.raises(StoreError, match="damaged"):
                store.new_session()
            with pytest.raises(StoreError, match="damaged"):
                store.sessions()  # once damage is known, reads say so too
    assert file_digest(path) == before


def _shell_can_recover(tmp_path: Path) -> bool:
    """The sqlite3 shell is installed and its `.recover` works (Debian 12's 3.40.1 lacks the
    sqlite_dbpage table it needs and prints no rows)."""
    if shutil.which("sqlite3") is None:
        return False
    probe = tmp_path / "probe.db"
    subprocess.run(["sqlite3", str(probe), "CREATE TABLE t (a); INSERT INTO t VALUES (1);"])
    dump = subprocess.run(["sqlite3", str(probe), ".recover"], capture_output=True, text=True)
    return "INSERT" in dump.stdout


def test_the_recovery_the_message_names_works(damaged_home: Path, tmp_path: Path) -> None:
    if not _shell_can_recover(tmp_path):
        pytest.skip("this sqlite3 shell cannot .recover")
    path = damaged_home / "frontdesk.db"
    recovered = damaged_home / "recovered.db"
    dump = subprocess.run(["sqlite3", str(path), ".recover"], capture_output=True)
    subprocess.run(["sqlite3", str(recovered)], input=dump.stdout, check=True)
    recovered.replace(path)
    with Store.open(damaged_home) as store:
        assert 1500 < store.count("turns") < 2000  # what the damaged pages held is lost
        store.add_turn(store.new_session(), Turn(text="the desk works again"))


def _big_export(folder: Path, sessions: int = 3000, per_session: int = 8) -> Path:
    """A real export of `sessions` x `per_session / 2` replied customer turns."""
    from engine.exchange.records import export_records
    from tests.sessions import reply_for

    with Store(folder / "desk.db") as desk:
        ids = [desk.new_session() for _ in range(sessions)]
        desk.add_turns_bulk(
            (session, Turn(text=f"order {session}-{i} never came, refund please",
                           role="customer" if i % 2 == 0 else "agent"),
             reply_for("refund") if i % 2 == 0 else None)
            for session in ids for i in range(per_session))
        out = folder / "export" / "desk.jsonl"
        export_records(desk, out, redact=False)
    return out


def test_a_large_import_lets_another_process_write_meanwhile(home: Path, tmp_path: Path) -> None:
    """A 12,000-record import (one 2-3 s transaction before) beside a desk writing a turn every
    20 ms with a 2 s busy timeout: every turn is stored, some in between the import's batches."""
    export = _big_export(tmp_path)
    Store.open(home).close()
    importer = subprocess.Popen(
        [sys.executable, "-m", "engine", "--home", str(home), "import", str(export)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    written, waits = [], []
    with Store(home / "frontdesk.db", timeout=2.0) as desk:
        session = desk.new_session(title="the desk at work")
        while importer.poll() is None:
            started = time.perf_counter()
            written.append(desk.add_turn(session, Turn(text=f"customer line {len(written)}")))
            waits.append(time.perf_counter() - started)
            time.sleep(0.02)
        out, err = importer.communicate()
        assert importer.returncode == 0, err
        assert "Imported 12000 records" in out
        imported = [row[0] for row in desk.db.execute(
            "SELECT id FROM turns WHERE origin IS NOT NULL ORDER BY id")]
    assert len(imported) == 21000  # the agent turn after the last reply is in no record
    between = [turn for turn in written if imported[0] < turn < imported[-1]]
    assert between, "the desk never wrote while the import was writing"
    assert max(waits) < 1.5  # one batch at most (the busy timeout is 2 s)


def _long_recording(source: Path, target: Path, seconds: float) -> Path:
    """A real recording repeated to `seconds` (a WAV of real speech)."""
    with wave.open(str(source)) as clip:
        params, frames = clip.getparams(), clip.readframes(clip.getnframes())
    repeats = int(seconds * params.framerate / params.nframes) + 1
    size = int(seconds * params.framerate) * params.sampwidth * params.nchannels
    with wave.open(str(target), "wb") as out:
        out.setparams(params)
        out.writeframes((frames * repeats)[:size])
    return target


def test_a_refused_first_turn_leaves_no_empty_session(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    not_audio = tmp_path / "call.wav"
    not_audio.write_text("this is a note, not a recording")
    assert cli(["--home", str(home), "ask", "--audio", str(not_audio)]) == 2
    assert "not an audio file" in capsys.readouterr().err
    with Store.open(home) as store:
        assert store.count("sessions") == 0


def test_a_full_disk_on_the_first_turn_leaves_no_empty_session(
    assistant, store_screenshot: Path
) -> None:
    from engine.cli.ask_cmd import ask

    store, photo = assistant.store, store_screenshot.with_name("test-european.jpg")  # 144 KB
    kept, _ = ask(assistant, "hello, my order is late", [])
    pages = store.db.execute("PRAGMA page_count").fetchone()[0]
    store.db.execute(f"PRAGMA max_page_count = {pages + 4}")  # SQLite's own SQLITE_FULL path
    with pytest.raises(StoreError, match="is full"):
        ask(assistant, "see the screenshot", [], image=photo)
    assert [row["id"] for row in store.sessions()] == [kept]
    with pytest.raises(StoreError, match="is full"):  # an existing session keeps its turns
        ask(assistant, "see the screenshot", [], session_id=kept, image=photo)
    assert [row["id"] for row in store.sessions()] == [kept]
    assert len(store.turns(kept)) == 1


def test_a_recording_over_the_limit_is_refused_naming_the_limit(
    home: Path, tmp_path: Path, store_recording: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ten_minutes = _long_recording(store_recording, tmp_path / "call.wav", 600)
    with Store.open(home) as store:
        session = store.new_session()
        with pytest.raises(InputError) as caught:
            store.add_turn(session, Turn(audio=ten_minutes, source="voice"))
        message = str(caught.value)
        assert "is 10 minutes long" in message and "up to 5 minutes" in message
        assert _one_sentence(message) and store.count("attachments") == 0
        store.add_turn(session, Turn(audio=store_recording, source="voice"))  # 11 s is fine

        monkeypatch.setenv("FRONTDESK_MAX_RECORDING_S", "900")  # the setting
        store.add_turn(session, Turn(audio=ten_minutes, source="voice"))
        assert store.count("attachments") == 2
    monkeypatch.delenv("FRONTDESK_MAX_RECORDING_S")
    assert cli(["--home", str(home), "ask", "--audio", str(ten_minutes)]) == 2
    assert "up to 5 minutes" in capsys.readouterr().err
    with Store.open(home) as store:
        assert store.count("sessions") == 1


def test_the_recorder_stops_keeping_audio_at_the_limit(
    jfk: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The microphone keeps at most the limit (and says so), so what it recorded can be stored."""
    from engine.speech.audio import SAMPLE_RATE
    from engine.speech.recorder import Recorder
    from tests.recordings import FilePlaybackSoundDevice

    monkeypatch.setenv("FRONTDESK_MAX_RECORDING_S", "4")
    sd = FilePlaybackSoundDevice(jfk, rate=16_000, speed=8.0)  # 11 s of real speech
    said: list[str] = []
    recorder = Recorder(sd, on_error=said.append)
    recorder.start()
    deadline = time.monotonic() + 30
    while not said and time.monotonic() < deadline:
        time.sleep(0.02)
    audio = recorder.stop()
    assert len(audio) == 4 * SAMPLE_RATE
    assert said == ["The recording stopped at its limit of 4 seconds (FRONTDESK_MAX_RECORDING_S); "
                    "what was recorded is kept."]


def _vm_steps(store: Store, write: Callable[[], object]) -> int:
    """How much work SQLite did for `write`: its virtual machine's steps, in hundreds (a count,
    not a time, so it is the same on any machine)."""
    steps = [0]

    def count() -> int:
        steps[0] += 1
        return 0

    store.db.conn.set_progress_handler(count, 100)
    try:
        write()
    finally:
        store.db.conn.set_progress_handler(None, 100)
    return steps[0]


def test_a_turn_costs_the_same_in_a_long_session(store: Store) -> None:
    """A turn's seq and id are read off the end of their indexes, not by reading the session's
    turns: the 20,001st turn of a session costs what the 2nd does (the bulk path's GROUP BY read
    every turn, 19 ms a write in a 50k-turn session)."""
    long, short = store.new_session(), store.new_session()
    store.add_turns_bulk((long, Turn(text=f"line {i}"), None) for i in range(20_000))
    store.add_turn(short, Turn(text="first"))
    in_short = _vm_steps(store, lambda: store.add_turn(short, Turn(text="next")))
    in_long = _vm_steps(store, lambda: store.add_turn(long, Turn(text="next")))
    bulk_long = _vm_steps(store, lambda: store.add_turns_bulk([(long, Turn(text="more"), None)]))
    # here: 2, 3 and 1 hundred steps; the GROUP BY made the bulk one 2,200
    assert max(in_long, bulk_long) <= in_short + 3, (in_short, in_long, bulk_long)
