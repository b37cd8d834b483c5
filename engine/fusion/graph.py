"""The conversation as a graph: the one place that decides its nodes and edges.

Why a graph: in "I want my money back for order 123" ... "still nothing?" the intent sits in an
earlier turn, and in "what does this mean?" + screenshot it sits in one box of the picture. Nodes
are turns (customer / agent), screenshots, OCR blocks and entities; edges say how they relate.
A graph attention network (engine.fusion.model) reads it, and its attention weights, mapped back
through `ConversationGraph.nodes`, name the turns and boxes that drove the intent.

Edges (each also added reversed, with its own type id, so information flows both ways):
  order         turn i -> turn i+1
  reply_to      turn -> the latest earlier turn of the other speaker
  same_speaker  turn -> the previous turn of the same speaker
  contains      turn -> screenshot, screenshot -> OCR block
  mentions      turn -> entity (an entity met twice is one node, so it links the turns)
  near          OCR block <-> its nearest blocks on the same screenshot
  context       every earlier turn -> the current turn (one hop to any turn, however far
                back; the attention on these edges says directly which turn mattered)
`edge_attr` is the one-hot edge type (2 x 7 columns: forward types, then reversed) plus one
column: how many turns apart the two ends are (as a share of the conversation), 0 otherwise.
`near` and `context` are not reversed (near is symmetric; context only feeds the current turn).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from engine.fusion.pyg import Batch, Data
from engine.nlu.entities import extract
from engine.types import SPEAKERS, Entity, Message
from engine.vision.features import FEATURE_DIM, ImageFeatures
from engine.vision.ocr import Screenshot

NODE_TYPES = ("customer", "agent", "screenshot", "block", "entity")
EDGE_TYPES = ("order", "reply_to", "same_speaker", "contains", "mentions", "near", "context")
ONE_WAY = ("near", "context")
EDGE_DIM = 2 * len(EDGE_TYPES) + 1
NEAR_NEIGHBOURS = 2
MAX_BLOCKS = 48  # per screenshot; more lines add cost, not meaning
MAX_TURNS = 12  # the newest turns a graph reads; older ones rarely carry today's intent

Embed = Callable[[list[str]], torch.Tensor]


@dataclass
class ConversationTurn:
    """One turn as the graph sees it: text, speaker, what OCR read, entities found."""

    text: str
    role: str = "customer"  # customer | agent (the assistant's own turns count as agent)
    screenshots: list[Screenshot] = field(default_factory=list)
    visuals: list[ImageFeatures | None] = field(default_factory=list)  # parallel to screenshots
    entities: list[Entity] = field(default_factory=list)
    turn_id: int | None = None


def conversation_turns(
    history: Sequence[Message], screenshots: Callable[[Message], list[Screenshot]] | None = None,
) -> list[ConversationTurn]:
    """The graph's turns of a conversation (oldest first, the last one is answered): its
    customer and agent messages, the newest MAX_TURNS. The one builder of the model's input,
    for serving (engine.fusion.reader), retraining (engine.learning.fused_retrain) and training
    from files (engine.fusion.train), so what the model learns is what it is later shown.

    `screenshots(message)` gives the OCR readings of a message's images (none by default). A
    screenshot-only message keeps its readings' text as its own (so it is searchable and
    shown); the model reads it as it was trained: an empty message plus a screenshot.
    """
    turns = []
    for message in [m for m in history if m.role in SPEAKERS][-MAX_TURNS:]:
        shots = screenshots(message) if screenshots is not None else []
        text = message.text
        if shots and text == screenshot_text(shots):
            text = ""
        turns.append(ConversationTurn(text, message.role, shots, [], extract(text), message.id))
    return turns


def screenshot_text(shots: Sequence[Screenshot]) -> str:
    """The text a screenshot-only turn gets in the store: every reading, one line a block."""
    return "\n".join(shot.text for shot in shots if shot.text).strip()


@dataclass(frozen=True)
class NodeInfo:
    """What a node stands for, so attention on it can be shown to the agent."""

    kind: str  # one of NODE_TYPES
    label: str  # turn text, OCR text, "order_number: 123", ...
    turn: int  # index of the turn it belongs to (first turn that mentions an entity)
    screenshot: int | None = None
    block: int | None = None
    box: tuple[float, float, float, float] | None = None
    turn_id: int | None = None


@dataclass
class ConversationGraph:
    """A torch_geometric `Data` plus `nodes`, the meaning of each node row."""

    data: Data
    nodes: list[NodeInfo]

    @property
    def current(self) -> int:
        return int(self.data.current_index[0])


def _role_type(role: str) -> int:
    return NODE_TYPES.index("customer") if role == "customer" else NODE_TYPES.index("agent")


def _near_pairs(boxes: Sequence[tuple[float, float, float, float]]) -> list[tuple[int, int]]:
    """Each block with its NEAR_NEIGHBOURS closest blocks (centre distance, y counted double)."""
    if len(boxes) < 2:
        return []
    centres = torch.tensor([((x0 + x1) / 2, (y0 + y1) / 2) for x0, y0, x1, y1 in boxes])
    scaled = centres * torch.tensor([1.0, 2.0])  # lines stacked in one panel belong together
    distance = torch.cdist(scaled, scaled)
    distance.fill_diagonal_(float("inf"))
    k = min(NEAR_NEIGHBOURS, len(boxes) - 1)
    nearest = distance.topk(k, largest=False).indices
    pairs = {tuple(sorted((i, int(j)))) for i in range(len(boxes)) for j in nearest[i]}
    return sorted(pairs)


def build_graph(
    turns: Sequence[ConversationTurn], embed: Embed, text_dim: int | None = None
) -> ConversationGraph:
    """The graph of `turns` (oldest first; the last one is the turn to answer).

    `embed(texts) -> [n, d]` gives every node's text vector in one batched call (turn text, OCR
    text, block text, "type value" for entities).
    """
    if not turns:
        raise ValueError("a conversation graph needs at least one turn")
    nodes: list[NodeInfo] = []
    node_type: list[int] = []
    boxes: list[tuple[float, float, float, float]] = []
    visuals: list[torch.Tensor | None] = []
    edges: list[tuple[int, int, int]] = []  # (source, target, edge type)
    turn_nodes: list[int] = []
    block_nodes: list[int] = []
    entity_nodes: dict[tuple[str, str], int] = {}
    texts: list[str] = []
    last = len(turns) - 1

    def add(info: NodeInfo, kind: int, box=(0.0, 0.0, 0.0, 0.0), visual=None) -> int:
        nodes.append(info)
        node_type.append(kind)
        boxes.append(box)
        visuals.append(visual)
        texts.append(info.label)
        return len(nodes) - 1

    def link(source: int, target: int, kind: str) -> None:
        edges.append((source, target, EDGE_TYPES.index(kind)))

    last_by_role: dict[str, int] = {}
    for t, turn in enumerate(turns):
        role = "customer" if turn.role == "customer" else "agent"
        node = add(NodeInfo(role, turn.text, t, turn_id=turn.turn_id), _role_type(role))
        turn_nodes.append(node)
        if t > 0:
            link(turn_nodes[t - 1], node, "order")
        other = "agent" if role == "customer" else "customer"
        if other in last_by_role:
            link(node, last_by_role[other], "reply_to")
        if role in last_by_role:
            link(last_by_role[role], node, "same_speaker")
        last_by_role[role] = node

        for s, shot in enumerate(turn.screenshots):
            features = turn.visuals[s] if s < len(turn.visuals) else None
            shot_node = add(
                NodeInfo("screenshot", shot.text, t, screenshot=s, box=(0.0, 0.0, 1.0, 1.0),
                         turn_id=turn.turn_id),
                NODE_TYPES.index("screenshot"),
                box=(0.0, 0.0, 1.0, 1.0),
                visual=None if features is None else features.global_vector,
            )
            link(node, shot_node, "contains")
            blocks = shot.blocks[:MAX_BLOCKS]
            first_block = len(nodes)
            for b, block in enumerate(blocks):
                visual = None if features is None else features.box_vectors[b]
                block_node = add(
                    NodeInfo("block", block.text, t, screenshot=s, block=b, box=block.box,
                             turn_id=turn.turn_id),
                    NODE_TYPES.index("block"),
                    box=block.box,
                    visual=visual,
                )
                block_nodes.append(block_node)
                link(shot_node, block_node, "contains")
            for i, j in _near_pairs([block.box for block in blocks]):
                link(first_block + i, first_block + j, "near")
                link(first_block + j, first_block + i, "near")

        for entity in turn.entities:
            key = (entity.type, entity.value.lower())
            if key not in entity_nodes:
                entity_nodes[key] = add(
                    NodeInfo("entity", f"{entity.type.replace('_', ' ')} {entity.value}", t),
                    NODE_TYPES.index("entity"),
                )
            link(node, entity_nodes[key], "mentions")

    for t in range(last):
        link(turn_nodes[t], turn_nodes[last], "context")

    x_text = embed(texts).float().cpu()
    if text_dim is not None and x_text.shape[1] != text_dim:
        raise ValueError(f"embed gave {x_text.shape[1]}-d vectors, expected {text_dim}")
    visual = torch.zeros(len(nodes), FEATURE_DIM)
    has_visual = torch.zeros(len(nodes), dtype=torch.bool)
    for i, vector in enumerate(visuals):
        if vector is not None:
            visual[i] = vector
            has_visual[i] = True
    turn_of = torch.tensor([info.turn for info in nodes], dtype=torch.float32)
    data = Data(
        x_text=x_text,
        node_type=torch.tensor(node_type, dtype=torch.long),
        box=torch.tensor(boxes, dtype=torch.float32),
        visual=visual,
        has_visual=has_visual,
        recency=(last - turn_of) / max(last, 1),  # 0 for the current turn, 1 for the first
        edge_index=_edge_index(edges),
        edge_attr=_edge_attr(edges, turn_of, max(last, 1), set(turn_nodes)),
        current_index=torch.tensor([turn_nodes[last]]),
        turn_node_index=torch.tensor(turn_nodes, dtype=torch.long),
        num_nodes=len(nodes),
    )
    return ConversationGraph(data, nodes)


def _both_ways(edges: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    reverse_offset = len(EDGE_TYPES)
    out = list(edges)
    for source, target, kind in edges:
        if EDGE_TYPES[kind] not in ONE_WAY:
            out.append((target, source, kind + reverse_offset))
    return out


def _edge_index(edges: list[tuple[int, int, int]]) -> torch.Tensor:
    both = _both_ways(edges)
    if not both:
        return torch.zeros(2, 0, dtype=torch.long)
    return torch.tensor([[s for s, _, _ in both], [t for _, t, _ in both]], dtype=torch.long)


def _edge_attr(
    edges: list[tuple[int, int, int]], turn_of: torch.Tensor, span: int, turn_nodes: set[int]
) -> torch.Tensor:
    both = _both_ways(edges)
    kinds = torch.tensor([k for _, _, k in both], dtype=torch.long)
    one_hot = torch.nn.functional.one_hot(kinds, EDGE_DIM - 1).float()
    gap = torch.tensor(
        [abs(float(turn_of[s] - turn_of[t])) / span if s in turn_nodes and t in turn_nodes
         else 0.0 for s, t, _ in both]
    )
    return torch.cat([one_hot, gap.reshape(-1, 1)], dim=1)


def edge_type_names(edge_attr: torch.Tensor) -> list[str]:
    """Readable names of the edges ("order", "order (reversed)", ...) from their one-hot rows."""
    names = []
    for kind in edge_attr[:, : 2 * len(EDGE_TYPES)].argmax(dim=1).tolist():
        base = EDGE_TYPES[kind % len(EDGE_TYPES)]
        names.append(base if kind < len(EDGE_TYPES) else f"{base} (reversed)")
    return names


def batch_graphs(graphs: Sequence[ConversationGraph]) -> Batch:
    """One `Batch` of several graphs; `current_index` and `turn_node_index` are shifted."""
    return Batch.from_data_list([graph.data for graph in graphs])
