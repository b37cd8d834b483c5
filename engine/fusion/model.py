"""The fused model's parts: screenshot cross-attention, a graph network, the intent head.

How a turn is read:
1. `GatedCrossAttention`: the message's token states (from the text intent model) attend over
   the screenshot's OCR blocks; a block is its text embedding + its 2-D box + the visual feature
   of its region. A tanh gate that starts at 0 (Flamingo, Alayrac et al. 2022) and a hard mask
   mean a turn without an image comes out exactly as it went in.
2. `ConversationGNN`: GATv2 (Brody et al. 2022, "How Attentive are Graph Attention Networks?")
   over the conversation graph of engine.fusion.graph, with edge types as edge features; its
   attention
   weights are returned so the reply can name the turns and boxes that mattered.
3. `IntentHead`: reads the current turn's node state beside its own fused text vector.
`FusedModel` composes the three; `save`/`load` write safetensors + config.json, never a pickle.

Two parts for conversations, each behind a config flag that defaults off (so a checkpoint saved
before them loads and answers exactly as it did; issue 13's redesign):
- `history_view`: the head also reads the whole conversation as one text (its pooled token
  states, `graph.history`, one row per conversation), beside the graph state: the concatenated
  view and the graph in one model, trained as one, instead of two models multiplied.
- `turn_head`: every turn node names its OWN label (what that turn itself states, or NONE:
  a detail, a "yes", a greeting), supervised turn by turn (`graph.turn_label`), and a
  "latest stated turn" pointer reads the conversation the way "the intent at this turn" is
  defined: weight(t) = P(t states a task) x prod over newer turns u of P(u states none). The
  pointer's distribution is mixed with the head's by a learned gate; `logits` are then the log
  of the mixture (softmax of them gives it back).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from engine.errors import ModelError
from engine.fusion.blocks import BlockEncoder, Blocks, box_features
from engine.fusion.graph import EDGE_DIM, NODE_TYPES, ConversationGraph
from engine.fusion.pyg import Batch, GATv2Conv
from engine.nlu.encoder import mean_pool

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "fusion.safetensors"
FORMAT_VERSION = 1


@dataclass
class FusionConfig:
    """Sizes of the fused model; saved beside the weights as config.json."""

    labels: list[str] = field(default_factory=list)
    text_dim: int = 384  # MiniLM token states and sentence embeddings
    visual_dim: int = 1280  # EfficientNet-Lite0 feature map channels
    heads: int = 4
    gnn_dim: int = 256
    gnn_layers: int = 2
    dropout: float = 0.1
    image_long_side: int = 256  # ImageEncoder input size the visual features were made at
    use_image: bool = True  # ablations switch parts off without changing the code path
    use_graph: bool = True
    history_view: bool = False  # the head reads graph.history (the joined conversation) too
    turn_head: bool = False  # per-turn own labels + the latest-stated pointer (see above)
    format_version: int = FORMAT_VERSION
    training: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)


class GatedCrossAttention(nn.Module):
    """Token states attend over OCR blocks; a turn without blocks is returned unchanged."""

    def __init__(self, config: FusionConfig) -> None:
        super().__init__()
        dim = config.text_dim
        self.blocks = BlockEncoder(config)
        self.norm = nn.LayerNorm(dim)
        self.attention = nn.MultiheadAttention(
            dim, config.heads, dropout=config.dropout, batch_first=True
        )
        self.ff_norm = nn.LayerNorm(dim)
        self.ff = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))
        self.attn_gate = nn.Parameter(torch.zeros(1))
        self.ff_gate = nn.Parameter(torch.zeros(1))

    def forward(
        self, tokens: torch.Tensor, token_mask: torch.Tensor, blocks: Blocks
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(fused tokens [B, T, D], attention over blocks [B, T, K], head-averaged)."""
        has_image = blocks.mask.any(dim=1)  # [B]
        keys = self.blocks(blocks)
        ignore = ~blocks.mask
        ignore[~has_image, 0] = False  # a row with no block would give NaN; its output is gated off
        attended, weights = self.attention(
            self.norm(tokens), keys, keys, key_padding_mask=ignore, need_weights=True
        )
        on = has_image[:, None, None].to(tokens.dtype)
        fused = tokens + on * torch.tanh(self.attn_gate) * attended
        fused = fused + on * torch.tanh(self.ff_gate) * self.ff(self.ff_norm(fused))
        weights = weights * on * token_mask[:, :, None].to(weights.dtype)
        return fused, weights


