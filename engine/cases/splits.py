"""Carving a validation share out of labelled data, and refusing data too small to check.

Validation picks the training epoch and calibrates the model (engine.learning.train); without it
nothing
checks what training did, so data too small for it is refused, saying how much is needed.
"""

from __future__ import annotations

import random

from engine.cases.datasets import Case, check_trainable
from engine.errors import InputError

# A new model needs at least this many labelled examples (and a validation share of them).
MIN_NEW_MODEL_EXAMPLES = 10


def stratified_split(cases: list[Case], fraction: float, seed: int) -> tuple[list, list]:
    """(train, validation): `fraction` of every label (at least one where it has two or more)."""
    rng = random.Random(seed)
    by_label: dict[str, list[Case]] = {}
    for case in cases:
        by_label.setdefault(case.intent, []).append(case)
    train, val = [], []
    for label in sorted(by_label):
        group = by_label[label][:]
        rng.shuffle(group)
        n_val = round(len(group) * fraction) if len(group) > 1 else 0
        n_val = max(n_val, 1) if len(group) > 1 else 0
        val += group[:n_val]
        train += group[n_val:]
    return train, val


def validation_split(cases: list[Case], val_cases: list[Case] | None, fraction: float,
                     seed: int, continuing: bool) -> tuple[list[Case], list[Case]]:
    """(training, validation) cases: the given validation, or `fraction` of every label carved out.

    Validation picks the epoch and calibrates the model, and without it nothing checks what
    training did (4 corrections of new intents, heads only and no validation, took the shipped
    model from 0.87 to 0.53 accuracy on assets/evaluation/default_eval.jsonl): too little data is
    refused, saying how much is needed.
    """
    check_trainable(cases + (val_cases or []))
    if val_cases is None:
        cases, val_cases = stratified_split(cases, fraction, seed)
    total = len(cases) + len(val_cases)
    if not val_cases or not cases or (not continuing and total < MIN_NEW_MODEL_EXAMPLES):
        needed = "" if continuing else f"at least {MIN_NEW_MODEL_EXAMPLES} examples, "
        raise InputError(
            f"{total} labelled examples are too few to train on: training needs {needed}2 or "
            "more of an intent, so that some can be held back to check the model (about 20 "
            "of each intent make a useful one).")
    return cases, val_cases
