"""Train the fused model (cross-attention + GATv2 + head) on the synthetic sets, text frozen.

One file, read top to bottom: features -> batches -> train -> evaluate (after nanoGPT's train.py
and pytorch_geometric's examples/gcn.py). The text encoder is frozen: its token states and
sentence vectors are computed once per case and cached in memory, so an epoch only runs the
small fused model. By default the frozen encoder is the pretrained MiniLM of the wheel (so no
Bitext text the intent model was tuned on leaks into the synthetic test sets); `--intent-model`
uses a trained IntentModel folder instead.

Data (engine.fusion.synthetic says exactly how it is built): screenshot cases and conversation cases
from the train pool; the test pool and the test-only font are never seen in training. Training
reads screenshots as perfect OCR plus OCR-like noise (`synthetic.ocr_noise`); `python -m
bench.fusion --ocr-test N` runs real RapidOCR on N test screenshots to check the shortcut holds.

Modes (the ablations of bench.fusion build on them):
  full      graph over the conversation + screenshot cross-attention (the product)
  no_image  the same, with every screenshot removed (the typed text alone)
  last      the current turn alone: no graph, no history
  concat    no graph; history and current turn joined into one text (oldest first, cut from
            the left at 128 tokens so the newest words stay)
Two options of the full mode for conversations (FusionConfig flags, engine.fusion.model): the
head also reads the joined conversation (`prepare_turns(history=True)`, history_view), and every
turn is supervised with its own label (`turn_labels`, turn_head: TURN_LOSS x the per-turn loss
beside the conversation's); bench.multidogo compares them.

The recipe of the shipped models is engine.recipes.fused_model.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.nn.utils.rnn import pad_sequence

from engine.errors import TrainingCancelled
from engine.fusion.blocks import Blocks
from engine.fusion.frozen_text import FrozenText
from engine.fusion.graph import (
    ConversationGraph,
    ConversationTurn,
    batch_graphs,
    build_graph,
    conversation_turns,
)
from engine.fusion.model import FusedModel, FusionConfig, apply_pretrained
from engine.fusion.synthetic import (
    SyntheticCase,
    human_conversation_cases,
    labels,
    ocr_noise,
    screenshot_cases,
)
from engine.nlu.entities import extract
from engine.types import OUT_OF_SCOPE, Message
from engine.vision.ocr import Screenshot

MODES = ("full", "no_image", "last", "concat")
CONCAT_TOKENS = 128
NONE = -1  # a turn label: this turn states no task itself (a detail, "yes", a greeting)
IGNORE = -100  # a turn label: not known (cross_entropy's ignore_index)
TURN_LOSS = 0.5  # weight of the per-turn own-label loss beside the conversation's (turn_head)


@dataclass
class Prepared:
    """One case as tensors: per turn (tokens, block rows), its graph and its label."""

    tokens: list[torch.Tensor]  # per turn [T_i, 384]
    block_text: list[torch.Tensor]  # per turn [K_i, 384]
    block_box: list[torch.Tensor]  # per turn [K_i, 4]
    block_visual: list[torch.Tensor]  # per turn [K_i, 1280]
    graph: ConversationGraph
    label: int
    case: SyntheticCase


def case_turns(case: SyntheticCase, mode: str, rng: random.Random, noise: float,
               ocr: dict[str, Screenshot] | None = None) -> list[ConversationTurn]:
    """The turns the model sees for `case` in `mode` (screenshots as noisy truth or real OCR)."""
    turns = []
    for index, turn in enumerate(case.turns):
        shots = []
        if turn.screen is not None and mode != "no_image":
            key = f"{case.id}:{index}"
            if ocr is not None and key in ocr:
                shots.append(ocr[key])
            else:
                blocks = tuple(ocr_noise(rng, turn.screen.truth_blocks, noise))
                shots.append(Screenshot(key, *turn.screen.image.size, blocks,
                                        "\n".join(b.text for b in blocks)))
        turns.append(ConversationTurn(turn.text, turn.role, shots, [], extract(turn.text)))
    return for_mode(turns, mode)


def for_mode(turns: list[ConversationTurn], mode: str) -> list[ConversationTurn]:
    """What a mode reads of a conversation: all of it, the last turn, or one joined text."""
    if mode == "concat":
        joined = joined_turns(turns)
        last = turns[-1]
        return [ConversationTurn(joined, last.role, last.screenshots, [], extract(joined))]
    if mode == "last":
        return turns[-1:]
    return turns


def joined_turns(turns: list[ConversationTurn]) -> str:
    """The conversation as one text, oldest first: the concat mode's text and the history
    view's (FusionConfig.history_view), read cut from the left at CONCAT_TOKENS."""
    return " | ".join(turn.text for turn in turns)


