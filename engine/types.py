"""Plain data passed between the store, the engine and the window (no torch, no Qt)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

Role = Literal["customer", "agent", "assistant"]
Source = Literal["typed", "voice", "image"]
ROLES: tuple[str, ...] = ("customer", "agent", "assistant")
SOURCES: tuple[str, ...] = ("typed", "voice", "image")
OUT_OF_SCOPE = "out_of_scope"


@dataclass
class Turn:
    """One message in a conversation, as the agent entered it.

    `images` and `audio` are files on disk; the store copies their bytes in as attachments.
    `id` is set once the store has written the turn.
    """

    text: str = ""
    role: Role = "customer"
    source: Source = "typed"
    images: list[Path] = field(default_factory=list)
    audio: Path | None = None
    id: int | None = None


@dataclass
class Entity:
    """A value found in a message, with its character span in that message's text."""

    type: str  # order_number | email | amount | date | card_last4 | error_code | ...
    value: str
    start: int
    end: int
    turn_id: int | None = None


@dataclass
class Reply:
    """What the assistant proposes for one customer turn. Never sent by itself."""

    intent: str
    confidence: float  # calibrated probability of `intent`, 0-1
    level: Literal["High", "Medium", "Low"]
    top: list[tuple[str, float]]  # best intents first, with scores
    entities: list[Entity] = field(default_factory=list)
    draft: str = ""
    source: str = ""  # the knowledge-base article the draft came from
    evidence: dict[str, Any] = field(default_factory=dict)  # turns / OCR boxes that drove it
    model_version: str = ""
    latency_ms: float = 0.0
    turn_id: int | None = None
    id: int | None = None

    @property
    def out_of_scope(self) -> bool:
        return self.intent == OUT_OF_SCOPE

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON shape printed by `frontdesk ask --json`."""
        out = asdict(self)
        out["top"] = [{"intent": name, "score": round(score, 4)} for name, score in self.top]
        out["confidence"] = round(self.confidence, 4)
        out["out_of_scope"] = self.out_of_scope
        return out
