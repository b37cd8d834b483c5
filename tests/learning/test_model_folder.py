"""Writing a model never deletes a person's files (engine.model_folder, `frontdesk train --out`)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from engine.cli import main
from engine.model_folder import is_model_folder
from engine.nlu.intent import IntentModel
from engine.store.database import Store
from engine.types import Turn
from tests.sessions import file_digest

ROWS = [
    ("where is my parcel", "track_order"), ("track my order please", "track_order"),
    ("my package has not arrived", "track_order"), ("what is my order status", "track_order"),
    ("when will my order ship", "track_order"), ("I want my money back", "get_refund"),
    ("refund please", "get_refund"), ("can I get a refund", "get_refund"),
    ("I returned it, where is my refund", "get_refund"), ("give me a refund now", "get_refund"),
    ("i forgot my password", "recover_password"), ("reset my password", "recover_password"),
    ("cannot log in, lost the password", "recover_password"),
    ("password reset link please", "recover_password"),
]
FAST = ["--epochs", "1", "--layers", "1"]


@pytest.fixture
def small_csv(tmp_path: Path) -> Path:
    path = tmp_path / "small.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([("text", "intent"), *ROWS])
    return path


def _digests(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): file_digest(p)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_train_out_at_a_data_folder_is_refused_and_nothing_is_deleted(
    small_csv: Path, tmp_path: Path, capsys
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    with Store.open(data) as store:  # a real session store, as the app leaves it
        store.add_turn(store.new_session(), Turn(text="where is my order 55231?"))
    (data / "notes.txt").write_text("the agent's own notes\n")
    (data / "exports").mkdir()
    (data / "exports" / "monday.jsonl").write_text("{}\n")
    before = _digests(data)
    assert "frontdesk.db" in before

    assert main(["train", str(small_csv), "--out", str(data), *FAST]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "not a Frontdesk model" in err and "Traceback" not in err
    assert _digests(data) == before
    assert not [p for p in tmp_path.iterdir() if ".partial" in p.name]  # nothing left beside

    a_file = tmp_path / "model.bin"
    a_file.write_text("x")
    assert main(["train", str(small_csv), "--out", str(a_file), *FAST]) == 2
    assert "is a file" in capsys.readouterr().err and a_file.read_text() == "x"


def test_train_replaces_only_its_own_model_folder(small_csv: Path, tmp_path: Path,
                                                  capsys) -> None:
    out = tmp_path / "model"
    out.mkdir()  # an empty folder is fine
    assert main(["train", str(small_csv), "--out", str(out), *FAST]) == 0
    assert is_model_folder(out)
    first = IntentModel.load(out).version
    assert main(["train", str(small_csv), "--out", str(out), *FAST, "--seed", "5"]) == 0
    assert is_model_folder(out) and IntentModel.load(out).version != first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model", "small.csv"]
    capsys.readouterr()

    (out / "my_notes.txt").write_text("keep me")  # a model folder with a person's file in it
    assert main(["train", str(small_csv), "--out", str(out), *FAST]) == 2
    assert "not a Frontdesk model" in capsys.readouterr().err
    assert (out / "my_notes.txt").read_text() == "keep me"
    assert IntentModel.load(out).version != first  # the second model is still there