def prepare(
    cases: list[SyntheticCase], label_names: list[str], text: FrozenText, mode: str,
    image_encoder=None, noise: float = 0.03, seed: int = 0,
    ocr: dict[str, Screenshot] | None = None,
) -> list[Prepared]:
    """Every case as tensors, with one batched encoder call per kind of text."""
    rng = random.Random(f"prepare:{seed}")
    all_turns = [case_turns(case, mode, rng, noise, ocr) for case in cases]
    if image_encoder is not None:
        _add_visuals(cases, all_turns, image_encoder)
    return prepare_turns(all_turns, [label_names.index(c.intent) for c in cases], text, mode,
                         cases)


def prepare_turns(
    all_turns: list[list[ConversationTurn]], label_ids: list[int], text: FrozenText,
    mode: str = "full", cases: list[SyntheticCase] | None = None,
    turn_labels: list[list[int]] | None = None, history: bool = False,
) -> list[Prepared]:
    """Conversations (turns as the graph sees them) as tensors: each distinct text encoded
    once, block visuals from `turn.visuals` where computed (zeros otherwise).
    engine.learning.fused_retrain
    feeds the logs' conversations through here too.

    `turn_labels`: each turn's own label id per conversation (NONE, IGNORE or a label id),
    kept on the graph for the turn head; `history`: the joined conversation's pooled token
    states kept on the graph for the history view (FusionConfig.history_view)."""
    flat = [turn for turns in all_turns for turn in turns]
    max_length = CONCAT_TOKENS if mode == "concat" else 64
    states = iter(text.states([t.text for t in flat], max_length, mode == "concat"))
    block_texts = [b.text for t in flat for s in t.screenshots for b in s.blocks]
    block_vectors = iter(text.embed(block_texts))
    graphs = [build_graph(turns, _zeros) if mode in ("full", "no_image") else None
              for turns in all_turns]
    _fill_text_vectors([g for g in graphs if g is not None], text)
    if history:
        _add_history([g for g in graphs if g is not None],
                     [turns for turns, g in zip(all_turns, graphs, strict=True) if g is not None],
                     text)
    if turn_labels is not None:
        for graph, own in zip(graphs, turn_labels, strict=True):
            if graph is not None:
                graph.data.turn_label = torch.tensor(own, dtype=torch.long)
    prepared = []
    for index, (turns, graph) in enumerate(zip(all_turns, graphs, strict=True)):
        tokens, b_text, b_box, b_visual = [], [], [], []
        for turn in turns:
            tokens.append(next(states))
            blocks = [b for s in turn.screenshots for b in s.blocks]
            b_text.append(torch.stack([next(block_vectors) for _ in blocks])
                          if blocks else torch.zeros(0, 384))
            b_box.append(torch.tensor([b.box for b in blocks]) if blocks else torch.zeros(0, 4))
            visuals = [v.box_vectors for v in turn.visuals if v is not None]
            b_visual.append(torch.cat(visuals) if visuals else torch.zeros(len(blocks), 1280))
        if graph is None:  # last / concat: a one-node graph the model ignores (use_graph off)
            graph = build_graph([ConversationTurn(turns[-1].text)], _zeros)
        prepared.append(Prepared(tokens, b_text, b_box, b_visual, graph, label_ids[index],
                                 cases[index] if cases is not None else None))
    return prepared


def _zeros(texts: list[str]) -> torch.Tensor:
    return torch.zeros(len(texts), 384)


def _add_history(graphs: list[ConversationGraph], all_turns: list[list[ConversationTurn]],
                 text: FrozenText) -> None:
    """graph.history: the mean token state of the joined conversation, cut from the left."""
    states = text.states([joined_turns(turns) for turns in all_turns], CONCAT_TOKENS, True)
    for graph, state in zip(graphs, states, strict=True):
        graph.data.history = state.mean(0, keepdim=True)


