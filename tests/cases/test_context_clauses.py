"""The circumstance augmentation of the default-model recipe
(engine.cases.default_mix.with_context)."""

from __future__ import annotations

import json
import random

from engine.cases.datasets import Case
from engine.cases.default_mix import context_copies, read_clauses, with_context
from engine.recipes.default_model import OWN_EVAL_SET


def test_clauses_are_many_and_none_is_lifted_from_our_eval_set():
    clauses = read_clauses()
    assert len(clauses) >= 80 and len(set(clauses)) == len(clauses)
    own = [json.loads(line)["text"].lower() for line in OWN_EVAL_SET.read_text().splitlines()]
    lifted = [c for c in clauses if len(c) > 12 and any(c.lower() in text for text in own)]
    assert lifted == []


def test_with_context_keeps_the_request_and_adds_a_clause():
    clauses, rng = read_clauses(), random.Random(0)
    for _ in range(200):
        out = with_context("I want a refund", clauses, rng)
        assert "want a refund" in out and len(out) > len("I want a refund")
        assert any(clause.lower() in out.lower() for clause in clauses)


def test_context_copies_take_a_fixed_share_keep_labels_and_repeat():
    cases = [Case(text=f"cancel order {i}", intent="cancel_order" if i % 2 else "get_refund",
                  id=str(i)) for i in range(200)]
    copies = context_copies(cases, 0.35)
    assert len(copies) == 70 and copies == context_copies(cases, 0.35)
    by_id = {case.id: case for case in cases}
    for copy in copies:
        original = by_id[copy.id.removesuffix(":context")]
        assert copy.intent == original.intent and copy.text != original.text
    assert context_copies(cases, 0.0) == []
