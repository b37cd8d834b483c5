"""The conversation graph: nodes and typed edges of a real conversation with a screenshot."""

from __future__ import annotations

import random
from collections import Counter

import pytest
import torch

from engine.fusion.graph import (
    EDGE_DIM,
    EDGE_TYPES,
    ConversationTurn,
    batch_graphs,
    build_graph,
    edge_type_names,
)
from engine.fusion.synthetic import TRAIN_FONTS, render_screen
from engine.nlu.entities import extract
from engine.vision.ocr import Screenshot


def truth_screenshot(seed: int = 3) -> Screenshot:
    """A rendered payment-declined screen, read as perfect OCR would read it."""
    screen = render_screen(random.Random(seed), "payment_issue", None, TRAIN_FONTS)
    blocks = tuple(screen.truth_blocks)
    return Screenshot(f"{seed:064d}", *screen.image.size, blocks, "\n".join(b.text for b in blocks))


def conversation() -> list[ConversationTurn]:
    texts = [
        ("customer", "I want my money back for order 4821937"),
        ("agent", "Sorry to hear that. Could you confirm the order number?"),
        ("customer", "yes, order 4821937"),
        ("agent", "Thanks, let me check."),
        ("customer", "still nothing? I also got this"),
    ]
    turns = [ConversationTurn(text, role, entities=extract(text)) for role, text in texts]
    turns[-1].screenshots.append(truth_screenshot())
    return turns


@pytest.fixture(scope="module")
def graph(minilm_embed):
    return build_graph(conversation(), minilm_embed)


def test_nodes_stand_for_turns_screenshot_blocks_and_entities(graph):
    kinds = Counter(info.kind for info in graph.nodes)
    shot = truth_screenshot()
    assert kinds["customer"] == 3 and kinds["agent"] == 2
    assert kinds["screenshot"] == 1 and kinds["block"] == len(shot.blocks)
    # the order number said twice is one node; the screenshot's own numbers are not entities
    assert kinds["entity"] == 1
    assert graph.data.x_text.shape == (len(graph.nodes), 384)
    assert graph.nodes[graph.current].turn == 4
    assert graph.data.recency[graph.current] == 0 and graph.data.recency[0] == 1
    block_rows = [i for i, info in enumerate(graph.nodes) if info.kind == "block"]
    assert [graph.nodes[i].label for i in block_rows] == [b.text for b in shot.blocks]
    assert torch.equal(graph.data.box[block_rows], torch.tensor([b.box for b in shot.blocks]))


def test_every_edge_type_appears_with_its_reverse(graph):
    names = Counter(edge_type_names(graph.data.edge_attr))
    for kind in EDGE_TYPES:
        assert names[kind] > 0, kind
        if kind not in ("near", "context"):
            assert names[f"{kind} (reversed)"] == names[kind]
    assert graph.data.edge_attr.shape == (graph.data.edge_index.shape[1], EDGE_DIM)


def test_edges_connect_what_they_say(graph):
    nodes = graph.nodes
    edges = list(zip(graph.data.edge_index.t().tolist(), edge_type_names(graph.data.edge_attr),
                     strict=True))
    turn_row = {info.turn: i for i, info in enumerate(nodes) if info.kind in ("customer", "agent")}
    assert ([turn_row[0], turn_row[1]], "order") in edges
    assert ([turn_row[1], turn_row[0]], "reply_to") in edges
    assert ([turn_row[2], turn_row[4]], "same_speaker") in edges
    context = {s for (s, t), name in edges if name == "context"}
    assert context == {turn_row[t] for t in range(4)}  # every earlier turn feeds the current one
    gaps = {tuple(e): float(g) for e, g in zip(graph.data.edge_index.t().tolist(),
                                               graph.data.edge_attr[:, -1], strict=True)}
    assert gaps[(turn_row[0], turn_row[4])] == 1.0 and gaps[(turn_row[3], turn_row[4])] == 0.25
    entity = next(i for i, info in enumerate(nodes) if info.kind == "entity")
    mentioned_by = {s for (s, t), name in edges if t == entity and name == "mentions"}
    assert mentioned_by == {turn_row[0], turn_row[2]}
    for (source, target), name in edges:
        if name == "near":
            assert nodes[source].kind == nodes[target].kind == "block"
        if name == "contains":
            assert (nodes[source].kind, nodes[target].kind) in {
                ("customer", "screenshot"), ("agent", "screenshot"), ("screenshot", "block")
            }


def test_batching_shifts_the_current_turn(minilm_embed, graph):
    short = build_graph([ConversationTurn("where is my parcel?")], minilm_embed)
    batch = batch_graphs([graph, short])
    assert batch.current_index.tolist() == [graph.current, len(graph.nodes)]
    assert batch.turn_node_index.shape == (6,)
    assert short.data.edge_index.shape == (2, 0)  # one turn, nothing to link


def test_an_empty_conversation_is_refused(minilm_embed):
    with pytest.raises(ValueError):
        build_graph([], minilm_embed)
