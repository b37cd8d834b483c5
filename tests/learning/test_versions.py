"""Model versions: listing, the pointer, switching and rolling back, folders that must not load."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from engine.cli import main as cli
from engine.errors import InputError
from engine.learning import versions
from engine.nlu import intent
from tests.model_versions import install_version


def _two_versions(home: Path, folder: Path) -> None:
    for name, accuracy in (("v001", 0.71), ("v002", 0.93)):
        target = install_version(home, folder, name)
        (target / versions.METRICS_FILE).write_text(json.dumps({
            "created": f"2026-11-2{name[-1]}T10:00:00", "heldout": 40,
            "before": {"accuracy": 0.5}, "after": {"accuracy": accuracy}}))


def test_no_pointer_means_default(home: Path, tiny_model_folder: Path):
    _two_versions(home, tiny_model_folder)
    listed = versions.list_versions(home)
    assert [v.name for v in listed] == ["default", "v001", "v002"]
    assert [v.name for v in listed if v.current] == ["default"]
    assert versions.current(home) == intent.DEFAULT_FOLDER
    assert listed[2].metrics["after"]["accuracy"] == 0.93
    assert listed[1].intents == 2 and listed[1].model_version.startswith("intent-")


def test_use_switches_and_rolls_back(home: Path, tiny_model_folder: Path):
    _two_versions(home, tiny_model_folder)
    assert versions.use(home, "v002").current
    assert versions.current(home) == home / "models" / "v002"
    versions.use(home, "v001")  # rollback
    assert versions.current_name(home) == "v001"
    assert versions.current(home) == home / "models" / "v001"
    pointer = json.loads((home / "models" / versions.POINTER_FILE).read_text())
    assert pointer["version"] == "v001"
    assert not [p for p in (home / "models").iterdir() if p.name.endswith(".tmp")]
    versions.use(home, "default")
    assert versions.current(home) == intent.DEFAULT_FOLDER


def test_unknown_version_is_one_sentence(home: Path, tiny_model_folder: Path):
    _two_versions(home, tiny_model_folder)
    with pytest.raises(InputError, match="no usable model version named 'v007'"):
        versions.use(home, "v007")
    assert versions.current_name(home) == "default"


def test_folder_deleted_by_hand_falls_back_to_default(home: Path, tiny_model_folder: Path):
    _two_versions(home, tiny_model_folder)
    versions.use(home, "v002")
    shutil.rmtree(home / "models" / "v002")
    assert versions.current_name(home) == "default"
    assert versions.current(home) == intent.DEFAULT_FOLDER
    assert [v.name for v in versions.list_versions(home)] == ["default", "v001"]
    with pytest.raises(InputError):
        versions.use(home, "v002")


def test_half_written_and_foreign_folders_are_never_offered(home: Path, tiny_model_folder: Path):
    _two_versions(home, tiny_model_folder)
    install_version(home, tiny_model_folder, "v003.partial")  # complete, but a run died on it
    (install_version(home, tiny_model_folder, "v004") / intent.WEIGHTS_FILE).unlink()
    (install_version(home, tiny_model_folder, "v005") / intent.CONFIG_FILE).write_text("{oops")
    install_version(home, tiny_model_folder, "my-copy")
    assert [v.name for v in versions.list_versions(home)] == ["default", "v001", "v002"]
    for name in ("v003.partial", "v004", "v005", "my-copy"):
        with pytest.raises(InputError):
            versions.use(home, name)
    assert versions.next_name(home) == "v006"  # never reuses a number a folder holds


def test_damaged_pointer_means_default(home: Path, tiny_model_folder: Path):
    _two_versions(home, tiny_model_folder)
    (home / "models" / versions.POINTER_FILE).write_text("\x00garbage")
    assert versions.current_name(home) == "default"
    versions.use(home, "v001")  # and it can be set again
    assert versions.current_name(home) == "v001"


def test_next_name_in_an_empty_folder(home: Path):
    assert versions.next_name(home) == "v001"
    assert [v.name for v in versions.list_versions(home)] == ["default"]


def test_cli_lists_marks_and_switches(home: Path, tiny_model_folder: Path, capsys):
    _two_versions(home, tiny_model_folder)
    assert cli(["--home", str(home), "models", "use", "v002"]) == 0
    assert "now using v002" in capsys.readouterr().out
    assert cli(["--home", str(home), "models"]) == 0
    lines = capsys.readouterr().out.splitlines()
    marked = [line for line in lines if line.startswith("*")]
    assert len(marked) == 1 and marked[0].split()[1] == "v002"
    assert "0.9300" in marked[0] and "0.5000" in marked[0]
    assert cli(["--home", str(home), "models", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [v["name"] for v in listed if v["current"]] == ["v002"]
    assert cli(["--home", str(home), "models", "use", "v9"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("frontdesk: There is no usable model version") and err.count("\n") == 1


def test_assistant_loads_the_version_in_use(home: Path, tiny_model_folder: Path):
    from engine.assistant import Assistant
    from engine.nlu.knowledge import KnowledgeBase
    from engine.types import Turn

    _two_versions(home, tiny_model_folder)
    versions.use(home, "v002")
    expected = json.loads((home / "models" / "v002" / intent.CONFIG_FILE).read_text())["version"]
    with Assistant(home, knowledge=KnowledgeBase.load()) as assistant:
        assert assistant.model.folder == home / "models" / "v002"
        session = assistant.new_session()
        reply = assistant.respond(session, Turn(text="where is my parcel?"))
    assert reply.model_version == expected
    assert reply.intent in ("cancel_order", "track_order", "out_of_scope")
