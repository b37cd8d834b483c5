"""Fixtures for the answer half of the engine: one loaded model and knowledge base per run.

The model is `default_intent_model` from tests/fixtures_intent.py (shared, loaded once).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.assistant import Assistant
from engine.nlu.intent import IntentModel
from engine.nlu.knowledge import KnowledgeBase


@pytest.fixture(scope="session")
def shipped_knowledge() -> KnowledgeBase:
    return KnowledgeBase.load()


@pytest.fixture
def assistant(
    home: Path, default_intent_model: IntentModel, shipped_knowledge: KnowledgeBase
) -> Iterator[Assistant]:
    """An Assistant over a fresh SQLite file in a temporary data folder."""
    with Assistant(home, model=default_intent_model, knowledge=shipped_knowledge) as engine:
        yield engine
