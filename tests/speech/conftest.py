"""Fixtures of the speech tests."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="session")
def gold_clips(speech_dir: Path) -> list[tuple[Path, str]]:
    """(audio file, human reference) for the clips whose reference is gold."""
    with open(speech_dir / "manifest.csv", newline="") as f:
        rows = [row for row in csv.DictReader(f) if row["reference_quality"].startswith("gold")]
    return [(speech_dir / row["file"], row["reference"]) for row in rows]


@pytest.fixture(scope="session")
def openai_transcriber(speech_home: Path) -> Any:
    from engine.speech.transcribe import load_transcriber

    return load_transcriber("openai-whisper", home=speech_home, device="cpu")


@pytest.fixture(scope="session")
def normalize() -> Any:
    """Whisper's English normaliser: what WER is computed on."""
    from whisper.normalizers import EnglishTextNormalizer

    return EnglishTextNormalizer()
