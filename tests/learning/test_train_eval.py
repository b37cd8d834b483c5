"""Data readers, the training loop, calibration, evaluation reports and the train/eval CLI."""

from __future__ import annotations

import csv
import json
import random
import threading
from pathlib import Path

import pytest
import torch

from engine.cases.datasets import Case, check_trainable, read_cases
from engine.cases.default_mix import roughen
from engine.cases.splits import stratified_split
from engine.cli import main
from engine.errors import InputError
from engine.learning.calibration import best_threshold
from engine.learning.evaluate import evaluate, model_predictor, score
from engine.learning.train import TrainingCancelled, TrainOptions, calibrate, fine_tune
from engine.nlu.intent import IntentModel
from engine.recipes.default_model import OWN_EVAL_SET
from engine.types import OUT_OF_SCOPE

DATA = Path(__file__).resolve().parent.parent / "data"
SMALL_INTENTS = ("track_order", "get_refund", "recover_password", "newsletter_subscription")
FAST = TrainOptions(epochs=2, batch_size=16, lr=3e-4, head_lr=5e-3, trainable_layers=1,
                    max_length=32)


# -- readers ----------------------------------------------------------------------------------
def test_reads_our_csv_banking77_and_bitext(tmp_path, shared_data):
    ours = tmp_path / "ours.csv"
    ours.write_text("text,intent\nwhere is my order,track_order\nrefund me,get_refund\n")
    assert [(c.text, c.intent) for c in read_cases(ours)] == [
        ("where is my order", "track_order"), ("refund me", "get_refund")]
    banking = read_cases(shared_data / "banking77" / "test.csv")
    assert len(banking) == 3080 and len({c.intent for c in banking}) == 77
    bitext = read_cases(shared_data / "bitext" / "bitext_8k_customer_service_sample.csv")
    assert len(bitext) == 8175 and len({c.intent for c in bitext}) == 27  # intent, not category


def test_reads_eval_cases_and_exports(tmp_path):
    cases = read_cases(OWN_EVAL_SET)
    assert len({c.id for c in cases}) == len(cases)
    folder = tmp_path / "set"
    folder.mkdir()
    (folder / "cases.jsonl").write_text(
        json.dumps({"id": "a", "text": "hi", "image": "shots/1.png", "intent": OUT_OF_SCOPE,
                    "history": [{"role": "agent", "text": "hello"}]}) + "\n\n")
    (case,) = read_cases(folder / "cases.jsonl")
    assert case.image == folder / "shots" / "1.png" and case.history[0].role == "agent"
    export = tmp_path / "export.jsonl"
    lines = [
        {"id": "d:1", "intent": "track_order", "messages": [
            {"role": "user", "speaker": "customer", "content": "hi, order 55"},
            {"role": "assistant", "speaker": "agent", "content": "what's up?"},
            {"role": "user", "speaker": "customer", "content": "where is it"}]},
        {"id": "d:2", "intent": None, "messages": [
            {"role": "user", "speaker": "customer", "content": "unlabelled"}]},
    ]
    export.write_text("".join(json.dumps(line) + "\n" for line in lines))
    (record,) = read_cases(export)
    assert (record.text, record.intent, len(record.history)) == ("where is it", "track_order", 2)


