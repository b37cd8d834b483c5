"""The joined training conversations of the default-model recipe
(engine.recipes.default_model.conversation_rows, issue 13)."""

from __future__ import annotations

from collections import Counter

from engine.cases.default_mix import normalise, taxonomy
from engine.fusion.synthetic import human_conversation_cases
from engine.nlu.joined import joined_text
from engine.paths import SHARED_DATA
from engine.recipes.default_model import NEWEST_WORDS, SEED, conversation_rows
from engine.types import OUT_OF_SCOPE


def test_rows_are_conversations_read_the_way_the_joined_view_reads_them() -> None:
    rows = conversation_rows(SHARED_DATA, 300, set())
    cases = human_conversation_cases(SHARED_DATA, "train", 300, seed=SEED)
    assert len(rows) == len(cases) == 300
    assert rows == conversation_rows(SHARED_DATA, 300, set())  # the same rows every run
    for row, case in zip(rows, cases, strict=True):
        assert row.intent == case.intent
        words = joined_text([turn.text for turn in case.turns]).split()
        assert row.text.split() == words[-NEWEST_WORDS:]  # cut from the left, as it is read
    labels = Counter(row.intent for row in rows)
    assert set(labels) == taxonomy(SHARED_DATA) | {OUT_OF_SCOPE}  # every intent, and endings
    assert labels[OUT_OF_SCOPE] >= 20  # that leave the shop's topics


def test_a_conversation_holding_a_validation_text_is_left_out() -> None:
    cases = human_conversation_cases(SHARED_DATA, "train", 50, seed=SEED)
    held = {normalise(turn.text) for turn in cases[0].turns if turn.role == "customer"}
    rows = conversation_rows(SHARED_DATA, 50, held)
    kept = {row.id.rsplit(":", 1)[-1] for row in rows}
    assert cases[0].id not in kept and len(rows) < 50
    for case in cases:
        if case.id in kept:
            assert not held & {normalise(turn.text) for turn in case.turns}
