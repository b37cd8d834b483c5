"""Drafts offer, explain or ask; they never say an action happened, and never ask for what the
customer already said.

An agent may paste a draft unread, so "I've sent a reset link" would be a lie nobody meant.
This file fails the build when any shipped template, or any draft the shipped knowledge base
can render, claims a completed action; and it drives a real Assistant over multi-turn sessions
to check that values given earlier fill the draft instead of being asked for again.
"""

from __future__ import annotations

import itertools
import logging
import textwrap
from pathlib import Path

import pytest

from engine.assistant import Assistant
from engine.nlu.entities import extract
from engine.nlu.knowledge import SLOT_PROMPTS, KnowledgeBase, claimed_action
from engine.types import Entity, Turn

# What a value of each slot looks like in a customer's message (extracted for real below).
SAMPLE_MESSAGES = {
    "order_number": "order #48213",
    "email": "jane.doe@example.com",
    "amount": "$49.99",
    "date": "on March 3rd",
    "card_last4": "my visa ending in 4242",
    "error_code": "error E-1042",
    "phone": "call me on +1 415 555 2671",
    "tracking_number": "tracking number 1Z999AA10123456784",
    "invoice_number": "invoice #00108",
    "address": "ship it to 12 Baker Street, London NW1 6XE",
}

CLAIMS = [
    "I've opened a refund request on order 48213.",
    "I've sent a password reset link to jane.doe@example.com.",
    "I've checked order 48213 and put in the cancellation for you.",
    "I have cancelled it before dispatch.",
    "We've refunded the duplicate charge.",
    "I sent the invoice to your email.",
    "Your order has been cancelled.",
    "The refund has now been processed.",
    "The refund of 20.00 USD is on its way back to your card.",
    "Your account is now closed.",
    "I've updated the newsletter settings for you.",
    "I see the card ending in 4242 was declined.",
    "I've looked up order 48213: it left yesterday.",
]
HONEST = [
    "I can open a refund request for order 48213 - shall I?",
    "Once it's approved, the refund goes back to your card.",
    "If it has already shipped, you can refuse the delivery.",
    "Once you confirm, the account is closed within 30 days.",
    "Refunds go back to the original payment method within 5 business days.",
    "Could you please share your order number so I can take care of this?",
    "I'll check with the carrier if nothing has moved for 5 business days.",
]


@pytest.fixture(scope="module")
def shipped() -> KnowledgeBase:
    return KnowledgeBase.load()


def sample_entities() -> dict[str, Entity]:
    """One real extracted entity per slot type."""
    values = {}
    for slot, message in SAMPLE_MESSAGES.items():
        [entity] = [e for e in extract(message) if e.type == slot]
        values[slot] = entity
    return values


def test_every_slot_has_a_sample() -> None:
    assert set(SAMPLE_MESSAGES) == set(SLOT_PROMPTS)


@pytest.mark.parametrize("text", CLAIMS)
def test_completed_actions_are_caught(text: str) -> None:
    assert claimed_action(text), text


@pytest.mark.parametrize("text", HONEST)
def test_offers_explanations_and_conditions_pass(text: str) -> None:
    assert claimed_action(text) is None, text


def test_no_shipped_template_claims_an_action(shipped: KnowledgeBase) -> None:
    claims = {(a.id, n): claimed_action(t.text) for a in shipped.articles
              for n, t in enumerate(a.templates, 1)}
    assert {key: claim for key, claim in claims.items() if claim} == {}


def test_no_draft_the_shipped_base_can_render_claims_an_action_or_asks_for_a_known_value(
    shipped: KnowledgeBase,
) -> None:
    """Every article, with every combination of the slots its replies use or require known."""
    entities = sample_entities()
    checked = 0
    for article in shipped.articles:
        slots = sorted({s for t in article.templates for s in t.needs} | set(article.requires))
        for size in range(len(slots) + 1):
            for known in itertools.combinations(slots, size):
                given = {slot: entities[slot] for slot in known}
                draft = shipped.draft(article.intents[0], article.title, given)
                assert claimed_action(draft.text) is None, (article.id, known, draft.text)
                asked = draft.text.partition("Could you please share")[2]
                for slot in known:
                    assert article.prompt(slot) not in asked, (article.id, slot, draft.text)
                    assert slot not in draft.missing
                checked += 1
    assert checked >= 60  # every article, several slot combinations each


def test_a_team_article_claiming_an_action_is_named_in_the_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "lost.yaml").write_text(textwrap.dedent("""
        id: lost_parcel
        intents: [track_order]
        title: Lost parcels
        policy: When the carrier shows no scans for five business days, we open an investigation.
        templates: [I've opened an investigation with the carrier.]
        """), encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="frontdesk.knowledge"):
        KnowledgeBase.load(tmp_path)
    assert "lost.yaml reply 1 says \"I've opened\"" in caplog.text


def test_the_address_given_in_the_conversation_fills_the_draft(assistant: Assistant) -> None:
    session = assistant.new_session()
    assistant.respond(session, Turn(
        text="I moved house, my new address is 12 Baker Street, London NW1 6XE", role="customer"))
    assistant.add_turn(session, Turn(text="Thanks, which order is it about?", role="agent"))
    reply = assistant.respond(session, Turn(
        text="can you change the delivery address on order 48213 please", role="customer"))
    assert reply.intent == "change_shipping_address"
    assert "12 Baker Street, London NW1 6XE" in reply.draft and "48213" in reply.draft
    assert "postcode" not in reply.draft and "Could you please share" not in reply.draft
    assert claimed_action(reply.draft) is None
    assert {(e.type, e.value) for e in reply.entities} >= {
        ("address", "12 Baker Street, London NW1 6XE"), ("order_number", "48213")}


def test_an_email_and_an_order_number_given_earlier_are_not_asked_for(
    assistant: Assistant,
) -> None:
    session = assistant.new_session()
    assistant.respond(session, Turn(text="hi, my email is jane.doe@example.com", role="customer"))
    reply = assistant.respond(session, Turn(text="I forgot my password and can't log in",
                                            role="customer"))
    assert reply.intent == "recover_password"
    assert "jane.doe@example.com" in reply.draft and claimed_action(reply.draft) is None

    session = assistant.new_session()
    assistant.respond(session, Turn(text="order 48213 never arrived", role="customer"))
    reply = assistant.respond(session, Turn(text="I want my money back", role="customer"))
    assert reply.intent == "get_refund"
    assert "48213" in reply.draft and "order number" not in reply.draft
    assert reply.draft.count("?") >= 1 and claimed_action(reply.draft) is None  # it offers