def _fill_text_vectors(graphs: list[ConversationGraph], text: FrozenText) -> None:
    """Node text vectors for many graphs in one batched pass (each distinct text once)."""
    unique = sorted({info.label for graph in graphs for info in graph.nodes}, key=len)
    vectors = dict(zip(unique, text.embed(unique), strict=True))
    for graph in graphs:
        graph.data.x_text = torch.stack([vectors[info.label] for info in graph.nodes])


_VISUALS: dict[tuple[str, str, int], object] = {}  # (case id, box signature, size) -> features


def _add_visuals(cases, all_turns, image_encoder, batch_size: int = 16) -> None:
    """EfficientNet-Lite0 box vectors for every screenshot, in batches, each image once."""
    jobs = []
    for case, turns in zip(cases, all_turns, strict=True):
        originals = [t for t in case.turns if t.screen is not None]
        shown = [t for t in turns if t.screenshots]
        for original, turn in zip(originals, shown, strict=False):
            boxes = [b.box for b in turn.screenshots[0].blocks]
            key = (case.id, repr(boxes), image_encoder.long_side)
            if key in _VISUALS:
                turn.visuals = [_VISUALS[key]]
            else:
                jobs.append((original.screen.image, boxes, turn, key))
    for start in range(0, len(jobs), batch_size):
        chunk = jobs[start : start + batch_size]
        features = image_encoder.features_batch([job[0] for job in chunk],
                                                [job[1] for job in chunk])
        for (_, _, turn, key), feature in zip(chunk, features, strict=True):
            turn.visuals = [feature]
            _VISUALS[key] = feature


def collate(items: list[Prepared], config: FusionConfig):
    """(tokens, mask, blocks, graph batch, labels) for a list of prepared cases."""
    tokens = [t for item in items for t in item.tokens]
    padded = pad_sequence(tokens, batch_first=True)
    lengths = torch.tensor([len(t) for t in tokens])
    mask = torch.arange(padded.shape[1])[None, :] < lengths[:, None]
    texts = [t for item in items for t in item.block_text]
    width = max(1, max(len(t) for t in texts))

    def pad(rows: list[torch.Tensor], dim: int) -> torch.Tensor:
        out = torch.zeros(len(rows), width, dim)
        for i, r in enumerate(rows):
            out[i, : len(r)] = r
        return out

    counts = torch.tensor([len(t) for t in texts])
    blocks = Blocks(
        pad(texts, config.text_dim),
        pad([b for item in items for b in item.block_box], 4),
        pad([v for item in items for v in item.block_visual], config.visual_dim),
        torch.arange(width)[None, :] < counts[:, None],
    )
    graph = batch_graphs([item.graph for item in items])
    labels_ = torch.tensor([item.label for item in items])
    return padded, mask, blocks, graph, labels_


def on_device(device: torch.device, batch: tuple) -> tuple:
    """A `collate` batch moved to `device` (the model's: CPU, or CUDA when present)."""
    tokens, mask, blocks, graph, labels_ = batch
    return (tokens.to(device), mask.to(device), blocks.to(device), graph.to(device),
            labels_.to(device))


