"""Fixtures of the nlu tests."""

from __future__ import annotations

import pytest

from engine.cases.datasets import Case, read_cases
from tests.model_versions import DATA


@pytest.fixture(scope="session")
def default_eval_cases() -> list[Case]:
    """Our own held-out messages (tests/data/default_eval.jsonl): 27 intents + out of scope."""
    return read_cases(DATA / "default_eval.jsonl")
