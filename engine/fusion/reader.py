"""The fused model at work on a stored conversation: screenshots read, graph built, intent named.

The Assistant calls this when a turn carries a screenshot, or when a vague follow-up leans on
earlier turns (the gate lives in engine.assistant). Everything comes from the store: each image
attachment is OCRed once (`ScreenReader` asks the store for an earlier reading of the same bytes
first) and the reading is written back with `set_ocr`, so screenshot text is searchable and never
read twice. The conversation becomes `ConversationTurn`s (engine.fusion.graph.conversation_turns,
the builder training uses too), then the graph of engine.fusion.graph, then `FusedModel`
(engine.fusion.model) over frozen MiniLM token states, exactly as engine.fusion.train fed it in
training. Evidence comes from the GATv2 attention rollout (`fusion.node_relevance`):
which turns and which OCR boxes drove the intent.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch.nn.utils.rnn import pad_sequence

from engine import paths
from engine.errors import InputError
from engine.fusion.blocks import blocks_for_turns
from engine.fusion.graph import (
    MAX_BLOCKS,
    ConversationGraph,
    ConversationTurn,
    batch_graphs,
    build_graph,
    conversation_turns,
)
from engine.fusion.graph import MAX_TURNS as MAX_TURNS  # where callers have looked for it
from engine.fusion.model import WEIGHTS_FILE, FusedModel, node_relevance
from engine.model_folder import weights_version
from engine.nlu.acts import FOLDER as ACTS_FOLDER
from engine.nlu.acts import WEIGHTS_FILE as ACTS_WEIGHTS
from engine.nlu.acts import DialogueActs
from engine.types import OUT_OF_SCOPE, SPEAKERS, BoxEvidence, Message, TurnEvidence
from engine.vision.ocr import ScreenReader, Screenshot

DEFAULT_FOLDER = paths.ASSETS / "models" / "fused"
# The shipped conversation model (issue 13): the same architecture, trained on human-structured
# conversations with an out_of_scope class; it answers turns without a screenshot. The shipped
# fused model stays for screenshot turns (the conversation model read frontdesk-eval's
# screenshots worse: 7/30 against 15/30). A retrained version's fused/ folder answers both.
CONVERSATION_FOLDER = paths.ASSETS / "models" / "conversation"
EVIDENCE_TURNS = 3
EVIDENCE_BOXES = 3
MEMO_LIMIT = 20_000  # distinct texts whose token states stay cached between turns


@dataclass
class FusedPrediction:
    """The fused model's answer for the current turn, with what drove it."""

    intent: str
    confidence: float  # softmax probability of `intent`
    margin: float  # lead over the runner-up
    top: list[tuple[str, float]]  # best three intents with probabilities
    turns: list[TurnEvidence] = field(default_factory=list)  # strongest first
    boxes: list[BoxEvidence] = field(default_factory=list)  # OCR boxes, strongest first
    version: str = ""  # fused-<sha256 prefix> of the model that answered
    abstains: bool = False  # the model has an out_of_scope class (it can say "nothing here")
    probabilities: dict[str, float] = field(default_factory=dict)  # every label's
    texts: list[str] = field(default_factory=list)  # the turns read, oldest first (joined view)
    # the current turn's screenshots as read for this answer: (attachment id, reading) pairs,
    # so the caller (engine.fusion.screen_reading) need not read them from the store again
    screenshots: list[tuple[int, Screenshot]] = field(default_factory=list)
    # what the newest message does, a turn without a screenshot (engine.nlu.acts: request,
    # detail, yes, no, social -> probability); empty where no act model ships
    act: dict[str, float] = field(default_factory=dict)
    roles: list[str] = field(default_factory=list)  # who said each of `texts`