class ConversationGNN(nn.Module):
    """GATv2 layers over the conversation graph; returns node states and attention weights."""

    def __init__(self, config: FusionConfig) -> None:
        super().__init__()
        dim = config.gnn_dim
        self.text = nn.Linear(config.text_dim, dim)
        self.node_type = nn.Embedding(len(NODE_TYPES), dim)
        self.position = nn.Sequential(nn.Linear(8, 64), nn.GELU(), nn.Linear(64, dim))
        self.visual = nn.Sequential(
            nn.LayerNorm(config.visual_dim), nn.Linear(config.visual_dim, dim)
        )
        self.recency = nn.Linear(1, dim)
        self.input_norm = nn.LayerNorm(dim)
        self.convs = nn.ModuleList(
            GATv2Conv(
                dim,
                dim // config.heads,
                heads=config.heads,
                edge_dim=EDGE_DIM,
                dropout=config.dropout,
                add_self_loops=True,
                fill_value="mean",
            )
            for _ in range(config.gnn_layers)
        )
        self.norms = nn.ModuleList(nn.LayerNorm(dim) for _ in range(config.gnn_layers))
        self.dropout = nn.Dropout(config.dropout)

    def node_inputs(self, graph: Batch, x_text: torch.Tensor) -> torch.Tensor:
        """What each node starts from: its text, kind, place, look and how long ago it was."""
        x = (
            self.text(x_text)
            + self.node_type(graph.node_type)
            + self.position(box_features(graph.box))
            + self.recency(graph.recency.unsqueeze(-1))
        )
        if graph.has_visual.any():  # only screenshot/block nodes with features
            visual = torch.zeros_like(x)
            visual[graph.has_visual] = self.visual(graph.visual[graph.has_visual])
            x = x + visual
        return self.input_norm(x)

    def forward(
        self, graph: Batch, x_text: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, list[tuple[torch.Tensor, torch.Tensor]]]:
        """Node states [N, gnn_dim]; per layer (edge_index with self loops, alpha [E, heads])."""
        x = self.node_inputs(graph, graph.x_text if x_text is None else x_text)
        attentions = []
        for conv, norm in zip(self.convs, self.norms, strict=True):
            out, (edge_index, alpha) = conv(
                x, graph.edge_index, edge_attr=graph.edge_attr, return_attention_weights=True
            )
            x = norm(x + self.dropout(nn.functional.elu(out)))
            attentions.append((edge_index, alpha))
        return x, attentions


class IntentHead(nn.Module):
    """Logits from the current turn's graph state beside its fused text vector."""

    def __init__(self, in_dim: int, labels: int, dropout: float) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(in_dim, in_dim), nn.GELU(), nn.Linear(in_dim, labels)
        )

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.net(features)


@dataclass
class FusedOutput:
    logits: torch.Tensor  # [G, labels], one row per conversation (its current turn)
    block_attention: torch.Tensor  # [turns, T, K] tokens over OCR blocks
    graph_attention: list[tuple[torch.Tensor, torch.Tensor]]  # per GAT layer
    turn_logits: torch.Tensor | None = None  # [turns, labels + 1] own labels, last NONE
    pointer: torch.Tensor | None = None  # [turns] latest-stated weight of each turn (turn_head)