@pytest.mark.parametrize(("name", "content", "message"), [
    ("cols.csv", b"question,answer\nhi,hello\n", "needs a text column"),
    ("broken.jsonl", b'{"text": "hi", "intent": "a"}\n{"text": "oops"\n', "line 2 is not valid"),
    ("latin1.csv", "text,intent\ncaf\u00e9,a\n".encode("latin-1"), "not UTF-8"),
    ("nolabel.jsonl", b'{"text": "hi"}\n', "no intent label"),
    ("empty.csv", b"text,intent\n", "no labelled examples"),
    ("data.xlsx", b"PK", "neither CSV nor JSONL"),
])
def test_bad_data_files_are_one_sentence(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        read_cases(path)


def test_one_class_is_refused():
    with pytest.raises(InputError, match="single intent"):
        check_trainable([Case("a", "x"), Case("b", "x")])


def test_stratified_split_is_deterministic_and_disjoint():
    cases = [Case(f"text {i}", f"label{i % 3}", id=str(i)) for i in range(60)]
    train, val = stratified_split(cases, 0.2, seed=5)
    again_train, again_val = stratified_split(cases, 0.2, seed=5)
    assert [c.id for c in val] == [c.id for c in again_val]
    assert {c.id for c in train} | {c.id for c in val} == {c.id for c in cases}
    assert not {c.id for c in train} & {c.id for c in val}
    assert sorted(c.intent for c in val) == ["label0"] * 4 + ["label1"] * 4 + ["label2"] * 4


# -- calibration and scores ---------------------------------------------------------------------
def test_threshold_is_fitted_between_in_scope_and_oos():
    """In-scope rows are confident, OOS rows are flat: the fitted threshold must separate them."""
    labels = ["a", "b", OUT_OF_SCOPE]
    confident = torch.tensor([[0.9, 0.05, 0.05], [0.1, 0.85, 0.05]]).repeat(10, 1)
    flat = torch.tensor([[0.45, 0.40, 0.15], [0.35, 0.4, 0.25]]).repeat(10, 1)
    probs = torch.cat([confident, flat])
    gold = torch.tensor([0, 1] * 10 + [2] * 20)
    threshold = best_threshold(probs, gold, labels)
    assert 0.45 < threshold <= 0.85
    assert best_threshold(confident, torch.tensor([0, 1] * 10), labels) == 0.0


def test_score_counts_by_hand():
    gold = ["a", "a", "b", OUT_OF_SCOPE, OUT_OF_SCOPE]
    predicted = ["a", "b", "b", OUT_OF_SCOPE, "a"]
    metrics = score(gold, predicted)
    assert metrics["accuracy"] == 0.6
    assert metrics["oos_precision"] == 1.0 and metrics["oos_recall"] == 0.5
    assert metrics["in_scope_accuracy"] == pytest.approx(2 / 3, abs=1e-4)
    # F1: a = 2*(0.5*0.5)/1 = 0.5, b = 2*(0.5*1)/1.5 = 0.667, oos = 2*(1*0.5)/1.5 = 0.667
    assert metrics["macro_f1"] == pytest.approx((0.5 + 2 / 3 + 2 / 3) / 3, abs=1e-4)


# -- training for real (small) ------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_bitext(shared_data) -> tuple[list[Case], list[Case]]:
    """40 train + 20 held-out Bitext messages for 4 intents, and written OOS chit-chat."""
    cases = read_cases(shared_data / "bitext" / "bitext_8k_customer_service_sample.csv")
    rng = random.Random(3)
    rng.shuffle(cases)
    train, test = [], []
    for intent in SMALL_INTENTS:
        group = [c for c in cases if c.intent == intent]
        train += group[:40]
        test += group[40:60]
    return train, test


@pytest.fixture(scope="module")
def small_model(small_bitext, tmp_path_factory) -> IntentModel:
    train, _ = small_bitext
    out = tmp_path_factory.mktemp("train") / "small"
    steps: list[int] = []
    model = fine_tune(train, out, FAST, progress=lambda step, total, info: steps.append(step))
    assert steps == list(range(1, len(steps) + 1)) and len(steps) == 2 * 9  # 144 train / 16
    return model


@pytest.mark.slow
def test_fine_tune_learns_and_saves(small_model, small_bitext):
    _, test = small_bitext
    folder = small_model.folder
    assert folder is not None and (folder / "model.safetensors").exists()
    assert not folder.with_name(folder.name + ".partial").exists()
    loaded = IntentModel.load(folder)
    assert loaded.labels == sorted(SMALL_INTENTS)
    assert loaded.config.training["best_epoch"] in (1, 2)
    assert loaded.config.temperature > 0
    metrics = evaluate(model_predictor(loaded), test)
    assert metrics["accuracy"] >= 0.85


@pytest.mark.slow
def test_fine_tune_from_a_model_adds_an_intent(small_model, shared_data, tmp_path):
    cases = read_cases(shared_data / "bitext" / "bitext_8k_customer_service_sample.csv")
    new = [c for c in cases if c.intent == "delete_account"][:30]
    old = [c for c in cases if c.intent in SMALL_INTENTS][200:280]
    model = fine_tune(old + new, tmp_path / "next", FAST, start_from=small_model.folder)
    assert model.labels[:4] == small_model.labels and model.labels[4] == "delete_account"
    held_out = [c for c in cases if c.intent == "delete_account"][100:120]
    assert evaluate(model_predictor(model), held_out)["accuracy"] >= 0.8


@pytest.mark.slow
def test_calibrate_on_roughened_text(small_model, small_bitext):
    _, test = small_bitext
    rng = random.Random(0)
    rough = [Case(roughen(c.text, rng), c.intent) for c in test]
    assert sum(r.text != c.text.lower() for r, c in zip(rough, test, strict=True)) > 30
    calibrate(small_model, rough)
    assert 0.05 <= small_model.config.temperature <= 20
    assert small_model.config.threshold == 0.0  # no OOS examples: nothing to fit it on
    with pytest.raises(InputError, match="intents the model lacks"):
        calibrate(small_model, [Case("erase my account", "delete_account")])


@pytest.mark.slow
def test_cancel_writes_nothing(small_bitext, tmp_path):
    train, _ = small_bitext
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(TrainingCancelled):
        fine_tune(train, tmp_path / "never", FAST, cancel=cancel)
    assert not (tmp_path / "never").exists()


# -- evaluation report and CLI ------------------------------------------------------------------
def test_eval_cli_writes_the_report(tmp_path, capsys):
    report = tmp_path / "report"
    code = main(["eval", str(OWN_EVAL_SET), "--report", str(report), "--json"])
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    saved = json.loads((report / "metrics.json").read_text())
    for key in ("accuracy", "macro_f1", "oos_precision", "oos_recall", "latency_ms_p50",
                "latency_ms_p95", "model_version"):
        assert saved[key] == printed[key]
    rows = [json.loads(line) for line in (report / "predictions.jsonl").read_text().splitlines()]
    assert len(rows) == printed["cases"]
    assert set(rows[0]) == {"id", "gold", "predicted", "confidence"}
    errors = (report / "errors.jsonl").read_text().splitlines()
    assert len(errors) == sum(r["gold"] != r["predicted"] for r in rows)
    per_intent = json.loads((report / "per_intent.json").read_text())
    assert per_intent["track_order"]["support"] == 8
    assert (report / "confusion.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_eval_cli_reads_banking77_csv(tmp_path, shared_data, capsys):
    with open(shared_data / "banking77" / "test.csv", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    subset = tmp_path / "b77.csv"
    with open(subset, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows[:1] + rows[1::300])
    assert main(["eval", str(subset), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["cases"] == len(rows[1::300])


@pytest.mark.slow
def test_train_cli_then_eval_cli(small_bitext, tmp_path, capsys):
    train, test = small_bitext
    data, cases = tmp_path / "train.csv", tmp_path / "test.jsonl"
    with open(data, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "intent"])
        writer.writerows((c.text, c.intent) for c in train)
    cases.write_text("".join(json.dumps({"text": c.text, "intent": c.intent}) + "\n"
                             for c in test))
    out = tmp_path / "model"
    assert main(["train", str(data), "--out", str(out), "--layers", "1", "--epochs", "2",
                 "--lr", "3e-4"]) == 0
    assert "saved intent-" in capsys.readouterr().out
    assert main(["eval", str(cases), "--model", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["accuracy"] >= 0.8


def test_cli_bad_input_is_one_sentence_and_nonzero(tmp_path, capsys):
    one_class = tmp_path / "one.csv"
    one_class.write_text("text,intent\nhello,greet\nhi,greet\nhey,greet\n")
    assert main(["train", str(one_class), "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "single intent" in err
    assert not (tmp_path / "m").exists()
    pickled = tmp_path / "pickled"
    pickled.mkdir()
    torch.save({"w": torch.zeros(1)}, pickled / "model.pt")
    assert main(["eval", str(OWN_EVAL_SET), "--model", str(pickled)]) == 4
    assert "safetensors" in capsys.readouterr().err


def test_bf16_is_refused_on_a_cpu_without_fast_bfloat16(tmp_path):
    """oneDNN capped at AVX2 (as on an AVX2-only CPU; the env var caps it in a child process):
    --bf16 there ran an mpnet training step 20x slower, so it is one sentence, not a slow run."""
    import os
    import subprocess
    import sys

    data = tmp_path / "data.csv"
    rows = [f"where is my order {i},track_order" for i in range(6)]
    rows += [f"I want my money back {i},get_refund" for i in range(6)]
    data.write_text("text,intent\n" + "\n".join(rows) + "\n")
    env = {**os.environ, "ONEDNN_MAX_CPU_ISA": "AVX2"}
    done = subprocess.run([sys.executable, "-m", "engine", "train", str(data), "--out",
                           str(tmp_path / "m"), "--bf16", "--epochs", "1"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "frontdesk: This CPU has no fast bfloat16 (it needs AVX-512 or AMX): --bf16 would train "
        "many times slower than float32 here, so train without it."]
    assert not (tmp_path / "m" / "model.safetensors").exists()
