"""A conversation as one text for the text intent model: "the intent at this turn" read whole.

Why: the fine-tuned text model reads people's wording far better than the conversation model
over frozen MiniLM, and a follow-up ("yes go ahead", "4471") only means something with the
turns before it - the customer's earlier words and the agent's question ("Would you like me to
cancel the order?") both. So the spoken turns (customer and agent, oldest first) are joined
into one text and the text model reads it cut from the LEFT at JOINED_TOKENS (48) tokens: the
newest words always stay, old ones fall off first, and the cost is one text-model forward
however long the session is. Measured on frontdesk-eval conversations dev by
`python -m bench conversations` (the joined view against the last message, customer turns only,
per-turn recency and the conversation model).

`conversation_decision` is the answer at a turn with earlier turns: the joined reading and the
conversation model's (engine.fusion, GATv2 over the conversation graph, with its own
out_of_scope class) as a product of experts - the geometric mean of their probabilities, equal
weights - then the text model's own out-of-scope rule and levels. The two read differently
(tuned text model over the whole text; frozen MiniLM per turn through the graph) and err on
different cases, so the product beats either alone on frontdesk-eval dev (45/65 against 40 and
32). The conversation model was trained on conversations that end off topic, so its own
out_of_scope stands when it is sure (CONVERSATION_OOS): the text model reads "banana bread" as
place_order whatever came before.

A topic switch is read the same way, from the joined turns beside the conversation model. From
session 8 to 10 a newest message that read as a request by itself at level High was read alone
in the joined reading's place, because the conversation model of the time had never seen a
switch in people's words. It named follow-up questions by their nouns ("will it change on my
old invoices too" -> check_invoice, "does it go back to paypal" -> check_payment_methods), and
since session 11 the conversation model learns switches from our written chats
(assets/training/conversations): without the rule, frontdesk-eval conversations dev and the
written chats' held-out side scored higher with each of the four conversation models tried
(README, issue 13). After an agent turn the switch rests on the conversation model: the joined
words still hold the old topic (tests/nlu/test_joined.py). The rule stays where a request
follows the customer's own message with no agent turn between (`frontdesk ask` logs no agent
turns; a customer adds a second message): the written chats alternate, so the conversation
model has seen few such switches, and there it held the old topic (tests/cli/test_ask.py:
"how do I reset my password?" then "please close my account for good"). No case of either dev
set is read differently by keeping it there.

What the newest message does (engine.nlu.acts, a head learned from MultiDoGO's human turns):
a detail ("4471", an e-mail address, "medium") is left out of the joined text, whose reading it
only blurs (an order number lends any conversation a tracking flavour; "medium" reads as an
order by itself). A follow-up costs one text-model forward: the joined turns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

from engine.nlu.acts import is_detail, is_reply
from engine.nlu.intent import MAX_CHARS, IntentModel, IntentPrediction
from engine.types import OUT_OF_SCOPE

SEPARATOR = " "  # plain space: the model was tuned on single messages, not on markup
JOINED_TOKENS = 48  # the newest tokens of the joined turns the text model reads (its own
# limit is 64): frontdesk-eval conversations dev, joined reading alone, 64 -> 40/65, 56 -> 41,
# 48 -> 43, 40 -> 40; a shorter forward on every follow-up too
CONVERSATION_OOS = 0.7  # the conversation model's out_of_scope stands at this probability
# (frontdesk-eval dev: 44/65 with it, 45/65 without; without it a food question after a shop
# topic is named as that topic, Low)


def joined_text(texts: Sequence[str]) -> str:
    """The turns' texts, oldest first, as one text (empty turns left out), its newest MAX_CHARS
    characters (the model reads 64 tokens of it; a long paste earlier never pushes the newest
    words out or makes the text too long to read)."""
    return SEPARATOR.join(text.strip() for text in texts if text and text.strip())[-MAX_CHARS:]


def joined_probabilities(model: IntentModel, conversations: Sequence[Sequence[str]],
                         tokens: int | None = None) -> torch.Tensor:
    """Calibrated probabilities [B, labels] of each conversation read as one text, its newest
    `tokens` tokens (JOINED_TOKENS by default; cut from the left)."""
    return model.probabilities([joined_text(texts) for texts in conversations],
                               newest=tokens or JOINED_TOKENS)


def predict_joined(model: IntentModel, texts: Sequence[str]) -> IntentPrediction:
    """The text model's decision (its own out-of-scope rule and levels) on the joined turns."""
    return model.decide(joined_probabilities(model, [texts])[0])


def conversation_decision(model: IntentModel, texts: Sequence[str],
                          conversation: Mapping[str, float],
                          act: Mapping[str, float] | None = None,
                          roles: Sequence[str] = ()) -> IntentPrediction | None:
    """The intent at a turn with earlier turns (`texts`: the spoken turns, oldest first, this
    one last), from the joined reading and the conversation model's probabilities per label.
    `act`: what the newest message does (engine.nlu.acts); a detail's own words are left out
    of the joined reading. `roles`: who said each of `texts`; a request that stands alone right
    after the customer's own message is read alone (`stands_alone`).

    None when the conversation model cannot take part: no out_of_scope class (it could not say
    "nothing to carry") or labels other than the text model's (a team's own model)."""
    labels = model.labels
    if OUT_OF_SCOPE not in conversation or set(labels) - set(conversation):
        return None
    other = torch.tensor([conversation[label] for label in labels])
    if len(roles) > 1 and roles[-2] == "customer" and not is_reply(act):
        alone = joined_probabilities(model, [texts[-1:]])[0]
        if stands_alone(model, alone):  # a new request added to the customer's own message
            return model.decide(product_of_experts(alone, other))
    if conversation[OUT_OF_SCOPE] >= CONVERSATION_OOS:  # sure it is off topic: its own answer
        return model.decide(other)
    carried = texts[:-1] if is_detail(act) and len(texts) > 1 else texts
    return model.decide(product_of_experts(joined_probabilities(model, [carried])[0], other))


def stands_alone(model: IntentModel, alone: torch.Tensor) -> bool:
    """The newest message is a request by itself: the text model reads it, alone (its newest
    JOINED_TOKENS tokens), as an in-scope intent at level High. "please close my account for
    good" after a password question is; "yes please" is not."""
    prediction = model.decide(alone)
    return prediction.intent != OUT_OF_SCOPE and prediction.level == "High"


def product_of_experts(*parts: torch.Tensor) -> torch.Tensor:
    """Models' probabilities over the same labels combined: their geometric mean, equal
    weights, renormalised (Hinton 2002). Used for conversations and for screenshots."""
    return torch.stack([p.clamp_min(1e-9).log() for p in parts]).mean(0).softmax(-1)
