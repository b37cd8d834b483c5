"""The fused model's parts on real inputs: MiniLM token states, rendered screenshots, graphs."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch

from engine.errors import ModelError
from engine.fusion.blocks import Blocks, blocks_for_turns
from engine.fusion.graph import ConversationTurn, batch_graphs, build_graph
from engine.fusion.model import (
    WEIGHTS_FILE,
    FusedModel,
    FusionConfig,
    GatedCrossAttention,
    node_relevance,
)
from engine.fusion.reader import box_evidence, turn_evidence
from engine.fusion.synthetic import TRAIN_FONTS, render_screen
from engine.vision.ocr import Screenshot

LABELS = ["payment_issue", "track_order", "get_refund"]


def rendered(intent: str, seed: int) -> Screenshot:
    screen = render_screen(random.Random(seed), intent, None, TRAIN_FONTS)
    blocks = tuple(screen.truth_blocks)
    return Screenshot(f"{seed:064d}", *screen.image.size, blocks, "\n".join(b.text for b in blocks))


@pytest.fixture(scope="module")
def conversations(image_encoder) -> list[list[ConversationTurn]]:
    """Two conversations: one ends with a screenshot (with real image features), one without."""
    screen = render_screen(random.Random(7), "payment_issue", None, TRAIN_FONTS)
    shot = rendered("payment_issue", 7)
    visual = image_encoder.features(screen.image, [b.box for b in shot.blocks])
    first = [
        ConversationTurn("hi, I need help"),
        ConversationTurn("Of course, what happened?", role="agent"),
        ConversationTurn("what does this mean", screenshots=[shot], visuals=[visual]),
    ]
    second = [ConversationTurn("where is my parcel? it's been a week")]
    return [first, second]


@pytest.fixture(scope="module")
def inputs(conversations, minilm_token_states, minilm_embed):
    config = FusionConfig(labels=LABELS)
    turns = [turn for conversation in conversations for turn in conversation]
    tokens, mask = minilm_token_states([turn.text for turn in turns])
    blocks = blocks_for_turns(turns, minilm_embed, config)
    graphs = [build_graph(conversation, minilm_embed) for conversation in conversations]
    return config, tokens, mask, blocks, graphs


def test_blocks_line_up_with_turns(inputs, conversations):
    _, _, _, blocks, _ = inputs
    shot = conversations[0][2].screenshots[0]
    assert blocks.mask.sum(1).tolist() == [0, 0, len(shot.blocks), 0]
    truth = torch.tensor([b.box for b in shot.blocks])
    assert torch.equal(blocks.box[2, : len(shot.blocks)], truth)
    assert (blocks.visual[2, : len(shot.blocks)].abs().sum(1) > 0).all()


def test_a_turn_without_image_is_unchanged(inputs):
    config, tokens, mask, blocks, _ = inputs
    torch.manual_seed(0)
    cross = GatedCrossAttention(config).eval()
    with torch.no_grad():
        cross.attn_gate.fill_(1.0)  # gates open, as after training
        cross.ff_gate.fill_(1.0)
        fused, weights = cross(tokens, mask, blocks)
    no_image = ~blocks.mask.any(1)
    assert torch.equal(fused[no_image], tokens[no_image])
    assert not torch.allclose(fused[2], tokens[2])
    assert weights[no_image].abs().sum() == 0
    real = mask[2].bool()
    k = int(blocks.mask[2].sum())
    sums = weights[2, real, :k].sum(-1)
    assert torch.allclose(sums, torch.ones_like(sums), atol=1e-5)  # padded blocks get nothing


def test_closed_gates_leave_every_turn_unchanged(inputs):
    config, tokens, mask, blocks, _ = inputs
    cross = GatedCrossAttention(config).eval()  # gates start at 0 (tanh(0) = 0)
    with torch.no_grad():
        fused, _ = cross(tokens, mask, blocks)
    assert torch.equal(fused, tokens)


def test_fused_model_runs_and_explains(inputs, conversations):
    config, tokens, mask, blocks, graphs = inputs
    torch.manual_seed(0)
    model = FusedModel(config).eval()
    with torch.no_grad():
        out = model(tokens, mask, blocks, batch_graphs(graphs))
    assert out.logits.shape == (2, len(LABELS))
    assert len(out.graph_attention) == config.gnn_layers
    with torch.no_grad():  # one graph alone gives the same logits as inside the batch
        alone = model(tokens[:3], mask[:3], Blocks(*(t[:3] for t in (
            blocks.text, blocks.box, blocks.visual, blocks.mask))), batch_graphs(graphs[:1]))
    assert torch.allclose(alone.logits[0], out.logits[0], atol=1e-4)
    relevance = node_relevance(graphs[0], alone.graph_attention)
    assert relevance.sum().item() == pytest.approx(1.0, abs=1e-4)  # attention flow is a share
    turns = turn_evidence(graphs[0], relevance, top=3)  # the Why view's typed evidence
    assert [turn.role for turn in turns].count("agent") == 1 and len(turns) == 3
    assert turns[0].weight >= turns[1].weight >= turns[2].weight
    boxes = box_evidence(graphs[0], relevance, {}, top=3)  # no cross-attention: by rollout
    assert len(boxes) == 3 and boxes[0].graph_weight >= boxes[1].graph_weight
    assert all(box.text and box.screenshot == 0 and len(box.box) == 4 for box in boxes)


def test_ablation_switches(inputs):
    config, tokens, mask, blocks, graphs = inputs
    batch = batch_graphs(graphs)
    torch.manual_seed(0)
    model = FusedModel(FusionConfig(labels=LABELS, use_image=False)).eval()
    with torch.no_grad():
        model.cross.attn_gate.fill_(1.0)
        with_blocks = model(tokens, mask, blocks, batch).logits
        without = model(tokens, mask, Blocks.empty(len(tokens), config), batch).logits
    assert torch.equal(with_blocks, without)
    model.config.use_graph = False
    with torch.no_grad():
        out = model(tokens, mask, blocks, batch)
    assert out.graph_attention == []


def test_save_and_load_round_trip(inputs, tmp_path: Path):
    config, tokens, mask, blocks, graphs = inputs
    model = FusedModel(config).eval()
    model.save(tmp_path / "fused")
    assert sorted(p.name for p in (tmp_path / "fused").iterdir()) == ["config.json", WEIGHTS_FILE]
    loaded = FusedModel.load(tmp_path / "fused")
    batch = batch_graphs(graphs)
    with torch.no_grad():
        saved = model(tokens, mask, blocks, batch).logits
        again = loaded(tokens, mask, blocks, batch).logits
    # weights are stored in fp16: the same decisions, logits within fp16 rounding
    assert torch.equal(saved.argmax(-1), again.argmax(-1))
    assert torch.allclose(saved, again, atol=2e-2, rtol=1e-2)
    assert loaded.labels == LABELS


def test_bad_model_folders_are_refused(inputs, tmp_path: Path):
    config = inputs[0]
    with pytest.raises(ModelError, match="not a fused model folder"):
        FusedModel.load(tmp_path)
    FusedModel(config).save(tmp_path / "m")
    (tmp_path / "m" / WEIGHTS_FILE).write_bytes(b"\x00" * 64)
    with pytest.raises(ModelError, match="damaged"):
        FusedModel.load(tmp_path / "m")


@pytest.mark.slow
def test_training_learns_from_the_image_and_from_earlier_turns(shared_data: Path):
    """A short run on the 4 order intents (the typed hint "about my order" cannot tell them
    apart): the screenshot and the earlier turn must both be used."""
    from engine.fusion.frozen_text import FrozenText
    from engine.fusion.synthetic import conversation_cases, labels, screenshot_cases
    from engine.fusion.train import accuracy, mode_config, prepare, train

    chosen = ["cancel_order", "change_order", "place_order", "track_order"]
    assert set(chosen) <= set(labels(shared_data))

    def cases(split: str, per_intent: int):
        found = (screenshot_cases(shared_data, split, 27 * per_intent)
                 + conversation_cases(shared_data, split, 27 * per_intent))
        return [c for c in found if c.intent in chosen]

    torch.set_num_threads(1)
    text = FrozenText()
    train_items = prepare(cases("train", 10), chosen, text, "full")
    test_cases = cases("test", 4)
    test_items = prepare(test_cases, chosen, text, "full", seed=1)
    model = train(mode_config("full", chosen), train_items, epochs=40, log=None)
    shots = [i for i in test_items if i.case.kind == "screenshot"]
    talks = [i for i in test_items if i.case.kind == "conversation"
             and i.case.note != "own"]
    without_image = prepare([c for c in test_cases if c.kind == "screenshot"], chosen, text,
                            "no_image", seed=1)
    assert accuracy(model, shots) >= accuracy(model, without_image) + 0.2
    assert accuracy(model, talks) >= 0.6  # chance is 0.25; the last message says nothing


def test_a_batch_without_screenshots_skips_the_cross_attention_exactly(inputs):
    """The second conversation has no screenshot: alone (cross-attention skipped) it gets the
    logits it gets inside a batch where the first one's screenshot runs the cross-attention."""
    config, tokens, mask, blocks, graphs = inputs
    torch.manual_seed(0)
    model = FusedModel(config).eval()
    with torch.no_grad():
        model.cross.attn_gate.fill_(1.0)  # gates open, as after training
        model.cross.ff_gate.fill_(1.0)
        both = model(tokens, mask, blocks, batch_graphs(graphs)).logits
        alone = model(tokens[3:], mask[3:], Blocks.empty(1, config), batch_graphs(graphs[1:]))
    assert torch.allclose(alone.logits[0], both[1], atol=1e-5)
    assert alone.block_attention.abs().sum() == 0


