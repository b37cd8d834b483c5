"""The Assistant end to end: the shipped model, the shipped knowledge base, a real SQLite file."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from engine import paths
from engine.assistant import MAX_TEXT_CHARS, Assistant
from engine.errors import InputError, StoreError
from engine.store.database import Store
from engine.types import OUT_OF_SCOPE, Turn, TurnEvidence

pytestmark = pytest.mark.slow  # loads the shipped intent model (once per run)


def customer(text: str) -> Turn:
    return Turn(text=text, role="customer", source="typed")


@pytest.mark.parametrize(
    ("message", "intent", "in_draft"),
    [
        ("hey I need to cancel order #48213, bought the wrong size by mistake",
         "cancel_order", "48213"),
        ("I want to track my order, the tracking number is 1Z999AA10123456784",
         "track_order", "1Z999AA10123456784"),
        ("I forgot my password, please send a password reset link to jo.bloggs@mail.com",
         "recover_password", "jo.bloggs@mail.com"),
    ],
)
def test_respond_names_the_intent_and_drafts_with_the_slots(
    assistant: Assistant, message: str, intent: str, in_draft: str
) -> None:
    session = assistant.new_session(agent="ana", channel="chat")
    reply = assistant.respond(session, customer(message))
    assert reply.intent == intent
    assert reply.source == intent
    assert in_draft in reply.draft and "{" not in reply.draft
    assert 0.0 <= reply.confidence <= 1.0 and reply.level in {"High", "Medium", "Low"}
    assert len(reply.top) == 3 and reply.top[0][1] >= reply.top[1][1] >= reply.top[2][1]
    found = [e for e in reply.entities if e.value == in_draft or e.value == in_draft.lower()]
    assert found and message[found[0].start : found[0].end].lower() == in_draft.lower()
    assert reply.model_version == assistant.model.version and reply.latency_ms > 0


def test_turn_and_reply_are_in_the_store(assistant: Assistant) -> None:
    session = assistant.new_session()
    turn = customer("can I get the invoice of order 778812")
    reply = assistant.respond(session, turn)
    assert turn.id is not None and reply.turn_id == turn.id and reply.id is not None
    with Store.open(assistant.home) as reader:  # a second connection sees committed rows
        (row,) = reader.turns(session)
    assert row["id"] == turn.id and row["text"] == turn.text
    assert row["reply"]["id"] == reply.id
    assert row["reply"]["intent"] == reply.intent == "get_invoice"
    assert row["reply"]["draft"] == reply.draft
    assert row["reply"]["evidence"] == {"turns": [
        {"turn_id": turn.id, "role": "customer", "why": "message"}]}


def test_slots_come_from_earlier_turns_and_are_shown_as_evidence(assistant: Assistant) -> None:
    session = assistant.new_session()
    first = Turn(text="hi, my order number is 55123 and it still hasn't shipped")
    assistant.add_turn(session, first)
    assistant.add_turn(session, Turn(text="Sorry about that! Let me look.", role="agent"))
    reply = assistant.respond(session, customer("forget it, I want to cancel the order"))
    assert reply.intent == "cancel_order"
    assert "55123" in reply.draft
    from_history = [e for e in reply.entities if e.turn_id == first.id]
    assert [(e.type, e.value) for e in from_history] == [("order_number", "55123")]
    assert TurnEvidence(first.id, "customer", "order_number 55123") in reply.evidence.turns


def test_latest_value_wins_and_a_missing_slot_is_asked_for(assistant: Assistant) -> None:
    session = assistant.new_session()
    asked = assistant.respond(session, customer("please cancel my order"))
    assert asked.intent == "cancel_order"
    assert "order number" in asked.draft and "{order_number}" not in asked.draft
    assistant.respond(session, customer("it is order #11111"))
    final = assistant.respond(session, customer("sorry, wrong one, cancel order #22222"))
    assert "22222" in final.draft and "11111" not in final.draft


def test_out_of_scope_message_gets_the_handoff_article(assistant: Assistant) -> None:
    session = assistant.new_session()
    reply = assistant.respond(session, customer("what will the weather be like in Lisbon on "
                                                "saturday, should I bring an umbrella"))
    assert reply.intent == OUT_OF_SCOPE and reply.out_of_scope
    assert reply.source == "out_of_scope" and reply.draft


@pytest.mark.parametrize(
    "text", ["", "   \n\t ", "x" * (MAX_TEXT_CHARS + 1), "a" * 1_048_576, "caf\udce9 refund"],
    ids=["empty", "whitespace", "too-long", "1MB", "not-utf8"],
)
def test_bad_text_is_refused_in_one_sentence_and_nothing_is_stored(
    assistant: Assistant, text: str
) -> None:
    session = assistant.new_session()
    with pytest.raises(InputError) as caught:
        assistant.respond(session, customer(text))
    assert "\n" not in str(caught.value)
    assert assistant.store.turns(session) == []


def test_long_text_is_kept_whole_and_still_answered(assistant: Assistant) -> None:
    session = assistant.new_session()
    text = "How do I check the status of my refund for order 909090? " + "Still waiting. " * 3000
    reply = assistant.respond(session, customer(text))
    (row,) = assistant.store.turns(session)
    assert row["text"] == text and len(text) > 40_000
    assert reply.intent == "track_refund" and "909090" in reply.draft


def test_the_turn_survives_a_failure_after_it_was_stored(assistant: Assistant) -> None:
    session = assistant.new_session()
    # Break the replies table behind the assistant's back: inference runs, storing the reply
    # fails, and the customer's message must still be in the database.
    with sqlite3.connect(paths.database(assistant.home)) as other:
        other.execute("ALTER TABLE replies RENAME TO replies_gone")
    with pytest.raises(StoreError):
        assistant.respond(session, customer("where is my refund for order 31313?"))
    with sqlite3.connect(paths.database(assistant.home)) as other:
        texts = [row[0] for row in other.execute("SELECT text FROM turns WHERE session = ?",
                                                  [session])]
    assert texts == ["where is my refund for order 31313?"]


def test_feedback_is_recorded_against_the_reply(assistant: Assistant) -> None:
    session = assistant.new_session()
    reply = assistant.respond(session, customer("how do i change the address on my order 4411"))
    assistant.feedback(reply.id, "corrected", corrected_intent="change_shipping_address",
                       final_answer="Done, the address is updated.")
    (row,) = assistant.store.turns(session)
    feedback = row["reply"]["feedback"]
    assert feedback["corrected_intent"] == "change_shipping_address"
    assert feedback["final_answer"] == "Done, the address is updated."
    with pytest.raises(InputError):
        assistant.feedback(reply.id, "liked-it")


def test_two_threads_can_drive_one_assistant(assistant: Assistant) -> None:
    sessions = [assistant.new_session(), assistant.new_session()]
    messages = ["cancel order #70001 please", "I was charged twice, refund order #70002"]
    errors: list[BaseException] = []

    def worker(session: int, message: str) -> None:
        try:
            for _ in range(2):
                assistant.respond(session, customer(message))
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=worker, args=pair)
               for pair in zip(sessions, messages, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    for session, message in zip(sessions, messages, strict=True):
        rows = assistant.store.turns(session)
        assert [r["seq"] for r in rows] == sorted(r["seq"] for r in rows)
        assert [r["text"] for r in rows] == [message, message]
        assert all(r["reply"] is not None for r in rows)


def test_several_articles_for_one_intent_are_ranked_by_meaning(
    home, tmp_path, default_intent_model
) -> None:
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "before.yaml").write_text(
        "id: cancel_unshipped\nintents: [cancel_order]\ntitle: Cancelling before dispatch\n"
        "policy: An order still in the warehouse is cancelled at once, free of charge.\n"
        "templates: [I have cancelled it before dispatch.]\n", encoding="utf-8")
    (kb / "after.yaml").write_text(
        "id: cancel_shipped\nintents: [cancel_order]\ntitle: Cancelling after dispatch\n"
        "policy: Once the courier has the parcel it cannot be stopped; refuse the delivery or "
        "send it back for a refund.\ntemplates: [Please refuse the delivery.]\n",
        encoding="utf-8")
    with Assistant(home, model=default_intent_model, knowledge=kb) as engine:
        session = engine.new_session()
        shipped = engine.respond(session, customer(
            "I want to cancel my order but the courier already picked it up"))
        unshipped = engine.respond(session, customer(
            "cancel my order please, it hasn't left your warehouse yet"))
    assert shipped.intent == unshipped.intent == "cancel_order"
    assert (shipped.source, unshipped.source) == ("cancel_shipped", "cancel_unshipped")