def latest_stated(states_something: torch.Tensor, graph_of: torch.Tensor) -> torch.Tensor:
    """Weight of each turn as "the latest turn that states a task" of its conversation.

    `states_something` [turns]: P(turn t states a task), turns of each conversation in order;
    `graph_of` [turns]: its conversation. weight(t) = p_t x prod_{u newer, same conversation}
    (1 - p_u): a turn counts as far as no newer turn states something itself.
    """
    log_none = torch.log1p(-states_something.clamp(max=1 - 1e-6))
    # turns of a conversation are contiguous rows: newer(t) = sum of log_none over the rows
    # after t, less the rows after the conversation's last turn
    after = torch.flip(torch.cumsum(torch.flip(log_none, [0]), 0), [0]) - log_none
    last_row = torch.cumsum(torch.bincount(graph_of), 0) - 1
    newer = after - after[last_row[graph_of]]
    return states_something * torch.exp(newer)


class FusedModel(nn.Module):
    """Cross-attention per turn, GATv2 over the conversation, intent from the current turn.

    Inputs are tensors (token states from the frozen text model, block embeddings, image
    features) so training can cache them; `forward` runs on a `Batch` of conversation graphs
    whose `turn_node_index` rows line up with the rows of `tokens` and `blocks`.
    """

    def __init__(self, config: FusionConfig) -> None:
        super().__init__()
        if not config.labels:
            raise ValueError("FusionConfig.labels is empty")
        self.config = config
        self.cross = GatedCrossAttention(config)
        self.gnn = ConversationGNN(config)
        width = config.text_dim + config.gnn_dim
        if config.history_view:
            self.history = nn.LayerNorm(config.text_dim)
            width += config.text_dim
        self.head = IntentHead(width, len(config.labels), config.dropout)
        if config.turn_head:
            turn_width = config.text_dim + config.gnn_dim
            self.turn_head = IntentHead(turn_width, len(config.labels) + 1, config.dropout)
            self.pointer_gate = nn.Linear(width, 1)

    @property
    def labels(self) -> list[str]:
        return self.config.labels

    def forward(
        self, tokens: torch.Tensor, token_mask: torch.Tensor, blocks: Blocks, graph: Batch
    ) -> FusedOutput:
        if not self.config.use_image:
            blocks = Blocks.empty(tokens.shape[0], self.config, tokens.device)
        if blocks.mask.any():
            fused, block_attention = self.cross(tokens, token_mask, blocks)
        else:  # no screenshot in the batch: the gated cross-attention returns the tokens as
            # they came (its gates multiply by has_image = 0), so its forward is skipped
            fused = tokens
            block_attention = tokens.new_zeros(tokens.shape[0], tokens.shape[1],
                                               blocks.mask.shape[1])
        turn_vectors = mean_pool(fused, token_mask)  # [turns, text_dim]
        current_rows = _current_rows(graph)
        x_text = graph.x_text.clone()
        x_text[graph.turn_node_index] = turn_vectors.to(x_text.dtype)
        if self.config.use_graph:
            states, graph_attention = self.gnn(graph, x_text)
            current_state = states[graph.current_index]
        else:
            graph_attention = []
            current_state = torch.zeros(
                len(current_rows), self.config.gnn_dim, device=tokens.device
            )
        parts = [turn_vectors[current_rows], current_state]
        if self.config.history_view:
            parts.append(self.history(graph.history.to(turn_vectors.dtype)))
        features = torch.cat(parts, dim=-1)
        logits = self.head(features)
        if not self.config.turn_head:
            return FusedOutput(logits, block_attention, graph_attention)
        return self._with_pointer(logits, features, turn_vectors, states if self.config.use_graph
                                  else None, graph, block_attention, graph_attention)

    def _with_pointer(self, logits, features, turn_vectors, states, graph, block_attention,
                      graph_attention) -> FusedOutput:
        """The head's distribution mixed with the latest-stated pointer's (turn_head)."""
        turn_index = graph.turn_node_index
        context = (states[turn_index] if states is not None
                   else turn_vectors.new_zeros(len(turn_index), self.config.gnn_dim))
        turn_logits = self.turn_head(torch.cat([turn_vectors, context], dim=-1))
        own = torch.softmax(turn_logits, dim=-1)
        graph_of = graph.batch[turn_index] if hasattr(graph, "batch") and graph.batch is not None \
            else torch.zeros_like(turn_index)
        weight = latest_stated(1 - own[:, -1], graph_of)  # [turns]
        stated = torch.softmax(turn_logits[:, :-1], dim=-1)  # what it states, if anything
        pointed = torch.zeros_like(logits).index_add(0, graph_of, weight[:, None] * stated)
        rest = 1 - pointed.sum(-1, keepdim=True)  # no turn states anything: the head alone
        head = torch.softmax(logits, dim=-1)
        gate = torch.sigmoid(self.pointer_gate(features))
        mixed = gate * (pointed + rest.clamp_min(0) * head) + (1 - gate) * head
        return FusedOutput(mixed.clamp_min(1e-9).log(), block_attention, graph_attention,
                           turn_logits, weight)

    def save(self, folder: Path) -> None:
        """config.json + fusion.safetensors in `folder`."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / CONFIG_FILE).write_text(json.dumps(asdict(self.config), indent=2))
        # Floating weights in fp16 (half the size in git; load_state_dict casts back to fp32).
        state = {
            name: (t.half() if t.is_floating_point() else t).detach().cpu().contiguous()
            for name, t in self.state_dict().items()
        }
        save_file(state, str(folder / WEIGHTS_FILE))

    @classmethod
    def load(cls, folder: Path, device: str | torch.device = "cpu") -> FusedModel:
        """Read a folder written by `save`; refuse anything else with one sentence."""
        folder = Path(folder)
        config_path, weights = folder / CONFIG_FILE, folder / WEIGHTS_FILE
        if not config_path.is_file() or not weights.is_file():
            raise ModelError(
                f"{folder} is not a fused model folder (config.json + {WEIGHTS_FILE})."
            )
        try:
            saved = json.loads(config_path.read_text())
            config = FusionConfig(**saved)
        except (json.JSONDecodeError, TypeError) as err:
            raise ModelError(f"The fused model config in {folder} cannot be read.") from err
        if config.format_version != FORMAT_VERSION:
            raise ModelError(
                f"The fused model in {folder} has format {config.format_version}; "
                f"this Frontdesk reads format {FORMAT_VERSION}."
            )
        model = cls(config)
        try:
            state = load_file(str(weights))
            model.load_state_dict(state)
        except (SafetensorError, RuntimeError) as err:
            raise ModelError(
                f"The fused model weights in {folder} are damaged or do not fit."
            ) from err
        return model.to(device).eval()


def _current_rows(graph: Batch) -> torch.Tensor:
    """Row of each conversation's current turn among all turn rows (tokens/blocks order)."""
    position = {int(node): row for row, node in enumerate(graph.turn_node_index.tolist())}
    return torch.tensor(
        [position[int(node)] for node in graph.current_index.tolist()],
        device=graph.current_index.device,
    )


