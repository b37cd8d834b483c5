"""Self-supervised pretraining of the fused model's cross-attention and graph network.

Two objectives on unlabelled synthetic data: cases of engine.fusion.synthetic drawn from the
training
pool of utterances with the training fonts only, under seeds the labelled sets never use; the
cases' intents are never read (`unlabelled` sets every label to -1).

(a) Screenshot-text alignment: the typed message's token states attend over the screenshot's
    OCR blocks (`GatedCrossAttention`); the pooled turn vector must pick the sentence embedding
    of the text rendered in its own screenshot among the other screenshots of the batch.
    InfoNCE (van den Oord et al. 2018, "Representation Learning with Contrastive Predictive
    Coding"), symmetric with a learned temperature as in CLIP (Radford et al. 2021).
(b) Masked-turn prediction: one customer turn of each conversation, with the nodes it brought
    (screenshots, blocks, entities), is replaced by a learned mask vector; the GATv2 state of
    that turn's node must pick the hidden turn's embedding among the batch's (BERT's masked
    prediction, Devlin et al. 2019, at the level of turns). Identical texts are not negatives.

Only `cross.*` and `gnn.*` are kept (`pretrain` returns them); `engine.fusion.train.train(...,
initial=state)` starts fine-tuning from them with the recipe unchanged.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn
from torch.nn import functional as F

from engine.errors import ModelError
from engine.fusion.frozen_text import FrozenText
from engine.fusion.model import (
    PRETRAINED_PARTS,
    FusedModel,
    FusionConfig,
)
from engine.fusion.synthetic import conversation_cases, labels, screenshot_cases
from engine.fusion.train import Prepared, collate, prepare
from engine.nlu.encoder import mean_pool
from engine.types import SPEAKERS
from engine.vision.screen_text import CHROME

WEIGHTS_FILE = "pretrained.safetensors"
SEED_OFFSET = 1000  # unlabelled cases use seeds the labelled sets (0, 1, ...) never use


@dataclass
class PretrainConfig:
    """What `pretrain` ran with; saved beside the weights."""

    shots: int = 1080  # unlabelled screenshot cases
    convs: int = 1620  # unlabelled conversations
    epochs: int = 10
    lr: float = 1e-3
    batch_size: int = 64
    proj_dim: int = 256
    seed: int = 0
    use_align: bool = True  # objective (a)
    use_masked: bool = True  # objective (b)


def rendered_text(item: Prepared) -> str:
    """The text a screenshot shows, without the nav bar words and the OK button."""
    screen = item.case.turns[-1].screen
    return " ".join(b.text for b in screen.truth_blocks if b.text not in CHROME and b.text != "OK")


def unlabelled(data_dir: Path, text: FrozenText, shots: int, convs: int,
               seed: int = 0) -> tuple[list[Prepared], list[Prepared]]:
    """(screenshot items, conversation items) from the training side only, labels dropped."""
    names = labels(data_dir)
    shot_cases = screenshot_cases(data_dir, "train", shots, SEED_OFFSET + seed)
    conv_cases = conversation_cases(data_dir, "train", convs, SEED_OFFSET + seed)
    out = []
    for cases in (shot_cases, conv_cases):
        items = prepare(cases, names, text, "full", seed=SEED_OFFSET + seed)
        for item in items:
            item.label = -1  # never read: the objectives below are self-supervised
        out.append(items)
    return out[0], out[1]


class PretrainHeads(nn.Module):
    """Projections, the mask vector and the temperature: used while pretraining, then dropped."""

    def __init__(self, fusion: FusionConfig, proj_dim: int) -> None:
        super().__init__()
        dim = fusion.text_dim
        self.shot = nn.Sequential(nn.Linear(dim, dim), nn.GELU(), nn.Linear(dim, proj_dim))
        self.rendered = nn.Linear(dim, proj_dim)
        self.node = nn.Sequential(nn.Linear(fusion.gnn_dim, fusion.gnn_dim), nn.GELU(),
                                  nn.Linear(fusion.gnn_dim, proj_dim))
        self.hidden = nn.Linear(dim, proj_dim)
        self.mask = nn.Parameter(torch.randn(dim) * 0.02)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))


def info_nce(query: torch.Tensor, key: torch.Tensor, scale: torch.Tensor,
             same: torch.Tensor | None = None) -> torch.Tensor:
    """Symmetric InfoNCE, row i's positive is key i; `same[i, j]` drops j as i's negative."""
    logits = scale.exp().clamp(max=100) * F.normalize(query, dim=-1) @ F.normalize(key, dim=-1).T
    if same is not None:
        logits = logits.masked_fill(same & ~torch.eye(len(query), dtype=torch.bool), -1e4)
    target = torch.arange(len(query))
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2


def _same_text(texts: list[str]) -> torch.Tensor:
    index = {t: i for i, t in enumerate(dict.fromkeys(texts))}
    ids = torch.tensor([index[t] for t in texts])
    return ids[:, None] == ids[None, :]


def align_loss(model: FusedModel, heads: PretrainHeads, items: list[Prepared],
               targets: torch.Tensor) -> torch.Tensor:
    """(a): the screenshot turn's fused vector vs the embedding of the text rendered in it."""
    tokens, mask, blocks, _, _ = collate(items, model.config)
    fused, _ = model.cross(tokens, mask, blocks)
    shots = heads.shot(mean_pool(fused, mask))
    same = _same_text([rendered_text(item) for item in items])
    return info_nce(shots, heads.rendered(targets), heads.logit_scale, same)


