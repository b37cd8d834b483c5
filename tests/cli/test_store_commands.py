"""`frontdesk sessions | export | import`: output, files and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine import paths
from engine.cli import main
from engine.store.database import Store
from engine.types import Turn
from tests.conftest import ROOT
from tests.sessions import fill_conversation


def run(capsys: pytest.CaptureFixture[str], home: Path, *args: str) -> tuple[int, str, str]:
    code = main(["--home", str(home), *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def filled_home(home: Path, store_screenshot: Path) -> Path:
    with Store.open(home) as store:
        fill_conversation(store, store_screenshot)
        fill_conversation(store, store_screenshot, agent="bob")
    return home


def test_sessions_lists_and_searches(capsys: pytest.CaptureFixture[str], home: Path,
                                     store_screenshot: Path) -> None:
    assert run(capsys, home, "sessions")[:2] == (0, "No sessions yet.\n")
    with Store.open(home) as store:
        talk = fill_conversation(store, store_screenshot)
        other = store.new_session(title="Password reset")
        store.add_turn(other, Turn(text="I forgot my password"))
    code, out, _ = run(capsys, home, "sessions")
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 2 and "Password reset" in lines[0] and "Jacket never arrived" in lines[1]
    code, out, _ = run(capsys, home, "sessions", "refund", "--json")
    assert code == 0 and [s["id"] for s in json.loads(out)] == [talk.session_id]
    assert run(capsys, home, "sessions", "zebra")[1] == "No sessions match.\n"


def test_export_and_import_round_trip(capsys: pytest.CaptureFixture[str], filled_home: Path,
                                      tmp_path: Path) -> None:
    out = tmp_path / "exp" / "train.jsonl"
    code, printed, _ = run(capsys, filled_home, "export", str(out))
    assert code == 0 and printed == f"Exported 6 records to {out}.\n"
    assert "[EMAIL]" in out.read_text()

    code, _, _ = run(capsys, filled_home, "export", str(out), "--no-redact", "--session", "1")
    assert code == 0 and len(out.read_text().splitlines()) == 3
    assert "jane.roe@example.org" in out.read_text()

    table = tmp_path / "exp" / "train.txt"
    assert run(capsys, filled_home, "export", str(table), "--csv")[0] == 0
    assert table.read_text().startswith("id,session,created,text,intent")

    elsewhere = tmp_path / "other-desk"
    export = tmp_path / "exp" / "all.jsonl"
    run(capsys, filled_home, "export", str(export))
    code, printed, _ = run(capsys, elsewhere, "import", str(export))
    assert (code, printed) == (0, "Imported 6 records; skipped 0 already here.\n")
    code, printed, _ = run(capsys, elsewhere, "import", str(export), str(export))
    assert (code, printed) == (0, "Imported 0 records; skipped 12 already here.\n")


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["import", "missing.jsonl"], 2, "Cannot read missing.jsonl"),
        (["export", "out.jsonl", "--since", "yesterday"], 2, "is not a date"),
    ],
)
def test_bad_arguments_exit_non_zero_with_one_line(
    capsys: pytest.CaptureFixture[str], filled_home: Path, args: list[str], code: int,
    message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    got, out, err = run(capsys, filled_home, *args)
    assert got == code and out == ""
    assert err.startswith("frontdesk: ") and message in err and err.count("\n") == 1


def test_damaged_and_newer_databases_exit_3(capsys: pytest.CaptureFixture[str],
                                            tmp_path: Path) -> None:
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    paths.database(damaged).write_bytes(os.urandom(4096))
    code, _, err = run(capsys, damaged, "sessions")
    assert code == 3 and "damaged" in err and err.count("\n") == 1

    newer = tmp_path / "newer"
    newer.mkdir()
    with Store.open(newer) as store:
        store.db.execute("INSERT INTO schema_migrations VALUES (42, 'future', 'x')")
    code, _, err = run(capsys, newer, "export", str(tmp_path / "x.jsonl"))
    assert code == 3 and "newer Frontdesk" in err
    assert not (tmp_path / "x.jsonl").exists()


def test_real_process_exit_code_for_a_damaged_database(tmp_path: Path) -> None:
    paths.database(tmp_path).write_bytes(b"\x00garbage" * 512)
    done = subprocess.run(
        [sys.executable, "-m", "engine", "--home", str(tmp_path), "sessions"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 3
    assert done.stderr.startswith("frontdesk: The file ") and "Traceback" not in done.stderr