class MultimodalReader:
    """Screenshots of stored turns read once, and the fused model run over a conversation.

    `model` is a fused model folder or a loaded `FusedModel` (None: the shipped pair, the fused
    model for screenshot turns and CONVERSATION_FOLDER for the others; a model handed in answers
    both); models and the frozen MiniLM load on first use, so typed single messages never pay.
    """

    def __init__(
        self,
        store: Any,
        model: Path | FusedModel | None = None,
        device: str = "cpu",
        screen_reader: ScreenReader | None = None,
    ) -> None:
        self.store = store
        self.device = device
        self._model = model if isinstance(model, FusedModel) else None
        self._handed_in = self._model is not None
        self._folder = Path(model) if isinstance(model, (str, Path)) else DEFAULT_FOLDER
        self._conversation_folder = CONVERSATION_FOLDER if model is None and (
            CONVERSATION_FOLDER / WEIGHTS_FILE).is_file() else None
        self._conversation: FusedModel | None = None
        self._versions: dict[int, str] = {}
        self._text = None
        self._acts: DialogueActs | None | bool = False  # False: not looked for yet
        self._version: str | None = None
        self._load_lock = threading.Lock()
        self.use_reader(screen_reader or ScreenReader())

    def use_reader(self, reader: ScreenReader) -> None:
        """Read screenshots with `reader`, which asks this store for earlier readings first."""
        reader.ocr_for_sha256 = self._stored_reading
        self.screen_reader = reader

    def release_reader(self) -> None:
        """The store is closing: the reader (perhaps shared) stops asking it."""
        if self.screen_reader.ocr_for_sha256 == self._stored_reading:
            self.screen_reader.ocr_for_sha256 = None

    # -- loading ------------------------------------------------------------------------------
    @property
    def model(self) -> FusedModel:
        """The fused model (shipped folder by default), loaded once."""
        with self._load_lock:
            if self._model is None:
                self._model = FusedModel.load(self._folder, device=self.device)
        return self._model

    @property
    def conversation_model(self) -> FusedModel:
        """The model for turns without a screenshot (the fused model unless a pair shipped)."""
        if self._conversation_folder is None:
            return self.model
        with self._load_lock:
            if self._conversation is None:
                self._conversation = FusedModel.load(self._conversation_folder, self.device)
        return self._conversation

    def _version_of(self, model: FusedModel) -> str:
        """fused-<sha256 prefix of the weights> of the model that answered a turn."""
        if model is self._conversation and self._conversation_folder is not None:
            if id(model) not in self._versions:
                self._versions[id(model)] = weights_version(
                    "conv", self._conversation_folder / WEIGHTS_FILE)
            return self._versions[id(model)]
        return self.version

    @property
    def text(self):
        """The frozen MiniLM the fused model was trained over
        (engine.fusion.frozen_text.FrozenText)."""
        with self._load_lock:
            if self._text is None:
                from engine.fusion.frozen_text import FrozenText

                self._text = FrozenText(device=self.device)
        return self._text

    @property
    def acts(self) -> DialogueActs | None:
        """The shipped dialogue-act head (engine.nlu.acts), loaded once; None if not shipped."""
        with self._load_lock:
            if self._acts is False:
                self._acts = DialogueActs.load() if (ACTS_FOLDER / ACTS_WEIGHTS).is_file() \
                    else None
        return self._acts  # type: ignore[return-value]

    @acts.setter
    def acts(self, acts: DialogueActs | None) -> None:
        """Read acts with `acts` (None: none; every turn then reads as a request)."""
        with self._load_lock:
            self._acts = acts

    def load_models(self) -> None:
        """Build the OCR engine, the frozen MiniLM and the fused model now (each under its own
        lock: a turn needing one meanwhile waits for the same load), so the first screenshot
        does not pay for them."""
        self.screen_reader.engine  # noqa: B018 (the properties build them)
        self.text  # noqa: B018
        self.model  # noqa: B018

    @property
    def labels(self) -> list[str]:
        return self.model.labels

    @property
    def version(self) -> str:
        """fused-<sha256 prefix of the weights>: which fused model a reply came from."""
        with self._load_lock:
            if self._version is None:
                if self._handed_in:  # a model object from the caller: no file to name it by
                    self._version = "fused-in-memory"
                else:
                    self._version = weights_version("fused", self._folder / WEIGHTS_FILE)
        return self._version

    # -- screenshots --------------------------------------------------------------------------
    def _stored_reading(self, sha256: str) -> Screenshot | None:
        """What the store kept for an identical image (the ScreenReader's second cache)."""
        saved = self.store.ocr_for_sha256(sha256)
        if not saved or not saved[1]:
            return None
        return Screenshot.from_dict(json.loads(saved[1]))

    def read_turn(self, turn_id: int) -> list[tuple[int, Screenshot]]:
        """(attachment id, reading) for each image of a stored turn; new readings are stored.

        A damaged image raises InputError (one sentence); the turn stays in the store.
        """
        out = []
        for attachment in self.store.attachments(turn_id):
            if attachment["kind"] == "image":
                out.append((attachment["id"], self.read_attachment(attachment)))
        return out

    def read_attachment(self, attachment: dict[str, Any]) -> Screenshot:
        """The OCR reading of one image attachment: kept on it, else read now and kept."""
        if attachment.get("ocr_json"):
            return Screenshot.from_dict(json.loads(attachment["ocr_json"]))
        shot = self.screen_reader.read(self.store.attachment_bytes(attachment["id"]))
        self.store.set_ocr(attachment["id"], shot.text, json.dumps(shot.to_dict()))
        return shot

    # -- the conversation ---------------------------------------------------------------------
    def conversation(
        self, history: Sequence[Message], turn_id: int,
        readings: dict[int, list[tuple[int, Screenshot]]] | None = None,
    ) -> tuple[list[ConversationTurn], list[list[int]]]:
        """The graph's turns up to `turn_id` (conversation_turns) and the attachment ids of
        each turn's screenshots; screenshots are read from the store (read once, then kept
        there). `readings` (turn id -> (attachment id, reading) pairs): what the caller has
        already read, used as it is; what is read here is added to it."""
        readings = {} if readings is None else readings
        upto = [message for message in history if message.id is not None
                and message.id <= turn_id]

        def screenshots(message: Message) -> list[Screenshot]:
            if message.id not in readings:
                readings[message.id] = self._readings(message)
            return [shot for _, shot in readings[message.id]]

        turns = conversation_turns(upto, screenshots)
        if not turns or turns[-1].turn_id != turn_id:
            raise InputError(f"Turn {turn_id} is not a customer or agent turn of this session.")
        return turns, [[attachment for attachment, _ in readings.get(turn.turn_id, [])]
                       for turn in turns]

    def _readings(self, message: Message) -> list[tuple[int, Screenshot]]:
        """(attachment id, reading) of a stored message's images (none asked for without)."""
        return self.read_turn(message.id) if message.attachments else []

    @torch.inference_mode()
    def predict(self, history: Sequence[Message], turn_id: int, in_scope: bool = False,
                readings: dict[int, list[tuple[int, Screenshot]]] | None = None,
                ) -> FusedPrediction:
        """Intent of turn `turn_id` read with its screenshots and the turns before it.

        `in_scope`: name the best of the in-scope intents (out_of_scope's logit masked). The
        Assistant asks this on a screenshot turn: training never showed an out-of-scope
        screenshot, so the class only echoes a vague typed message there. `readings`: the
        screenshots the caller already read (see `conversation`); the current turn's come back
        in `FusedPrediction.screenshots`."""
        readings = {} if readings is None else readings
        turns, attachment_ids = self.conversation(history, turn_id, readings)
        pictured = bool(turns[-1].screenshots)
        model = self.model if pictured else self.conversation_model
        text = self.text
        if len(text._memo) > MEMO_LIMIT:  # a long-running app: keep the cache bounded
            text._memo.clear()
        graph = build_graph(turns, text.embed)  # every node text, packed (FrozenText.states)
        states = text.states([turn.text for turn in turns])
        tokens = pad_sequence(states, batch_first=True)
        lengths = torch.tensor([len(s) for s in states])
        mask = torch.arange(tokens.shape[1])[None, :] < lengths[:, None]
        blocks = blocks_for_turns(turns, text.embed, model.config)
        device = torch.device(self.device)
        out = model(tokens.to(device), mask.to(device), blocks.to(device),
                    batch_graphs([graph]).to(device))
        logits = out.logits[0].float().cpu()
        acts = None if pictured else self.acts
        act = acts.read(text.embed([turns[-1].text])[0]) if acts is not None else {}
        if in_scope and OUT_OF_SCOPE in model.labels:
            logits[model.labels.index(OUT_OF_SCOPE)] = float("-inf")
        probs = torch.softmax(logits, dim=-1)
        best = probs.topk(min(3, len(probs)))
        top = [(model.labels[i], round(float(p), 6))
               for p, i in zip(best.values, best.indices, strict=True)]
        margin = top[0][1] - (top[1][1] if len(top) > 1 else 0.0)
        relevance = node_relevance(graph, out.graph_attention)
        attention = block_shares(out.block_attention.float().cpu(), mask, turns)
        return FusedPrediction(top[0][0], top[0][1], margin, top,
                               turn_evidence(graph, relevance),
                               box_evidence(graph, relevance, attention, attachment_ids),
                               self._version_of(model), OUT_OF_SCOPE in model.labels,
                               dict(zip(model.labels, probs.tolist(), strict=True)),
                               [turn.text for turn in turns], readings.get(turn_id, []), act,
                               [turn.role for turn in turns])


