"""The joined reading of a conversation and its product with the conversation model (issue 13).

Real shipped text model; the conversation model's probabilities are handed in as plain numbers,
so each rule of `conversation_decision` is checked on its own.
"""

from __future__ import annotations

import pytest
import torch

from engine.nlu.acts import is_detail, is_reply
from engine.nlu.intent import MAX_CHARS, IntentModel
from engine.nlu.joined import (
    CONVERSATION_OOS,
    JOINED_TOKENS,
    conversation_decision,
    joined_probabilities,
    joined_text,
    product_of_experts,
)
from engine.types import OUT_OF_SCOPE

FILLER = "the weather was lovely on the coast and we walked the dog along the beach " * 12


def test_joined_text_keeps_the_newest_words_and_drops_empty_turns() -> None:
    assert joined_text(["hi", "  ", "", "I want to cancel my order"]) == \
        "hi I want to cancel my order"
    long = joined_text(["x" * 5 * MAX_CHARS, "where is my parcel"])
    assert len(long) == MAX_CHARS and long.endswith("where is my parcel")


def test_the_joined_view_is_cut_from_the_left(default_intent_model: IntentModel) -> None:
    """An old long turn falls off first; the newest message is what the model still reads
    (cut from the right, the filler alone would be left). The tokenizer is left as it was."""
    model = default_intent_model
    side = model.tokenizer.truncation_side
    probs = joined_probabilities(model, [[FILLER, "I want to cancel my order"]])[0]
    assert model.decide(probs).intent == "cancel_order"
    assert model.tokenizer.truncation_side == side
    # short conversations are read whole: the same as the plain text model on the joined text
    plain = model.probabilities([joined_text(["hello", "I want to cancel my order"])])[0]
    again = joined_probabilities(model, [["hello", "I want to cancel my order"]])[0]
    assert torch.allclose(plain, again, atol=1e-5)


def test_the_joined_view_reads_its_newest_joined_tokens(default_intent_model: IntentModel
                                                        ) -> None:
    """Words further back than JOINED_TOKENS tokens do not count (a shorter forward on every
    follow-up); the model's own length and the tokenizer's side are left as they were."""
    model = default_intent_model
    length, side = model.config.max_length, model.tokenizer.truncation_side
    assert JOINED_TOKENS < length
    newest = ["the dog " * 25, "I want to cancel my order"]  # about 56 tokens
    apples, pears = [["apple " * 20, *newest]], [["pear " * 20, *newest]]
    assert torch.allclose(joined_probabilities(model, apples)[0],
                          joined_probabilities(model, pears)[0], atol=1e-6)
    assert not torch.allclose(joined_probabilities(model, apples, tokens=length)[0],
                              joined_probabilities(model, pears, tokens=length)[0], atol=1e-6)
    assert (model.config.max_length, model.tokenizer.truncation_side) == (length, side)


