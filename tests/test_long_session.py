"""A turn's work is bounded however long its session is (issue 15.7).

Counted, not timed: how many texts the real intent model is given, how many stored turns
`respond` reads, and how many turns the fused model is handed, for a vague follow-up deep in a
300-turn session (the old path re-ran the intent model over every earlier customer turn and read
the whole session). Real models, a real SQLite file.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.assistant import WINDOW_TURNS, Assistant
from engine.fusion.reader import MAX_TURNS
from engine.nlu.intent import MAX_CHARS, IntentModel
from engine.nlu.joined import joined_text
from engine.nlu.knowledge import KnowledgeBase
from engine.types import Message, Reply, Turn

SESSION_TURNS = 300


@pytest.fixture
def long_session(
    tmp_path: Path, default_intent_model: IntentModel, shipped_knowledge: KnowledgeBase
):
    """An Assistant and a session of SESSION_TURNS stored turns (customer turns with replies)."""
    with Assistant(tmp_path, model=default_intent_model, knowledge=shipped_knowledge) as engine:
        session = engine.new_session(channel="test")
        items = []
        for i in range(SESSION_TURNS):
            if i % 2:
                items.append((session, Turn(text="Let me check that for you.", role="agent"),
                              None))
            else:
                reply = Reply(intent="get_refund", confidence=0.9, level="High",
                              top=[("get_refund", 0.9)])
                items.append((session, Turn(text=f"my refund for order {1000 + i} is late"),
                              reply))
        engine.store.add_turns_bulk(items)
        yield engine, session


def test_a_follow_up_deep_in_a_long_session_does_bounded_work(long_session, monkeypatch):
    engine, session = long_session
    predicted: list[int] = []  # texts per call of the real intent model
    batches: list[int] = []  # texts per intent-model forward
    read_whole: list[int] = []  # characters of each text the intent model reads (joined view too)
    read: list[int] = []  # stored turns per history read
    handed: list[int] = []  # turns the fused model was handed
    real_predict, real_turns = engine.model.predict, engine.store.turns
    real_probabilities = engine.model.probabilities
    real_fused = engine.multimodal.predict

    def predict(texts, *args, **kwargs):
        predicted.append(len(texts))
        return real_predict(texts, *args, **kwargs)

    def probabilities(texts, *args, **kwargs):
        batches.append(len(texts))
        read_whole.extend(len(text) for text in texts)
        return real_probabilities(texts, *args, **kwargs)

    def turns(session_id, *args, **kwargs):
        rows = real_turns(session_id, *args, **kwargs)
        read.append(len(rows))
        return rows

    def fused(history, turn_id, **kwargs):
        handed.append(len(history))
        return real_fused(history, turn_id, **kwargs)

    monkeypatch.setattr(engine.model, "predict", predict)
    monkeypatch.setattr(engine.model, "probabilities", probabilities)
    monkeypatch.setattr(engine.store, "turns", turns)
    monkeypatch.setattr(engine.multimodal, "predict", fused)
    for _ in range(2):
        reply = engine.respond(session, Turn(text="still nothing?"))
        assert reply.evidence.model in ("fused", "text")  # the fused model was asked
    # Never the earlier turns one by one: per follow-up one read of one text, the joined text
    # of the graph's MAX_TURNS turns (newest words kept). "still nothing?" answers the agent
    # (engine.nlu.acts reads it as a reply), so it is not read alone (engine.nlu.joined).
    assert predicted == []
    assert batches == [1, 1] and max(read_whole) <= MAX_CHARS
    texts = [row["text"] for row in real_turns(session)]
    assert read_whole == [len(joined_text(texts[-MAX_TURNS - 1:-1])),
                          len(joined_text(texts[-MAX_TURNS:]))]
    assert read == [WINDOW_TURNS, WINDOW_TURNS]
    assert handed == [WINDOW_TURNS, WINDOW_TURNS]
    history = [Message.from_store(row) for row in real_turns(session)]
    assert len(engine.multimodal.conversation(history, reply.turn_id)[0]) == MAX_TURNS


def test_the_store_reads_the_newest_turns_in_order(long_session) -> None:
    engine, session = long_session
    whole = engine.store.turns(session)
    assert len(whole) == SESSION_TURNS
    window = engine.store.turns(session, last=7)
    assert window == whole[-7:]
    assert window[-2]["reply"]["intent"] == "get_refund"  # replies come with their turns
    assert engine.store.turns(session, last=SESSION_TURNS + 50) == whole
