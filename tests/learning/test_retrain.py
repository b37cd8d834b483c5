"""Retraining from the logs: labels from feedback, the session split, bad logs, the whole run
(a new intent learned, before/after, a new version that is not switched to), and a run killed
halfway that leaves the model in use untouched."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from engine.errors import InputError
from engine.exchange.merge import import_records
from engine.exchange.records import export_records
from engine.learning import retrain, versions
from engine.store.database import Store
from engine.types import Reply, Turn
from tests.model_versions import NEW_INTENT, warranty_messages

ROOT = Path(__file__).resolve().parents[2]  # the repository: `-m engine` runs from there


def _reply(store: Store, session: int, text: str, intent: str) -> int:
    turn = store.add_turn(session, Turn(text=text))
    return store.add_reply(turn, Reply(intent=intent, confidence=0.9, level="High", top=[],
                                       draft=f"About {intent}.", model_version="intent-test"))


def _labelled_store(home: Path) -> Store:
    """Two sessions, one reply per feedback kind, plus one without feedback."""
    store = Store.open(home)
    first, second = store.new_session(), store.new_session()
    store.add_feedback(_reply(store, first, "where is my parcel", "track_order"), "accepted")
    store.add_feedback(_reply(store, first, "cancel it please", "track_order"), "corrected",
                       corrected_intent="cancel_order")
    store.add_feedback(_reply(store, second, "refund for the broken blender", "get_refund"),
                       "edited", final_answer="Refund opened.")
    store.add_feedback(_reply(store, second, "asdf", "get_refund"), "rejected")
    _reply(store, second, "hello?", "track_order")
    return store


def test_labels_follow_the_feedback(home: Path, tmp_path: Path):
    with _labelled_store(home) as store:
        export_records(store, tmp_path / "a.jsonl")
    cases, stats = retrain.read_exports([tmp_path / "a.jsonl"])
    got = {c.text: (c.intent, c.action, c.answer) for c in cases}
    assert got == {
        "where is my parcel": ("track_order", "accepted", "About track_order."),
        "cancel it please": ("cancel_order", "corrected", None),
        "refund for the broken blender": ("get_refund", "edited", "Refund opened."),
    }
    assert (stats.records, stats.rejected, stats.no_feedback) == (5, 1, 1)
    assert stats.actions == {"accepted": 1, "corrected": 1, "edited": 1}
    assert len({c.session for c in cases}) == 2
    assert {c.predicted for c in cases if c.action == "corrected"} == {"track_order"}


def test_exports_of_several_desks_merge_without_duplicates(home: Path, tmp_path: Path):
    with _labelled_store(home) as store:
        export_records(store, tmp_path / "desk_a.jsonl")
    with Store(tmp_path / "b" / "frontdesk.db") as desk_b:  # imports A's logs, adds its own
        import_records(desk_b, [tmp_path / "desk_a.jsonl"])
        session = desk_b.new_session()
        desk_b.add_feedback(_reply(desk_b, session, "change my address", "track_order"),
                            "corrected", corrected_intent="change_shipping_address")
        export_records(desk_b, tmp_path / "desk_b.jsonl")
    files = [tmp_path / "desk_a.jsonl", tmp_path / "desk_b.jsonl", tmp_path / "desk_a.jsonl"]
    cases, stats = retrain.read_exports(files)
    assert stats.duplicates == 10 and stats.records == 16
    assert sorted(c.intent for c in cases) == ["cancel_order", "change_shipping_address",
                                               "get_refund", "track_order"]
    assert len({c.id for c in cases}) == len(cases)


def test_split_keeps_sessions_whole_and_is_seeded():
    cases = [retrain.LoggedCase(text=f"m{i}", intent="a" if i % 2 else "b", session=f"s{i // 3}",
                                action="accepted", predicted="a", id=str(i)) for i in range(60)]
    train, held = retrain.split_by_session(cases, 0.2, seed=5)
    assert {c.session for c in train}.isdisjoint({c.session for c in held})
    assert len({c.session for c in held}) == 4 and len(train) + len(held) == 60
    again = retrain.split_by_session(list(reversed(cases)), 0.2, seed=5)[1]
    assert {c.session for c in again} == {c.session for c in held}
    other = retrain.split_by_session(cases, 0.2, seed=6)[1]
    assert {c.session for c in other} != {c.session for c in held}


def test_an_export_with_no_feedback_is_refused(home: Path, tmp_path: Path):
    with Store.open(home) as store:
        session = store.new_session()
        for text in ("where is my order", "cancel please"):
            _reply(store, session, text, "track_order")
        export_records(store, tmp_path / "none.jsonl")
    with pytest.raises(InputError, match="none that an agent accepted, edited or corrected"):
        retrain.retrain_from_exports(home, [tmp_path / "none.jsonl"])
    (tmp_path / "empty.jsonl").write_text("")
    with pytest.raises(InputError, match="no replies at all"):
        retrain.retrain_from_exports(home, [tmp_path / "empty.jsonl"])
    assert not (home / "models").exists() or not list((home / "models").iterdir())


def test_a_single_class_is_refused(home: Path, tmp_path: Path):
    with Store.open(home) as store:
        for text in ("where is my order", "has it shipped yet", "tracking please"):
            reply = _reply(store, store.new_session(), text, "track_order")
            store.add_feedback(reply, "accepted")
        export_records(store, tmp_path / "one.jsonl")
    with pytest.raises(InputError, match=r"same intent \(track_order\)"):
        retrain.retrain_from_exports(home, [tmp_path / "one.jsonl"])


def test_a_corrupt_line_names_the_file_and_line(home: Path, tmp_path: Path):
    with _labelled_store(home) as store:
        export_records(store, tmp_path / "bad.jsonl")
    lines = (tmp_path / "bad.jsonl").read_text().splitlines()
    lines[2] = lines[2][: len(lines[2]) // 2]  # cut short, as a copy that died halfway
    (tmp_path / "bad.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"bad\.jsonl line 3 is not valid JSON"):
        retrain.read_exports([tmp_path / "bad.jsonl"])
    (tmp_path / "other.jsonl").write_text('{"id": "x:1", "text": "hi", "intent": "a"}\n')
    with pytest.raises(InputError, match="line 1 is not a Frontdesk export record"):
        retrain.read_exports([tmp_path / "other.jsonl"])
    (tmp_path / "binary.jsonl").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(InputError, match="not UTF-8"):
        retrain.read_exports([tmp_path / "binary.jsonl"])


@pytest.mark.slow
def test_retraining_learns_the_new_intent_and_writes_a_version(team_home: Path):
    # 30% of the sessions held out: enough cases (>= MIN_SCORED_CASES) for before/after rates
    result = retrain.retrain_from_store(team_home, retrain.RetrainOptions(epochs=4,
                                                                          eval_fraction=0.3))
    assert result.version == "v002" and result.folder == team_home / "models" / "v002"
    for name in ("config.json", "model.safetensors", "metrics.json", "data_summary.json",
                 "replay.jsonl"):
        assert (result.folder / name).is_file()
    summary = json.loads((result.folder / "data_summary.json").read_text())
    assert summary["heldout_sessions"] >= 1 and summary["replay_source"] == "v001/replay.jsonl"
    assert summary["train_cases"] + summary["heldout_cases"] == summary["cases"]
    assert summary["labels"]["rejected"] + summary["labels"]["no_feedback"] > 0
    assert result.new_intents == [NEW_INTENT] and result.needs_article == [NEW_INTENT]
    assert NEW_INTENT in json.loads((result.folder / "config.json").read_text())["labels"]
    # the same held-out part, scored before and after
    assert result.before["cases"] == result.after["cases"] == summary["heldout_cases"]
    assert result.recall["before"][NEW_INTENT] == 0.0
    assert result.recall["after"][NEW_INTENT] >= 0.6
    metrics = json.loads((result.folder / "metrics.json").read_text())
    assert metrics["after"] == result.after and metrics["recall"] == result.recall
    assert result.after["accuracy"] >= result.before["accuracy"] + 0.1
    # not switched to until asked; then the Assistant uses it and replies say so
    assert versions.current_name(team_home) == "v001"
    versions.use(team_home, "v002")
    from engine.assistant import Assistant
    from engine.nlu.knowledge import KnowledgeBase

    unseen = warranty_messages()[-5:]  # the fixture's team only used the first 30
    with Assistant(team_home, knowledge=KnowledgeBase.load()) as assistant:
        session = assistant.new_session()
        replies = [assistant.respond(session, Turn(text=text)) for text in unseen]
    assert {r.model_version for r in replies} == {versions.list_versions(team_home)[-1]
                                                  .model_version}
    assert sum(r.intent == NEW_INTENT for r in replies) >= 3


@pytest.mark.slow
def test_heads_only_learns_the_new_intent_too(team_home: Path, monkeypatch):
    from engine.nlu.intent import IntentModel

    encoded: list[int] = []  # rows through the encoder: each distinct text once, nothing more
    lower = IntentModel.lower
    monkeypatch.setattr(IntentModel, "lower",
                        lambda self, ids, mask: encoded.append(len(ids)) or lower(self, ids, mask))
    result = retrain.retrain_from_store(team_home, retrain.RetrainOptions(heads_only=True,
                                                                          eval_fraction=0.3))
    summary = json.loads((result.folder / "data_summary.json").read_text())
    replay = retrain.read_cases(team_home / "models" / "v001" / retrain.REPLAY_FILE)
    cases, _ = retrain.from_store(team_home)
    assert sum(encoded) == len({c.text for c in cases} | {c.text for c in replay})
    assert summary["replay_cases"] > 0
    trained = json.loads((result.folder / "config.json").read_text())
    assert trained["training"]["options"]["heads_only"] is True
    assert result.recall["after"][NEW_INTENT] >= 0.6
    assert result.after["accuracy"] >= result.before["accuracy"] + 0.1
    base = team_home / "models" / "v001" / "model.safetensors"
    from safetensors.torch import load_file

    old, new = load_file(str(base)), load_file(str(result.folder / "model.safetensors"))
    assert all(old[k].equal(new[k]) for k in old if k.startswith("encoder."))  # encoder as was


@pytest.mark.slow
def test_a_run_killed_halfway_changes_nothing(team_home: Path, tmp_path: Path):
    with Store.open(team_home) as store:
        export_records(store, tmp_path / "team.jsonl")
    before = [v.name for v in versions.list_versions(team_home)]
    command = [sys.executable, "-m", "engine", "--home", str(team_home), "retrain",
               "--from-export", str(tmp_path / "team.jsonl"), "--epochs", "50"]
    env = {**os.environ, "FRONTDESK_HOME": str(team_home)}
    process = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.PIPE,
                               env=env, cwd=ROOT, start_new_session=True)
    seen = threading.Event()

    def watch() -> None:
        for chunk in iter(lambda: process.stderr.read1(4096), b""):
            if b"training:" in chunk:
                seen.set()

    threading.Thread(target=watch, daemon=True).start()
    assert seen.wait(timeout=120), "training never started"
    time.sleep(0.5)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    assert [v.name for v in versions.list_versions(team_home)] == before
    assert versions.current_name(team_home) == "v001"
    assert versions.current(team_home) == team_home / "models" / "v001"


@pytest.mark.slow
def test_cancel_writes_nothing(team_home: Path):
    from engine.errors import TrainingCancelled

    def check() -> None:  # the GUI's Job.check: raises once the person pressed cancel
        raise RuntimeError("cancelled")

    with pytest.raises(TrainingCancelled, match="no model was written"):
        retrain.retrain_from_store(team_home, cancel=check)
    assert [v.name for v in versions.list_versions(team_home)][-1] == "v001"
    assert sorted(p.name for p in (team_home / "models").iterdir()) == ["current.json", "v001"]


def test_cli_refuses_bad_logs_in_one_sentence(home: Path, tmp_path: Path, capsys):
    from engine.cli import main as cli

    (tmp_path / "cut.jsonl").write_text('{"id": "a:1", "messages": [')
    assert cli(["--home", str(home), "retrain", "--from-export", str(tmp_path / "cut.jsonl")]) == 2
    err = capsys.readouterr().err
    assert err == "frontdesk: cut.jsonl line 1 is not valid JSON; the file may be cut short or " \
        "edited by hand.\n"
    assert cli(["--home", str(home), "retrain"]) == 2  # an empty store: nothing to learn
    assert "no replies at all" in capsys.readouterr().err
    assert cli(["--home", str(home), "retrain", "--epochs", "0"]) == 2


def test_replay_for_the_shipped_model_comes_from_its_own_recipe(shared_data: Path, monkeypatch):
    from engine.cases import default_mix
    from engine.nlu.intent import DEFAULT_FOLDER, read_config

    monkeypatch.setenv("FRONTDESK_SHARED_DATA", str(shared_data))
    train, val, source = retrain.replay_cases(DEFAULT_FOLDER, per_intent=6, seed=13)
    labels = read_config(DEFAULT_FOLDER).labels
    assert "engine.cases.default_mix" in source
    assert sorted({c.intent for c in train}) == sorted(labels) == sorted({c.intent for c in val})
    counts = {label: sum(c.intent == label for c in train) for label in labels}
    assert counts.pop("out_of_scope") == 24 and set(counts.values()) == {6}
    recipe_train, recipe_val, recipe_test = default_mix.bitext_splits(shared_data)
    never = {c.text for c in recipe_test}
    assert not never & {c.text for c in train + val}  # the default's test split stays unseen
    oos_val_sources = {c.id.split(":")[0] for c in val if c.intent == "out_of_scope"}
    assert oos_val_sources <= {"nlupp_hotels", "banking77"}
    assert {c.id.split(":")[1] for c in val if c.id.startswith("banking77")} <= set(
        default_mix.OOS_VAL_B77)
