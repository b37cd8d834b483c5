"""Plain data passed between the store, the engine and the window (no torch, no Qt)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

Role = Literal["customer", "agent", "assistant"]
Source = Literal["typed", "voice", "image"]
ROLES: tuple[str, ...] = ("customer", "agent", "assistant")
SPEAKERS: tuple[str, ...] = ("customer", "agent")  # the conversation; our drafts are not in it
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


@dataclass(frozen=True)
class Message:
    """One earlier message of a conversation, however it was kept (store row, export, eval file).

    Readers convert their files' keys at their edge (engine.cases, engine.learning.logged_cases,
    the store rows in engine.assistant), so the conversation builder
    (engine.fusion.graph.conversation_turns) reads one shape in training and at answer time.
    """

    role: str  # customer | agent | assistant (our own drafts, never read as conversation)
    text: str = ""
    id: int | None = None  # the store's turn id (None for files)
    images: tuple[str, ...] = ()  # an export's image files (images/<sha256>.<ext>)
    attachments: tuple[int, ...] = ()  # the store's image attachment ids

    @classmethod
    def from_file(cls, record: dict[str, Any]) -> Message:
        """A message as files write it: exports say speaker + content (role user/assistant),
        eval cases and MultiDoGO histories role + text."""
        role = record.get("speaker") or record.get("role") or "customer"
        text = next((v for v in (record.get("content"), record.get("text")) if isinstance(v, str)),
                    "")
        return cls(role="customer" if role == "user" else str(role), text=text,
                   images=tuple(str(ref) for ref in record.get("images") or ()))

    @classmethod
    def from_store(cls, row: dict[str, Any]) -> Message:
        """A turn as the store reads it (engine.store: `turns`), with its image attachments."""
        return cls(role=row["role"], text=row["text"] or "", id=row["id"],
                   attachments=tuple(a["id"] for a in row.get("attachments") or ()
                                     if a["kind"] == "image"))


@dataclass
class Entity:
    """A value found in a message, with its character span in that message's text."""

    type: str  # order_number | email | amount | date | card_last4 | error_code | ...
    value: str
    start: int
    end: int
    turn_id: int | None = None


@dataclass(frozen=True)
class TurnEvidence:
    """A turn that drove a reply: the message itself, one a slot value came from, or one the
    fused model attended to (`weight`, its attention share 0-1; None: named by a rule)."""

    turn_id: int | None
    role: str | None
    why: str
    weight: float | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        if self.weight is None:
            del out["weight"]
        return out


@dataclass(frozen=True)
class BoxEvidence:
    """An OCR box of a screenshot the fused model read: `weight` is the share of the message's
    cross-attention it got, `graph_weight` the attention rollout to the current turn."""

    attachment_id: int | None
    turn_id: int | None
    screenshot: int
    block: int | None
    text: str
    box: tuple[float, float, float, float] | None  # fractions of the image
    weight: float
    graph_weight: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "box": list(self.box) if self.box else None}


@dataclass(frozen=True)
class FusedAnswer:
    """What the fused model said, kept whether or not its answer was taken."""

    intent: str
    confidence: float


@dataclass
class Evidence:
    """What drove a reply, as the engine writes it and the Why view reads it.

    Stored as JSON on the reply (`to_dict`); `from_dict` reads any row written since replies had
    evidence (older rows: boxes with `kind`/`label`, items that are not objects are skipped).
    """

    turns: list[TurnEvidence] = field(default_factory=list)
    boxes: list[BoxEvidence] = field(default_factory=list)
    model: str = ""  # "fused" | "text" (who answered) once the fused model was asked, else ""
    fused: FusedAnswer | None = None
    transcript: str = ""  # what was heard, for a voice turn

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of replies in the store, exports and `frontdesk ask --json`."""
        out: dict[str, Any] = {"turns": [turn.to_dict() for turn in self.turns]}
        if self.model or self.boxes:
            out["boxes"] = [box.to_dict() for box in self.boxes]
        if self.model:
            out["model"] = self.model
        if self.fused is not None:
            out["fused"] = asdict(self.fused)
        if self.transcript:
            out["transcript"] = self.transcript
        return out

    @classmethod
    def of_slots(cls, turn_id: int, history: list[Message], filled: dict[str, Entity]
                 ) -> Evidence:
        """Which turns drove a reply: its message, and each earlier one a slot came from."""
        roles = {message.id: message.role for message in history}
        turns = [TurnEvidence(turn_id, roles.get(turn_id, "customer"), "message")]
        for slot, entity in filled.items():
            if entity.turn_id is not None and entity.turn_id != turn_id:
                turns.append(TurnEvidence(entity.turn_id, roles.get(entity.turn_id),
                                          f"{slot} {entity.value}"))
        return cls(turns)

    @classmethod
    def from_dict(cls, data: Any) -> Evidence:
        """Evidence from stored JSON (old rows included); anything unreadable is left out."""
        if not isinstance(data, dict):
            return cls()
        turns = [TurnEvidence(_int(t.get("turn_id")), t.get("role"), str(t.get("why") or ""),
                              _float(t.get("weight")))
                 for t in _objects(data.get("turns"))]
        boxes = [BoxEvidence(_int(b.get("attachment_id")), _int(b.get("turn_id")),
                             _int(b.get("screenshot")) or 0, _int(b.get("block")),
                             str(b.get("text") or b.get("label") or ""), _box(b.get("box")),
                             _float(b.get("weight")) or 0.0, _float(b.get("graph_weight")) or 0.0)
                 for b in _objects(data.get("boxes"))]
        fused = data.get("fused")
        answer = (FusedAnswer(str(fused.get("intent")), _float(fused.get("confidence")) or 0.0)
                  if isinstance(fused, dict) and fused.get("intent") else None)
        return cls(turns, boxes, str(data.get("model") or ""), answer,
                   str(data.get("transcript") or ""))


def _objects(items: Any) -> list[dict[str, Any]]:
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _float(value: Any) -> float | None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    return float(value) if ok else None


def _box(value: Any) -> tuple[float, float, float, float] | None:
    if isinstance(value, list) and len(value) == 4 and all(_float(v) is not None for v in value):
        return (float(value[0]), float(value[1]), float(value[2]), float(value[3]))
    return None


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
    evidence: Evidence = field(default_factory=Evidence)  # turns / OCR boxes that drove it
    model_version: str = ""
    latency_ms: float = 0.0
    turn_id: int | None = None
    id: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.evidence, Evidence):  # a stored row's JSON
            self.evidence = Evidence.from_dict(self.evidence)

    @property
    def out_of_scope(self) -> bool:
        return self.intent == OUT_OF_SCOPE

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON shape printed by `frontdesk ask --json`."""
        out = asdict(self)
        out["top"] = [{"intent": name, "score": round(score, 4)} for name, score in self.top]
        out["confidence"] = round(self.confidence, 4)
        out["out_of_scope"] = self.out_of_scope
        out["evidence"] = self.evidence.to_dict()
        return out
