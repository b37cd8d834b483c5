"""Filled stores for tests: a conversation with a screenshot and replies, and file digests."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from engine.store.database import Store
from engine.types import Entity, Evidence, Reply, Turn, TurnEvidence


@dataclass
class Conversation:
    """What `fill_conversation` wrote, to compare with what comes back."""

    session_id: int
    turns: list[Turn] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes: "left untouched" checks compare it before and after."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def reply_for(intent: str, confidence: float = 0.8, draft: str = "") -> Reply:
    """A plausible assistant reply."""
    return Reply(
        intent=intent, confidence=confidence, level="High" if confidence > 0.7 else "Low",
        top=[(intent, confidence), ("out_of_scope", 1 - confidence)],
        entities=[Entity(type="order_number", value="55231", start=0, end=5)],
        draft=draft or f"About your {intent.replace('_', ' ')}: we are on it.",
        source=f"kb/{intent}", evidence=Evidence([TurnEvidence(None, "customer", "message")]),
        model_version="test-1", latency_ms=42.0,
    )


def fill_conversation(store: Store, screenshot: Path, *, agent: str = "ann") -> Conversation:
    """customer (text + screenshot) -> reply corrected; agent; customer -> reply accepted;
    customer -> reply without feedback."""
    talk = Conversation(store.new_session(agent=agent, title="Jacket never arrived"))
    script = [
        (Turn(text="Hi, my jacket from order 55231 never came. Mail jane.roe@example.org",
              images=[screenshot]), reply_for("track_order", 0.55), ("corrected", "refund")),
        (Turn(text="Sorry to hear that, let me check.", role="agent"), None, None),
        (Turn(text="Please just refund it to card 4111 1111 1111 1111"),
         reply_for("refund", 0.91), ("accepted", None)),
        (Turn(text="Thanks, bye"), reply_for("goodbye", 0.4), None),
    ]
    for turn, reply, feedback in script:
        store.add_turn(talk.session_id, turn)
        talk.turns.append(turn)
        if reply is not None:
            store.add_reply(turn.id, reply)
            talk.replies.append(reply)
            if feedback:
                action, corrected = feedback
                store.add_feedback(reply.id, action, corrected_intent=corrected)
    return talk
