"""Fixtures of the nlu tests."""

from __future__ import annotations

import pytest

from engine.cases.datasets import Case, read_cases
from engine.recipes.default_model import OWN_EVAL_SET


@pytest.fixture(scope="session")
def default_eval_cases() -> list[Case]:
    """Our own held-out messages (assets/evaluation/default_eval.jsonl): 27 intents + OOS."""
    return read_cases(OWN_EVAL_SET)
