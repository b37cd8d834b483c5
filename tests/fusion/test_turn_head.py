"""The conversation parts of the fused model (issue 13's redesign) learn "the intent at this
turn" as it is defined: the task the latest turn that states one states, whatever follows it.

Train and test conversations are different compositions (order, switches, follow-ups) of the
same wordings: this checks the mechanism (which turn to read), not reading new wordings (that
is bench.multidogo's question, on people's chats)."""

from __future__ import annotations

import random

import pytest
import torch

from engine.fusion.frozen_text import FrozenText
from engine.fusion.graph import ConversationTurn
from engine.fusion.model import FusedModel
from engine.fusion.train import IGNORE, NONE, collate, mode_config, predict, prepare_turns, train

STATEMENTS = {  # wordings of our own, one task each
    "track_order": ["where is my parcel", "my package never arrived",
                    "can you tell me where my order is", "has my delivery shipped yet"],
    "get_refund": ["I want my money back", "please refund me", "I returned it and need a refund",
                   "how do I get reimbursed"],
    "change_address": ["I moved and need to update my address", "change my shipping address",
                       "send it to my new flat instead", "my address is wrong on the order"],
}
FOLLOW_UPS = ["ok", "yes please", "it's 4471", "any news?", "thanks", "still waiting", "sure",
              "the number is 1290", "hello??", "go ahead"]
LABELS = sorted(STATEMENTS)


def conversations(rng: random.Random, count: int):
    """(turns, label, own labels): a first task, follow-ups, sometimes a switch to another."""
    out = []
    for _ in range(count):
        task = rng.choice(LABELS)
        texts, own = [rng.choice(STATEMENTS[task])], [LABELS.index(task)]
        for _ in range(rng.randint(1, 5)):
            if rng.random() < 0.3:
                task = rng.choice([t for t in LABELS if t != task])
                texts.append(rng.choice(STATEMENTS[task]))
                own.append(LABELS.index(task))
            else:
                texts.append(rng.choice(FOLLOW_UPS))
                own.append(NONE)
        out.append(([ConversationTurn(t) for t in texts], LABELS.index(task), own))
    return out


@pytest.fixture(scope="module")
def text() -> FrozenText:
    return FrozenText()


def test_the_turn_head_points_at_the_latest_stated_turn(text: FrozenText):
    torch.set_num_threads(1)
    rng = random.Random(0)
    train_rows, test_rows = conversations(rng, 240), conversations(rng, 120)

    def items(rows):
        return prepare_turns([turns for turns, _, _ in rows], [label for _, label, _ in rows],
                             text, turn_labels=[own for _, _, own in rows], history=True)

    config = mode_config("full", LABELS, history_view=True, turn_head=True)
    model = train(config, items(train_rows), epochs=12, log=None)
    test_items = items(test_rows)
    predictions, _ = predict(model, test_items)
    right = [p == label for p, (_, label, _) in zip(predictions, test_rows, strict=True)]
    assert sum(right) / len(right) >= 0.95
    with torch.no_grad():
        *batch, _ = collate(test_items, model.config)
        out = model(*batch)
    pointed, start = [], 0
    for turns, _, own in test_rows:  # the pointer's heaviest turn is the latest stated one
        weights = out.pointer[start: start + len(turns)]
        latest = max(i for i, label in enumerate(own) if label != NONE)
        pointed.append(int(weights.argmax()) == latest)
        start += len(turns)
    assert sum(pointed) / len(pointed) >= 0.95


def test_bench_features_are_exact_and_turns_carry_their_own_task(text: FrozenText,
                                                                 shared_data, tmp_path):
    """bench.multidogo keeps each text's pooled states only: without screenshots the model
    gives the same answer as over the full token states; each turn's own task is what it
    states itself (None on a detail or a yes), the case's label the task at that turn."""
    from bench.multidogo import PooledText, examples
    from engine.cases.multidogo import load

    rows = examples(load(shared_data, "airline", "dev")[:3])
    follow_ups = [row for row in rows if row[2]]
    assert follow_ups and all(row[3][-1] is None for row in follow_ups)
    assert all(row[1] == next(t for t in reversed(row[3]) if t is not None)
               for row in rows if any(t is not None for t in row[3]))
    labels = sorted({row[1] for row in rows})
    own = [[NONE if t is None else labels.index(t) if t in labels else IGNORE for t in row[3]]
           for row in rows]
    config = mode_config("full", labels, history_view=True, turn_head=True)
    torch.manual_seed(0)
    model = FusedModel(config).eval()
    outs = []
    for features in (text, PooledText(text, tmp_path / "features.pt")):
        items = prepare_turns([row[0] for row in rows], [0] * len(rows), features,
                              turn_labels=own, history=True)
        with torch.no_grad():
            *batch, _ = collate(items, config)
            outs.append(model(*batch).logits)
    assert torch.allclose(outs[0], outs[1], atol=1e-4)
