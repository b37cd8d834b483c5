"""Fixtures for the answer half of the engine: one loaded model and knowledge base per run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.assistant import Assistant
from engine.intent import IntentModel
from engine.knowledge import KnowledgeBase


@pytest.fixture(scope="session")
def shipped_intent_model() -> IntentModel:
    """The default model shipped in assets/ (loaded once: a few seconds on CPU)."""
    return IntentModel.load()


@pytest.fixture(scope="session")
def shipped_knowledge() -> KnowledgeBase:
    return KnowledgeBase.load()


@pytest.fixture
def assistant(
    home: Path, shipped_intent_model: IntentModel, shipped_knowledge: KnowledgeBase
) -> Iterator[Assistant]:
    """An Assistant over a fresh SQLite file in a temporary data folder."""
    with Assistant(home, model=shipped_intent_model, knowledge=shipped_knowledge) as engine:
        yield engine
