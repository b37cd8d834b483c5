"""One labelled example, the unit every reader yields and every trainer and scorer takes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from engine.types import Message


@dataclass
class Case:
    """One labelled example: a training row or an eval case (media paths already resolved)."""

    text: str
    intent: str
    id: str = ""
    history: list[Message] = field(default_factory=list)  # earlier messages, oldest first
    image: Path | None = None
    audio: Path | None = None