def test_latest_stated_weighs_each_turn_by_what_newer_turns_state():
    from engine.fusion.model import latest_stated

    p = torch.tensor([0.9, 0.1, 0.8, 0.5, 0.2, 0.9, 0.7])
    graph_of = torch.tensor([0, 0, 0, 0, 1, 1, 2])
    expected = []
    for t in range(len(p)):  # p_t x prod over the newer turns of the same conversation
        newer = [u for u in range(t + 1, len(p)) if graph_of[u] == graph_of[t]]
        expected.append(float(p[t] * torch.prod(1 - p[newer])))
    assert torch.allclose(latest_stated(p, graph_of), torch.tensor(expected), atol=1e-6)


def test_shipped_checkpoints_load_with_the_conversation_parts_off():
    """Checkpoints saved before history_view / turn_head (no such keys in their config.json)
    load, with both parts off and no new weights expected."""
    import json

    from engine import paths

    for name in ("fused", "conversation"):
        folder = paths.ASSETS / "models" / name
        saved = json.loads((folder / "config.json").read_text())
        model = FusedModel.load(folder)
        if "history_view" not in saved:
            assert not model.config.history_view and not model.config.turn_head
            assert not hasattr(model, "turn_head") and not hasattr(model, "history")


def test_the_conversation_parts_save_and_load(inputs, tmp_path: Path):
    config, tokens, mask, blocks, graphs = inputs
    history = FusionConfig(labels=LABELS, history_view=True, turn_head=True)
    torch.manual_seed(0)
    model = FusedModel(history).eval()
    for graph in graphs:
        graph.data.history = torch.randn(1, config.text_dim)
    batch = batch_graphs(graphs)
    model.save(tmp_path / "conversation")
    loaded = FusedModel.load(tmp_path / "conversation")
    assert loaded.config.history_view and loaded.config.turn_head
    with torch.no_grad():
        saved, again = model(tokens, mask, blocks, batch), loaded(tokens, mask, blocks, batch)
    assert torch.equal(saved.logits.argmax(-1), again.logits.argmax(-1))
    assert torch.allclose(saved.logits.exp().sum(-1), torch.ones(2), atol=1e-4)  # log of a mix
    assert saved.turn_logits.shape == (len(tokens), len(LABELS) + 1)
    assert saved.pointer.shape == (len(tokens),)
    for graph in graphs:
        del graph.data.history
