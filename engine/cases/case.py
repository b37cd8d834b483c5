"""One labelled example, the unit every reader yields and every trainer and scorer takes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Case:
    """One labelled example: a training row or an eval case (media paths already resolved)."""

    text: str
    intent: str
    id: str = ""
    history: list[dict[str, str]] = field(default_factory=list)
    image: Path | None = None
    audio: Path | None = None
