"""Fixtures of the learning tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine.nlu.intent import IntentConfig, IntentModel


@pytest.fixture(scope="session")
def tiny_model_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real model folder (MiniLM + an untrained 2-intent head), saved as training saves it."""
    folder = tmp_path_factory.mktemp("tiny") / "model"
    model = IntentModel(IntentConfig(labels=["cancel_order", "track_order"], trainable_layers=1))
    model.save(folder)
    return folder


@pytest.fixture
def team_home(home: Path, team_logs: Path) -> Path:
    """A fresh copy of the team's data folder (store + versions) for one test to change."""
    shutil.rmtree(home)
    shutil.copytree(team_logs, home)
    return home
