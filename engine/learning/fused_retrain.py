"""Retraining the fused model from the logs: the screenshot and multi-turn turns agents labelled.

engine.learning.retrain hands over its labelled cases, already split by session. Those whose
conversation holds a screenshot, or earlier customer or agent turns, become fused training cases
(the conversation model learns a team's follow-ups as well as its screenshots): their exported
messages become `ConversationTurn`s by the builder answers use too
(engine.fusion.graph.conversation_turns), each image its OCR reading. A reading comes from the
desk's store (one per image, found by the sha256 an export names every image file by), else the
image beside the export is read now; an image that is gone is left out. Fine-tuning starts from
the current fused model, its head widened for intents agents introduced (rows of the known
intents kept); cross-attention, graph and head train while the text encoder stays frozen, as in
engine.fusion.train. With too few such cases the fused model
is kept as it is, and the metrics say why.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from engine.errors import InputError
from engine.fusion.graph import ConversationTurn, conversation_turns
from engine.fusion.model import FusedModel
from engine.learning import versions
from engine.types import Message
from engine.vision.ocr import ScreenReader, Screenshot

MIN_CASES = 12  # fewer labelled screenshot or multi-turn turns: nothing worth learning


class Readings:
    """OCR readings of exported images: the store's first, else read from the file once."""

    def __init__(self, store: Any | None = None, reader: ScreenReader | None = None) -> None:
        self.store = store
        self._reader = reader
        self._memo: dict[str, Screenshot | None] = {}
        self.read_now = 0  # images OCRed here (no reading in the store)
        self.missing = 0  # images neither the store nor the disk has

    def get(self, ref: str, folder: Path | None) -> Screenshot | None:
        """The reading of the exported image `ref` (``images/<sha256>.<ext>``)."""
        if ref not in self._memo:
            self._memo[ref] = self._find(ref, folder)
        return self._memo[ref]

    def _find(self, ref: str, folder: Path | None) -> Screenshot | None:
        sha = Path(ref).stem
        saved = self.store.ocr_for_sha256(sha) if self.store is not None else None
        if saved and saved[1]:
            return Screenshot.from_dict(json.loads(saved[1]))
        path = Path(ref) if folder is None else Path(folder) / ref
        if not path.is_file():
            self.missing += 1
            return None
        if self._reader is None:
            self._reader = ScreenReader()
        try:
            shot = self._reader.read(path)
        except InputError:
            self.missing += 1
            return None
        self.read_now += 1
        return shot


def conversation(case: Any, readings: Readings) -> list[ConversationTurn] | None:
    """The turns of a logged case as the fused model reads them (conversation_turns, as at
    answer time); None for a lone typed message (the text model's job) or when no screenshot of
    a screenshot-only case can be read.

    `case` is an engine.learning.logged_cases.LoggedCase: `history` holds the exported messages
    before the customer's `text`, whose images are `images`; `folder` is where the export lies."""
    def screenshots(message: Message) -> list[Screenshot]:
        return [shot for ref in message.images
                if (shot := readings.get(ref, case.folder)) is not None]

    turns = conversation_turns([*case.history, Message("customer", case.text,
                                                       images=tuple(case.images))], screenshots)
    pictured = any(turn.screenshots for turn in turns)
    return turns if pictured or len(turns) > 1 else None


def widen(model: FusedModel, labels: list[str]) -> list[str]:
    """Add head rows for `labels` the model lacks (known rows kept); returns the new ones."""
    new = [label for label in labels if label not in model.labels]
    if new:
        last = model.head.net[-1]
        wider = torch.nn.Linear(last.in_features, last.out_features + len(new))
        with torch.no_grad():
            wider.weight[: last.out_features] = last.weight
            wider.bias[: last.out_features] = last.bias
        model.head.net[-1] = wider
        model.config.labels = model.labels + new
    return new


def retrain_fused(
    train_part: list, held_out: list, home: Path, out: Path, *, epochs: int = 12,
    lr: float = 5e-4, seed: int = 13, cancel: threading.Event | None = None,
    readings: Readings | None = None, log: Callable[[str], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Fine-tune the current fused model on the logged screenshot cases and save it to `out`
    (only when there are enough); returns what happened, for the version's metrics."""
    from engine.fusion.frozen_text import FrozenText
    from engine.fusion.train import fit, prepare_turns
    from engine.store.database import Store

    started = time.perf_counter()
    base = versions.fused_folder(home)
    with Store.open(Path(home)) as store:
        readings = readings or Readings(store)
        train = [(turns, c.intent) for c in train_part
                 if (turns := conversation(c, readings)) is not None]
        test = [(turns, c.intent) for c in held_out
                if (turns := conversation(c, readings)) is not None]
    report: dict[str, Any] = {"base": str(base), "train_cases": len(train),
                              "heldout_cases": len(test), "images_read_now": readings.read_now,
                              "images_missing": readings.missing}
    if len(train) < MIN_CASES:
        return {**report, "kept": f"fewer than {MIN_CASES} labelled screenshot or "
                                  "multi-turn turns"}
    model = FusedModel.load(base)
    new = sorted({intent for _, intent in train + test} - set(model.labels))
    index = {label: i for i, label in enumerate(model.labels + new)}
    text = FrozenText()
    train_items = prepare_turns([t for t, _ in train], [index[i] for _, i in train], text)
    test_items = prepare_turns([t for t, _ in test], [index[i] for _, i in test], text)
    before = _scores(model, test_items, new, index)  # a new intent cannot be named yet
    widen(model, model.labels + new)

    torch.manual_seed(seed)
    fit(model, train_items, epochs, lr, seed=seed, cancel=cancel, progress=progress)
    after = _scores(model, test_items, new, index)
    report.update(before=before, after=after, new_intents=new, epochs=epochs,
                  seconds=round(time.perf_counter() - started, 1))
    model.config.training = {"retrained_from": str(base), "train_cases": len(train),
                             "epochs": epochs, "lr": lr}
    model.config.metrics = {"heldout_before": before, "heldout_after": after}
    model.save(out)
    if log:
        log(f"fused model: {len(train)} screenshot cases, held-out accuracy "
            f"{before['accuracy']} -> {after['accuracy']}")
    return report


def _scores(model: FusedModel, items: list, new: list[str], index: dict[str, int]) -> dict:
    """Accuracy on `items` and recall of each new intent (None where it has no case)."""
    from engine.fusion.train import predict

    if not items:
        return {"accuracy": None, "new_intent_recall": {}}
    predicted, _ = predict(model, items)
    right = [p == item.label for p, item in zip(predicted, items, strict=True)]
    recall = {}
    for label in new:
        hits = [r for r, item in zip(right, items, strict=True) if item.label == index[label]]
        recall[label] = round(sum(hits) / len(hits), 4) if hits else None
    return {"accuracy": round(sum(right) / len(right), 4), "new_intent_recall": recall}