def test_conversation_decision_rules(default_intent_model: IntentModel) -> None:
    model = default_intent_model
    texts = ["I ordered the wrong size", "Shall I cancel that order for you?", "yes please"]
    probs = joined_probabilities(model, [texts])[0]
    joined = model.decide(probs)
    # two views that agree give that same answer (the geometric mean of equals)
    same = conversation_decision(model, texts,
                                 dict(zip(model.labels, probs.tolist(), strict=True)))
    assert same is not None and same.intent == joined.intent
    assert same.confidence == pytest.approx(joined.confidence, abs=1e-4)
    # a conversation model with no view of its own keeps the joined ranking, less sure
    uniform = {label: 1 / len(model.labels) for label in model.labels}
    both = conversation_decision(model, texts, uniform)
    assert both is not None and both.intent == joined.intent
    assert [label for label, _ in both.top] == [label for label, _ in joined.top]
    assert both.confidence <= joined.confidence
    # the two views multiply: a conversation model sure of another intent makes it a contender
    # and the answer less sure (the agent sees the doubt as a lower level)
    other = {label: 0.001 for label in model.labels}
    other["get_invoice"] = 1 - 0.001 * (len(model.labels) - 1)
    moved = conversation_decision(model, texts, other)
    assert moved is not None and moved.confidence < both.confidence
    invoice = model.labels.index("get_invoice")
    flat = torch.full((len(model.labels),), 1 / len(model.labels))
    leaning = torch.tensor([other[label] for label in model.labels])
    pulled, neutral = product_of_experts(probs, leaning), product_of_experts(probs, flat)
    assert pulled[invoice] > 10 * neutral[invoice]
    # its sure out_of_scope stands (trained on conversations that end off topic)
    off = {label: (1 - CONVERSATION_OOS) / (len(model.labels) - 1) for label in model.labels}
    off[OUT_OF_SCOPE] = CONVERSATION_OOS
    answer = conversation_decision(model, texts, off)
    assert answer is not None and answer.intent == OUT_OF_SCOPE
    # no out_of_scope class, or other labels (a team's own model): not combined
    assert conversation_decision(model, texts, {k: v for k, v in uniform.items()
                                                if k != OUT_OF_SCOPE}) is None
    assert conversation_decision(model, texts, {"bookflight": 0.5, OUT_OF_SCOPE: 0.5}) is None


def test_a_topic_switch_is_read_joined_beside_the_conversation_model(
        default_intent_model: IntentModel) -> None:
    """After an agent turn every follow-up is read from the joined turns beside the
    conversation model, a new request too: no reading of the newest message alone (which named
    follow-up questions by their nouns: "will it change my old invoices too" -> check_invoice).
    The joined text still holds the old topic, so there the switch rests on the conversation
    model, which learned switches from our written chats. Right after the customer's own
    message the request that stands alone is still read alone; tests/cli/test_ask.py holds
    that switch through the shipped models."""
    model = default_intent_model
    switch = ["my email is kim@shop.test", "how do I reset my password? I forgot it",
              "please close my account for good"]
    new_topic = {label: 0.4 / (len(model.labels) - 1) for label in model.labels}
    new_topic["delete_account"] = 0.6  # the conversation model leaning to the new topic
    answer = conversation_decision(model, switch, new_topic)
    assert answer is not None and answer.intent == "delete_account"
    joined = joined_probabilities(model, [switch])[0]
    leaning = torch.tensor([new_topic[label] for label in model.labels])
    expected = model.decide(product_of_experts(joined, leaning))
    assert answer.confidence == pytest.approx(expected.confidence, abs=1e-4)
    assert [label for label, _ in answer.top[:2]] == ["delete_account", "recover_password"]
    # the joined words alone lean to the old topic: a conversation model leaning there too
    # keeps it (the switch rests on the conversation model, shipped with written switches)
    old_topic = {label: 0.4 / (len(model.labels) - 1) for label in model.labels}
    old_topic["recover_password"] = 0.6
    held = conversation_decision(model, switch, old_topic, roles=["customer", "agent", "customer"])
    assert held is not None and held.intent == "recover_password"
    # the customer's own messages one after another, no agent turn between: a request that
    # stands alone (level High alone) is read alone beside the conversation model
    assert model.predict(switch[-1:])[0].level == "High"
    own = ["customer"] * 3
    answer = conversation_decision(model, switch, old_topic, roles=own)
    assert answer is not None and answer.intent == "delete_account"
    alone = product_of_experts(joined_probabilities(model, [switch[-1:]])[0],
                               torch.tensor([old_topic[label] for label in model.labels]))
    assert answer.confidence == pytest.approx(model.decide(alone).confidence, abs=1e-4)
    # ... but not a follow-up that means nothing alone ("yes please")
    follow_up = ["I ordered the wrong size", "I want to cancel", "yes please"]
    assert model.predict(follow_up[-1:])[0].level != "High"
    carried = {label: 0.01 / (len(model.labels) - 1) for label in model.labels}
    carried["cancel_order"] = 0.99
    answer = conversation_decision(model, follow_up, carried, roles=own)
    assert answer is not None and answer.intent == "cancel_order"


