"""Fixtures for the intent model: the shipped default model, loaded once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.cases.datasets import Case, read_cases
from engine.nlu.intent import IntentModel

DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def default_intent_model() -> IntentModel:
    """assets/models/default, as the app loads it (about a second on CPU)."""
    return IntentModel.load()


@pytest.fixture(scope="session")
def default_eval_cases() -> list[Case]:
    """Our own held-out messages (tests/data/default_eval.jsonl): 27 intents + out of scope."""
    return read_cases(DATA / "default_eval.jsonl")