def turn_evidence(
    graph: ConversationGraph, relevance: torch.Tensor, top: int = EVIDENCE_TURNS
) -> list[TurnEvidence]:
    """The turns that fed the current one most (attention rollout), strongest first."""
    rows = [TurnEvidence(info.turn_id, info.kind, f"attention {float(relevance[index]):.2f}",
                         round(float(relevance[index]), 4))
            for index, info in enumerate(graph.nodes) if info.kind in SPEAKERS]
    rows.sort(key=lambda row: -(row.weight or 0.0))
    return rows[:top]


def block_shares(
    block_attention: torch.Tensor, token_mask: torch.Tensor, turns: list[ConversationTurn]
) -> dict[tuple[int, int, int], float]:
    """(turn, screenshot, block) -> the share of its turn's cross-attention the block got
    (averaged over the message's tokens; a turn's blocks sum to 1). Columns follow
    `blocks_for_turns`: each turn's screenshots in order, MAX_BLOCKS in all."""
    shares = {}
    for t, turn in enumerate(turns):
        per_block = block_attention[t][token_mask[t]].mean(0)
        column = 0
        for s, shot in enumerate(turn.screenshots):
            for b in range(len(shot.blocks[:MAX_BLOCKS])):
                if column < min(MAX_BLOCKS, len(per_block)):
                    shares[(t, s, b)] = float(per_block[column])
                column += 1
    return shares


def box_evidence(
    graph: ConversationGraph, relevance: torch.Tensor,
    attention: dict[tuple[int, int, int], float], attachment_ids: list[list[int]] | None = None,
    top: int = EVIDENCE_BOXES,
) -> list[BoxEvidence]:
    """The OCR boxes the message attended to most: `weight` the cross-attention share,
    `graph_weight` the attention rollout to the current turn. `attachment_ids`: the store's
    ids of each turn's screenshots (None: not stored)."""
    rows = []
    for index, info in enumerate(graph.nodes):
        if info.kind == "block" and info.screenshot is not None:
            share = attention.get((info.turn, info.screenshot, info.block or 0), 0.0)
            rows.append(BoxEvidence(
                attachment_ids[info.turn][info.screenshot] if attachment_ids else None,
                info.turn_id, info.screenshot, info.block, info.label[:200],
                tuple(round(v, 4) for v in info.box) if info.box else None,  # type: ignore[arg-type]
                round(share, 4), round(float(relevance[index]), 4)))
    rows.sort(key=lambda row: (-row.weight, -row.graph_weight))
    return rows[:top]