def _device(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


def train(
    config: FusionConfig, items: list[Prepared], epochs: int = 25, lr: float = 2e-3,
    batch_size: int = 16, seed: int = 0, log=print, initial: dict | None = None,
    device: str = "cpu",
) -> FusedModel:
    """AdamW with a cosine schedule; the whole loop a person can read in one sitting.

    `initial`: cross.* / gnn.* weights to start from (engine.fusion.pretrain); the head starts
    fresh.
    """
    torch.manual_seed(seed)
    model = FusedModel(config).to(device)
    if initial is not None:
        apply_pretrained(model, initial)
    return fit(model, items, epochs, lr, batch_size, seed, log)


def fit(
    model: FusedModel, items: list[Prepared], epochs: int, lr: float, batch_size: int = 16,
    seed: int = 0, log=None, cancel=None, progress=None,
) -> FusedModel:
    """Train `model` in place on `items` (engine.learning.fused_retrain starts from the model in
    use);
    `cancel` (a threading.Event) stops it between batches with TrainingCancelled;
    `progress(step, total)` hears of every batch."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    steps = epochs * -(-len(items) // batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, lr, total_steps=steps)
    order = random.Random(seed)
    for epoch in range(epochs):
        model.train()
        shuffled = items[:]
        order.shuffle(shuffled)
        total = 0.0
        for start in range(0, len(shuffled), batch_size):
            if cancel is not None and cancel.is_set():
                raise TrainingCancelled("Training was cancelled; no model was written.")
            tokens, mask, blocks, graph, target = on_device(
                _device(model), collate(shuffled[start : start + batch_size], model.config))
            out = model(tokens, mask, blocks, graph)
            loss = torch.nn.functional.cross_entropy(out.logits, target, label_smoothing=0.05)
            if out.turn_logits is not None and "turn_label" in graph:
                own = graph.turn_label.clone()
                own[own == NONE] = out.turn_logits.shape[1] - 1
                if (own != IGNORE).any():
                    loss = loss + TURN_LOSS * torch.nn.functional.cross_entropy(
                        out.turn_logits, own, ignore_index=IGNORE)
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            total += loss.item() * len(target)
            if progress is not None:
                progress(schedule.last_epoch, steps)
        if log and (epoch % 10 == 9 or epoch == epochs - 1):
            log(f"  epoch {epoch + 1}/{epochs} loss {total / len(items):.3f}")
    return model.eval()


@torch.no_grad()
def predict(model: FusedModel, items: list[Prepared], batch_size: int = 64):
    """(predicted label ids, per-case graph attentions for evidence)."""
    model.eval()
    predictions, attentions = [], []
    for start in range(0, len(items), batch_size):
        chunk = items[start : start + batch_size]
        tokens, mask, blocks, graph, _ = on_device(_device(model), collate(chunk, model.config))
        out = model(tokens, mask, blocks, graph)
        predictions += out.logits.argmax(-1).tolist()
        attentions.append((graph, out.graph_attention))
    return predictions, attentions


def accuracy(model: FusedModel, items: list[Prepared]) -> float:
    predictions, _ = predict(model, items)
    return sum(p == i.label for p, i in zip(predictions, items, strict=True)) / max(len(items), 1)


def mode_config(mode: str, label_names: list[str], **sizes) -> FusionConfig:
    """The FusionConfig of a mode: which parts are on."""
    return FusionConfig(labels=label_names, use_image=mode != "no_image",
                        use_graph=mode in ("full", "no_image"), **sizes)


def label_set(data_dir: Path) -> list[str]:
    """The fused model's classes: the 27 intents and out_of_scope (it says so itself)."""
    return labels(data_dir) + [OUT_OF_SCOPE]


def build_sets(data_dir: Path, shots_per_intent: int, convs_per_intent: int, seed: int = 0):
    """(train cases, test cases): screenshot + conversation cases of each split
    (conversations: engine.fusion.synthetic.human_conversation_cases, out_of_scope included)."""
    n = len(labels(data_dir))
    train_cases = (screenshot_cases(data_dir, "train", shots_per_intent * n, seed)
                   + human_conversation_cases(data_dir, "train", convs_per_intent * n, seed))
    test_n_shots, test_n_convs = max(1, shots_per_intent // 2), max(1, convs_per_intent // 2)
    test_cases = (screenshot_cases(data_dir, "test", test_n_shots * n, seed)
                  + human_conversation_cases(data_dir, "test", test_n_convs * n, seed))
    return train_cases, test_cases


def chat_items(cases: list, label_names: list[str], text: FrozenText) -> list[Prepared]:
    """Labelled chats (engine.cases.datasets.Case with a history) as the graph reads them."""
    turns = [conversation_turns([*case.history, Message("customer", case.text)])
             for case in cases]
    return prepare_turns(turns, [label_names.index(case.intent) for case in cases], text)


def train_conversations(cases: list, out: Path, epochs: int = 12, seed: int = 0,
                        log=print) -> FusedModel | None:
    """`frontdesk train` on files with conversations: the conversation (fused) model learns
    them too, into `out` (the text model's folder holds it as `fused/`). Only cases with a
    history count; None when there are fewer than two intents among them."""
    chats = [case for case in cases if case.history]
    label_names = sorted({case.intent for case in chats})
    if len(label_names) < 2:
        return None
    items = chat_items(chats, label_names, FrozenText())
    model = train(mode_config("full", label_names), items, epochs=epochs, seed=seed, log=log)
    model.config.training = {"data": "frontdesk train", "train_cases": len(chats),
                             "epochs": epochs, "seed": seed}
    model.save(Path(out))
    return model
