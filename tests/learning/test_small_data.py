"""Small data gets a clear answer: train when it can, say how much is needed when it cannot, and
never show before/after rates measured on a handful of cases (issue 14 item 3, issue 15 item 6).

Real data folders with real SQLite stores, the shipped model or a really trained small one.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from engine.cli import main
from engine.learning import versions
from engine.learning.evaluate import MIN_SCORED_CASES
from engine.learning.retrain import RetrainOptions, retrain_from_store
from engine.store.database import Store
from engine.types import Turn
from tests.model_versions import install_version
from tests.sessions import reply_for

# A desk's first afternoon: five conversations, each reply corrected, and one hand-off.
CORRECTIONS = [
    ("my parcel never showed up, where is it", "track_order", "delivery_period"),
    ("I was charged twice for the same order", "get_refund", "payment_issue"),
    ("the jacket is too small, how do I swap it", "get_refund", "exchange_item"),
    ("can you tell me when my money comes back", "track_order", "track_refund"),
    ("please remove my account and data", "recover_password", "delete_account"),
]


def desk_with_few_corrections(home: Path) -> None:
    with Store.open(home) as store:
        for text, predicted, corrected in CORRECTIONS:
            turn = Turn(text=text)
            store.add_turn(store.new_session(), turn)
            reply_id = store.add_reply(turn.id, reply_for(predicted, 0.4))
            store.add_feedback(reply_id, "corrected", corrected_intent=corrected)
        turn = Turn(text="I need to talk to a manager about a lawsuit")
        store.add_turn(store.new_session(), turn)
        store.add_feedback(store.add_reply(turn.id, reply_for("out_of_scope", 0.3)), "rejected")


def test_train_on_a_2_row_csv_says_how_much_data_is_needed(tmp_path: Path, capsys) -> None:
    data = tmp_path / "two.csv"
    with open(data, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([("text", "intent"), ("where is my parcel", "track_order"),
                                      ("I want my money back", "get_refund")])
    assert main(["train", str(data), "--out", str(tmp_path / "model")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "2 labelled examples are too few" in err
    assert "at least 10" in err and not (tmp_path / "model").exists()


@pytest.mark.parametrize("quick", [True, False], ids=["heads-only", "top-layers"])
def test_retrain_on_a_desks_few_corrections_without_replay_says_how_much_is_needed(
    home: Path, tmp_path: Path, monkeypatch, capsys, quick: bool
) -> None:
    """No earlier training data at hand (a desk's machine): the 4 corrections left for training
    have no intent twice, so nothing could check a new model (was: a torch traceback)."""
    monkeypatch.setenv("FRONTDESK_SHARED_DATA", str(tmp_path / "absent"))
    desk_with_few_corrections(home)
    argv = ["--home", str(home), "retrain"] + (["--heads-only"] if quick else [])
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("frontdesk: Too little feedback to retrain")
    assert "5 labelled replies in 5 conversations" in err and "at least 2 of one intent" in err
    assert [v.name for v in versions.list_versions(home)] == ["default"]  # nothing written
    assert not list((home / "models").glob("*")) if (home / "models").exists() else True


def test_retrain_on_few_corrections_with_replay_trains_and_holds_back_the_rates(
    home: Path, team_base_model: Path, capsys
) -> None:
    """With the current version's replay sample at hand the same feedback trains; one held-out
    case gives its count, not an accuracy of 0 or 1."""
    install_version(home, team_base_model, "v001")
    versions.use(home, "v001")
    desk_with_few_corrections(home)
    result = retrain_from_store(home, RetrainOptions(heads_only=True, epochs=3, fused=False))
    assert result.version == "v002" and result.summary["heldout_cases"] == 1
    assert result.before == result.after == {"cases": 1}
    assert result.held_back and f"from {MIN_SCORED_CASES} cases" in result.held_back
    assert result.recall == {"before": {}, "after": {}}
    saved = versions.list_versions(home)[-1]
    assert saved.metrics["held_back"] == result.held_back and "accuracy" not in saved.metrics[
        "after"]

    assert main(["--home", str(home), "retrain", "--heads-only", "--epochs", "2"]) == 0
    out = capsys.readouterr().out
    assert "1 in 1 held-out sessions" in out and "Before/after rates are held back" in out
    assert not [line for line in out.splitlines() if line.startswith(("accuracy", "held-out"))]
