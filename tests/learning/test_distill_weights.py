"""The training loss beyond plain labels: per-row weights and a teacher's soft targets
(engine.learning.distill's `training_loss`; `fine_tune(weights=..., teacher=...)`)."""

from __future__ import annotations

import random

import pytest
import torch

from engine.cases.datasets import Case, read_cases
from engine.errors import InputError
from engine.learning.distill import Teacher, training_loss
from engine.learning.train import TrainOptions, fine_tune
from engine.nlu.intent import IntentModel

HEADS = TrainOptions(epochs=6, batch_size=8, head_lr=2e-2, heads_only=True, max_length=32,
                     dropout=False, distill_weight=4.0, distill_temperature=2.0)
TWO = ("track_order", "get_refund")


@pytest.fixture(scope="module")
def two_intents(shared_data) -> tuple[list[Case], list[Case]]:
    """16 training and 6 validation Bitext messages of each of two intents."""
    cases = read_cases(shared_data / "bitext" / "bitext_8k_customer_service_sample.csv")
    random.Random(5).shuffle(cases)
    train, val = [], []
    for intent in TWO:
        group = [c for c in cases if c.intent == intent]
        train += group[:16]
        val += group[16:22]
    return train, val


def test_the_distillation_term_is_kl_times_t_squared_on_the_rows_the_teacher_read() -> None:
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 0.0]])
    gold = torch.tensor([0, 1])
    teacher = torch.tensor([[0.0, 3.0, 0.0], [9.0, 9.0, 9.0]])
    ones = torch.ones(2)
    plain = training_loss(logits, gold, ones)
    assert plain == pytest.approx(torch.nn.functional.cross_entropy(logits, gold).item())
    read_first = torch.tensor([1.0, 0.0])  # the second row has no teacher output
    student, target = torch.log_softmax(logits[0] / 2, -1), torch.log_softmax(teacher[0] / 2, -1)
    kl = (target.exp() * (target - student)).sum()
    distilled = training_loss(logits, gold, ones, teacher, read_first, weight=0.5, temperature=2.0)
    assert distilled == pytest.approx(plain.item() + 0.5 * 4 * kl.item(), rel=1e-5)
    # a weight of 3 on the first row: its cross-entropy counts three times
    weighted = training_loss(logits, gold, torch.tensor([3.0, 1.0]))
    ce = torch.nn.functional.cross_entropy(logits, gold, reduction="none")
    assert weighted == pytest.approx(((3 * ce[0] + ce[1]) / 4).item(), rel=1e-5)


@pytest.mark.slow
def test_a_teacher_pulls_the_model_toward_its_view(two_intents, tmp_path) -> None:
    """A teacher that reads every training message as get_refund: the distilled head gives
    track_order messages a far higher get_refund probability than the same run without it."""
    train, val = two_intents
    labels = ["get_refund", "track_order"]
    teacher = Teacher(labels=labels + ["out_of_scope"],
                      logits={c.text: torch.tensor([6.0, 0.0, 0.0]) for c in train})
    plain = fine_tune(train, tmp_path / "plain", HEADS, val_cases=val)
    taught = fine_tune(train, tmp_path / "taught", HEADS, val_cases=val, teacher=teacher)
    assert taught.config.training["teacher_rows"] == len(train)
    tracking = [c.text for c in val if c.intent == "track_order"]
    refund = labels.index("get_refund")

    def refund_probability(model: IntentModel) -> float:
        return float(model.probabilities(tracking)[:, refund].mean())

    assert refund_probability(taught) > refund_probability(plain) + 0.2


@pytest.mark.slow
def test_weights_tilt_the_model_toward_the_heavy_class(two_intents, tmp_path) -> None:
    train, val = two_intents
    heavy = [50.0 if c.intent == "get_refund" else 1.0 for c in train]
    options = TrainOptions(**{**HEADS.__dict__, "distill_weight": 0.0})
    even = fine_tune(train, tmp_path / "even", options, val_cases=val)
    tilted = fine_tune(train, tmp_path / "tilted", options, val_cases=val, weights=heavy)
    assert tilted.config.training["weighted"] and not even.config.training["weighted"]
    tracking = [c.text for c in val if c.intent == "track_order"]
    refund = tilted.labels.index("get_refund")
    assert (float(tilted.probabilities(tracking)[:, refund].mean())
            > float(even.probabilities(tracking)[:, refund].mean()))


def test_bad_weights_or_teacher_are_one_sentence_and_nothing_written(two_intents,
                                                                      tmp_path) -> None:
    train, val = two_intents
    with pytest.raises(InputError, match="3 weights were given for 32"):
        fine_tune(train, tmp_path / "a", HEADS, val_cases=val, weights=[1.0, 1.0, 1.0])
    partial = Teacher(labels=["get_refund"], logits={})
    with pytest.raises(InputError, match="no output for track_order"):
        fine_tune(train, tmp_path / "b", HEADS, val_cases=val, teacher=partial)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