def test_newest_tokens_are_cut_without_touching_the_tokenizer(default_intent_model: IntentModel
                                                              ) -> None:
    """`IntentModel.tokenize(newest=N)` is the tokenizer's own left truncation, done without
    setting it: a reader on another thread (the knowledge base, a screenshot) never sees it
    changed."""
    model = default_intent_model
    texts = [FILLER + " where is my parcel", "hi", "I want to cancel my order " * 8]
    side = model.tokenizer.truncation_side
    got = model.tokenize(texts, newest=JOINED_TOKENS)
    assert model.tokenizer.truncation_side == side == "right"
    model.tokenizer.truncation_side = "left"
    try:
        want = model.tokenizer(texts, padding=True, truncation=True,
                               max_length=JOINED_TOKENS, return_tensors="pt")
    finally:
        model.tokenizer.truncation_side = side
    assert torch.equal(got["input_ids"].cpu(), want["input_ids"])
    assert torch.equal(got["attention_mask"].cpu(), want["attention_mask"])
    assert got["input_ids"].shape[1] == JOINED_TOKENS


def test_a_reply_to_the_agent_is_read_with_its_conversation(
        default_intent_model: IntentModel, shipped_acts, frozen_minilm) -> None:
    """What the newest message does (engine.nlu.acts) decides how it is read. A reply never
    switches the topic, though the text model reads a short reply that names a thing as an
    order by itself; a detail's own words are left out of the joined reading."""
    model = default_intent_model
    swap = ["the jumper I ordered is too small, can I swap it for a bigger size before it ships?",
            "Sure, which size would you like instead?", "medium"]
    alone = model.predict(swap[-1:])[0]
    assert (alone.intent, alone.level) == ("place_order", "High")
    act = shipped_acts.read(frozen_minilm.embed(swap[-1:])[0])
    assert is_reply(act) and is_detail(act)
    flat = {label: 1 / len(model.labels) for label in model.labels}
    answer = conversation_decision(model, swap, flat, act)
    assert answer is not None and answer.intent == "change_order"
    read_whole = conversation_decision(model, swap, flat)  # no act: "medium" read too
    whole = product_of_experts(joined_probabilities(model, [swap])[0],
                               torch.tensor([flat[label] for label in model.labels]))
    assert read_whole is not None and read_whole.intent == "change_order"
    assert read_whole.confidence == pytest.approx(model.decide(whole).confidence, abs=1e-4)
    # the detail's words are not read: the same answer as the conversation before it
    before = product_of_experts(joined_probabilities(model, [swap[:-1]])[0],
                                torch.tensor([flat[label] for label in model.labels]))
    assert answer.confidence == pytest.approx(model.decide(before).confidence, abs=1e-4)
    # a "yes" to the agent's offer keeps the offer's topic where the text model alone reads
    # the reply as an order and the conversation model leans to out of scope
    fewer = ["I ordered two table lamps by mistake, I only need one",
             "No problem. Shall I change order 4411 to one lamp?", "yeah one is fine"]
    act = shipped_acts.read(frozen_minilm.embed(fewer[-1:])[0])
    assert is_reply(act) and not is_detail(act)
    leaning_off = {label: 0.6 / (len(model.labels) - 1) for label in model.labels}
    leaning_off[OUT_OF_SCOPE] = 0.4
    answer = conversation_decision(model, fewer, leaning_off, act)
    assert answer is not None and answer.intent == "change_order"
    # a request is read with the words it says (its act says request, not a detail)
    switch = ["how do I reset my password? I forgot it", "please close my account for good"]
    act = shipped_acts.read(frozen_minilm.embed(switch[-1:])[0])
    assert not is_reply(act)
    answer = conversation_decision(model, switch, flat, act)
    whole = product_of_experts(joined_probabilities(model, [switch])[0],
                               torch.tensor([flat[label] for label in model.labels]))
    assert answer is not None and answer.intent == model.decide(whole).intent
    assert answer.confidence == pytest.approx(model.decide(whole).confidence, abs=1e-4)