def masked_turn_loss(model: FusedModel, heads: PretrainHeads, items: list[Prepared],
                     rng: random.Random) -> torch.Tensor:
    """(b): hide one customer turn per conversation, predict it from the rest of the graph."""
    tokens, mask, blocks, graph, _ = collate(items, model.config)
    fused, _ = model.cross(tokens, mask, blocks)
    x_text = graph.x_text.clone()
    x_text[graph.turn_node_index] = mean_pool(fused, mask).to(x_text.dtype)
    hidden_nodes, hidden_rows, texts = [], [], []
    hide = torch.zeros(len(x_text), dtype=torch.bool)
    for g, item in enumerate(items):
        nodes = item.graph.nodes
        turn = rng.choice([n.turn for n in nodes if n.kind == "customer"])
        offset = int(graph.ptr[g])
        node = next(i for i, n in enumerate(nodes) if n.kind in SPEAKERS
                    and n.turn == turn)
        hidden_nodes.append(offset + node)
        hidden_rows.append(item.graph.data.x_text[node])
        texts.append(nodes[node].label)
        for i, info in enumerate(nodes):
            hide[offset + i] = info.turn == turn
    x_text = torch.where(hide[:, None], heads.mask.expand_as(x_text), x_text)
    states, _ = model.gnn(graph, x_text)
    predicted = heads.node(states[torch.tensor(hidden_nodes)])
    target = heads.hidden(torch.stack(hidden_rows))
    return info_nce(predicted, target, heads.logit_scale, _same_text(texts))


def pretrain(
    fusion: FusionConfig, shots: list[Prepared], convs: list[Prepared], text: FrozenText,
    config: PretrainConfig | None = None, log=print,
) -> tuple[dict[str, torch.Tensor], list[float]]:
    """(pretrained cross.* and gnn.* weights, mean loss per epoch)."""
    config = config or PretrainConfig()
    torch.manual_seed(config.seed)
    model = FusedModel(fusion)
    heads = PretrainHeads(fusion, config.proj_dim)
    targets = text.embed([rendered_text(item) for item in shots]) if config.use_align else None
    params = [p for name, p in model.named_parameters() if name.startswith(PRETRAINED_PARTS)]
    optimizer = torch.optim.AdamW(params + list(heads.parameters()), lr=config.lr,
                                  weight_decay=0.01)
    steps_per_epoch = max(-(-len(shots) // config.batch_size), -(-len(convs) // config.batch_size))
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, config.lr,
                                                   total_steps=config.epochs * steps_per_epoch)
    rng = random.Random(f"pretrain:{config.seed}")
    history = []
    for epoch in range(config.epochs):
        model.train()
        shot_order, conv_order = list(range(len(shots))), list(range(len(convs)))
        rng.shuffle(shot_order)
        rng.shuffle(conv_order)
        total = 0.0
        for step in range(steps_per_epoch):
            loss = torch.zeros(())
            if config.use_align:
                rows = _cycle(shot_order, step, config.batch_size)
                loss = loss + align_loss(model, heads, [shots[i] for i in rows], targets[rows])
            if config.use_masked:
                rows = _cycle(conv_order, step, config.batch_size)
                loss = loss + masked_turn_loss(model, heads, [convs[i] for i in rows], rng)
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params + list(heads.parameters()), 1.0)
            optimizer.step()
            schedule.step()
            total += loss.item()
        history.append(total / steps_per_epoch)
        if log:
            log(f"  pretrain epoch {epoch + 1}/{config.epochs} loss {history[-1]:.3f}")
    state = {name: t.detach().clone() for name, t in model.state_dict().items()
             if name.startswith(PRETRAINED_PARTS)}
    return state, history


def _cycle(order: list[int], step: int, size: int) -> list[int]:
    """Batch `step` of `order`, wrapping around when this set is the shorter one."""
    start = (step * size) % len(order)
    rows = order[start : start + size]
    return rows + order[: size - len(rows)] if len(rows) < size <= len(order) else rows


def save_pretrained(state: dict[str, torch.Tensor], config: PretrainConfig, history: list[float],
                    folder: Path) -> None:
    """pretrained.safetensors + pretrain.json in `folder`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in state.items()}, str(folder / WEIGHTS_FILE))
    (folder / "pretrain.json").write_text(json.dumps(
        {"config": config.__dict__, "loss_per_epoch": [round(x, 4) for x in history]}, indent=2))


def load_pretrained(folder: Path) -> dict[str, torch.Tensor]:
    """The weights `save_pretrained` wrote (safetensors only, never a pickle)."""
    path = Path(folder) / WEIGHTS_FILE
    if not path.is_file():
        raise ModelError(f"{folder} holds no {WEIGHTS_FILE}.")
    return load_file(str(path))
