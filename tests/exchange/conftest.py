"""Fixtures of the exchange tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def store_photo(shared_data: Path) -> Path:
    """A real JPEG."""
    return shared_data / "screenshots" / "pytesseract" / "test-small.jpg"
