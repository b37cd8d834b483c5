"""`frontdesk train` on conversations (issue 13): a MultiDoGO TSV and eval cases with history
train the conversation model as well as the text model, and `frontdesk eval --model` scores
conversations with it. Real MultiDoGO rows, the real CLI, real models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.cases.datasets import read_cases
from engine.cases.multidogo import read_tsv
from engine.cli import main
from engine.fusion.model import FusedModel

pytestmark = pytest.mark.slow  # trains a text model and a conversation model


def first_conversations(source: Path, target: Path, count: int) -> Path:
    """The rows of the first `count` conversations of a MultiDoGO TSV, header kept."""
    lines = source.read_text(encoding="utf-8").splitlines()
    keep, seen = [lines[0]], []
    for line in lines[1:]:
        conversation = line.split("\t", 1)[0]
        if conversation not in seen:
            seen.append(conversation)
        if len(seen) > count:
            break
        keep.append(line)
    target.write_text("\n".join(keep) + "\n", encoding="utf-8")
    return target


def test_train_on_a_multidogo_tsv_trains_the_conversation_model(
    tmp_path: Path, home: Path, shared_data: Path, capsys
) -> None:
    data = first_conversations(shared_data / "multidogo" / "airline" / "train.tsv",
                               tmp_path / "airline.tsv", 60)
    cases = read_cases(data)
    assert any(case.history for case in cases) and all(case.intent for case in cases)
    out = tmp_path / "model"
    assert main(["--home", str(home), "train", str(data), "--out", str(out), "--epochs", "1",
                 "--layers", "1"]) == 0
    assert "conversation model trained on" in capsys.readouterr().out
    fused = FusedModel.load(out / "fused")
    assert set(fused.labels) == {case.intent for case in cases if case.history}

    # follow-ups of dev conversations (the turn alone names no task) scored through eval
    rows = []
    for dialogue in read_tsv(shared_data / "multidogo" / "airline" / "dev.tsv")[:40]:
        for index, turn in enumerate(dialogue.turns):
            if turn.scored and turn.follow_up and turn.task in fused.labels:
                rows.append({"id": f"{dialogue.id}:{turn.number}", "text": turn.text,
                             "intent": turn.task, "history": [
                                 {"role": "customer", "text": t.text}
                                 for t in dialogue.turns[:index]]})
    eval_file = tmp_path / "follow_ups.jsonl"
    eval_file.write_text("".join(json.dumps(row) + "\n" for row in rows[:30]))
    report = tmp_path / "report"
    assert main(["--home", str(home), "eval", str(eval_file), "--model", str(out),
                 "--report", str(report), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert metrics["cases"] == len(rows[:30]) >= 20
    assert metrics["accuracy"] >= 0.5  # the text model alone cannot name "yes"'s task