def node_relevance(
    graph: ConversationGraph, attentions: list[tuple[torch.Tensor, torch.Tensor]]
) -> torch.Tensor:
    """How much each node fed the current turn's state: attention rollout over the GAT layers.

    Abnar & Zuidema 2020 ("Quantifying Attention Flow"): multiply the layers' head-averaged
    attention matrices (rows = receiving node) and read the current node's row. For one graph.
    """
    n = graph.data.num_nodes
    flow = torch.eye(n)
    for edge_index, alpha in attentions:
        layer = torch.zeros(n, n)
        source, target = edge_index.detach().cpu()
        layer.index_put_((target, source), alpha.detach().cpu().mean(dim=1), accumulate=True)
        flow = layer @ flow
    return flow[graph.current]


PRETRAINED_PARTS = ("cross.", "gnn.")  # what engine.fusion.pretrain trains


def apply_pretrained(model: FusedModel, state: dict[str, torch.Tensor]) -> FusedModel:
    """Load pretrained cross.* / gnn.* weights into `model`; the intent head stays as it is."""
    try:
        missing, unexpected = model.load_state_dict(state, strict=False)
    except RuntimeError as err:  # sizes differ
        raise ModelError("The pretrained weights do not fit this fused model.") from err
    if unexpected or any(name.startswith(PRETRAINED_PARTS) for name in missing):
        raise ModelError("The pretrained weights do not fit this fused model.")
    return model
