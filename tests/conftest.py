"""Shared fixtures. Area fixtures live in tests/fixtures_*.py, listed in `pytest_plugins`.

Loaded models are cached per test session (session-scoped fixtures) so the suite fits CI's time.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("FRONTDESK_SHARED_DATA", ROOT.parent / "shared" / "data"))

pytest_plugins: list[str] = [
    "tests.fixtures_vision",
    "tests.fixtures_assistant",
    "tests.fixtures_speech",
    "tests.fixtures_store",
    "tests.fixtures_desktop",
    "tests.fixtures_intent",
    "tests.fixtures_retrain",
    "tests.fixtures_multimodal",
]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty data folder, also set as $FRONTDESK_HOME."""
    folder = tmp_path / "home"
    folder.mkdir()
    monkeypatch.setenv("FRONTDESK_HOME", str(folder))
    return folder


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The public datasets beside the checkout (../shared/data); skip where a clone lacks them."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"public data folder not found at {SHARED_DATA}")
    return SHARED_DATA
