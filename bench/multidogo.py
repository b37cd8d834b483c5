"""The conversation model on human chats: MultiDoGO dev, per domain, graph vs last vs concat.

Labels: "the customer's task at this turn" (engine.cases.multidogo: the turn's own task intent, else
the latest task intent the customer stated earlier; greetings and thanks left out). Follow-ups:
turns whose own labels are only dialogue acts (contentonly, confirmation, rejection, ...).
MultiDoGO keeps customer turns only, so every conversation here is the customer's side.

Per domain, each model is trained on a subsample of that domain's train split (`--train`
dialogues, every scored turn of them a case) and scored on dev (`--dev` dialogues):
  graph   the fused model (engine.fusion.model) over the conversation graph, frozen MiniLM
  graph-hist        the same, its head also reading the joined conversation (history_view)
  graph-turns       the same graph, every turn supervised with its own label (the task it
                    states, or none), and the latest-stated pointer mixed in (turn_head)
  graph-hist-turns  both: the redesign of issue 13
  last    the same model on the current turn alone (no graph, no history)
  concat  the same model on history + turn joined into one text (cut from the left, 128 tokens)
  lr-last / lr-concat   frozen MiniLM sentence vector + logistic regression, same two views
  lr-both   logistic regression on the last message's and the joined text's vectors side by
            side (the features the graph-hist model's head reads, without the graph)
  lr-recency  per-turn LR (trained on turns that state their own task) whose probabilities are
            summed over the customer's turns with weight RECENCY ** age (newest 1)
`a+b` is the product of experts of two of them (the geometric mean of their probabilities),
e.g. `graph+lr-concat`: the conversation graph beside the concatenated view, as the product
combines the conversation model with the text model's joined view (engine/assistant.py).
A name with `@tuned` reads the shipped text model's fine-tuned encoder (assets/models/default,
frozen) instead of raw MiniLM: `graph@tuned`, `concat@tuned`, `lr-concat@tuned`, ...
Accuracy on all scored dev turns and on the follow-ups among them.

Frozen features are cached (`--cache`, under runs/): a text's token states are kept as their
mean only, which is exact here: no MultiDoGO turn has a screenshot, so the cross-attention
passes a turn's tokens through unchanged and the model reads their mean (a "token" that is the
mean gives the same vector). Reruns then only train the small models.

    python -m bench multidogo [--domains airline finance] [--train 300] [--epochs 10]
        [--models graph lr-concat graph@tuned lr-concat@tuned]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from pathlib import Path

import torch

from engine.cases.multidogo import DIALOGUE_ACTS, DOMAINS, Dialogue, load
from engine.fusion.frozen_text import FrozenText
from engine.fusion.graph import ConversationTurn
from engine.fusion.reader import MAX_TURNS
from engine.fusion.train import (
    CONCAT_TOKENS,
    IGNORE,
    NONE,
    collate,
    for_mode,
    joined_turns,
    mode_config,
    prepare_turns,
    train,
)
from engine.nlu.joined import product_of_experts
from engine.nlu.model_files import DEFAULT_FOLDER
from engine.paths import SHARED_DATA

DATA = SHARED_DATA
REPORT = Path(__file__).resolve().parent / "reports" / "multidogo"
CACHE = Path(__file__).resolve().parents[1] / "runs" / "multidogo_features.pt"
FUSED_MODES = {"graph": "full", "last": "last", "concat": "concat", "graph-hist": "full",
               "graph-turns": "full", "graph-hist-turns": "full"}
RECENCY = 0.5  # lr-recency: a turn's weight halves with each newer customer turn
ENCODERS = {"": None, "tuned": DEFAULT_FOLDER}  # `name@tuned`: the text model's encoder


Example = tuple[list[ConversationTurn], str, bool, list[str | None]]


def examples(dialogues: list[Dialogue]) -> list[Example]:
    """(turns up to and including a scored turn (newest MAX_TURNS), its task, follow-up?, each
    of those turns' own task: the task it states itself, None if it states none)."""
    out = []
    for dialogue in dialogues:
        turns = [ConversationTurn(turn.text, "customer") for turn in dialogue.turns]
        own = [next((label for label in reversed(turn.labels) if label not in DIALOGUE_ACTS),
                    None) for turn in dialogue.turns]
        for index, turn in enumerate(dialogue.turns):
            if turn.scored:
                start = max(0, index + 1 - MAX_TURNS)
                out.append((turns[start: index + 1], turn.task, turn.follow_up,
                            own[start: index + 1]))
    return out


class PooledText:
    """A FrozenText whose token states are kept as their mean, one "token" a text, on disk.

    Exact for conversations without screenshots (see the module's docstring); `save` writes
    what was encoded since loading."""

    def __init__(self, text: FrozenText, path: Path) -> None:
        self.text, self.path, self.name = text, path, text.name
        self.memo: dict[tuple[str, int, bool], torch.Tensor] = (
            torch.load(path) if path.is_file() else {})
        self.added = 0

    def states(self, texts: list[str], max_length: int = 64,
               from_left: bool = False) -> list[torch.Tensor]:
        missing = sorted({t for t in texts if (t, max_length, from_left) not in self.memo})
        for start in range(0, len(missing), 2048):
            chunk = missing[start: start + 2048]
            for t, state in zip(chunk, self.text.states(chunk, max_length, from_left),
                                strict=True):
                self.memo[(t, max_length, from_left)] = state.mean(0, keepdim=True)
            self.text._memo.clear()  # the full states are not kept
        self.added += len(missing)
        return [self.memo[(t, max_length, from_left)] for t in texts]

    def embed(self, texts: list[str]) -> torch.Tensor:
        if not texts:
            return torch.zeros(0, 384)
        return torch.nn.functional.normalize(torch.cat(self.states(texts)), dim=-1)

    def save(self) -> None:
        if self.added:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            torch.save(self.memo, self.path)
            self.added = 0


def lr_scores(text: FrozenText, train_set, dev_set, view: str, seed: int,
              labels: list[str]) -> torch.Tensor:
    """Frozen sentence vector + logistic regression: probabilities [dev, labels]."""
    from sklearn.linear_model import LogisticRegression

    def features(rows) -> torch.Tensor:
        last = text.embed([row[0][-1].text for row in rows])
        if view == "last":
            return last
        states = text.states([joined_turns(row[0]) for row in rows], CONCAT_TOKENS, True)
        whole = torch.nn.functional.normalize(torch.stack([s.mean(0) for s in states]), dim=-1)
        return torch.cat([last, whole], dim=-1) if view == "both" else whole

    classifier = LogisticRegression(max_iter=2000, C=10.0, random_state=seed)
    out = torch.zeros(len(dev_set), len(labels), dtype=torch.float64)
    if view == "recency":  # per turn, on turns that state their own task; then by recency
        stated = [row for row in train_set if not row[2]]
        classifier.fit(text.embed([row[0][-1].text for row in stated]).numpy(),
                       [row[1] for row in stated])
        columns = [labels.index(c) for c in classifier.classes_]
        for row, (turns, *_) in enumerate(dev_set):
            probs = classifier.predict_proba(text.embed([t.text for t in turns]).numpy())
            weights = RECENCY ** torch.arange(len(turns) - 1, -1, -1).double()
            score = (weights[:, None] * torch.from_numpy(probs).double()).sum(0)
            out[row, columns] = score / score.sum()
        return out
    classifier.fit(features(train_set).numpy(), [row[1] for row in train_set])
    columns = [labels.index(c) for c in classifier.classes_]
    out[:, columns] = torch.from_numpy(classifier.predict_proba(features(dev_set).numpy())).double()
    return out


def fused_scores(text: FrozenText, train_set, dev_set, name: str, epochs: int,
                 seed: int, labels: list[str]) -> torch.Tensor:
    """The fused model `name` (graph, graph-hist, concat, ...) trained on train_set:
    probabilities [dev, labels]."""
    mode = FUSED_MODES[name]
    history, turn_head = "hist" in name, "turns" in name
    index = {label: i for i, label in enumerate(labels)}

    def items(rows):
        own = [[IGNORE if task is not None and task not in index
                else NONE if task is None else index[task] for task in row[3]] for row in rows]
        return prepare_turns([for_mode(row[0], mode) for row in rows],
                             [index[row[1]] for row in rows], text, mode,
                             turn_labels=own if turn_head else None, history=history)

    train_items, dev_items = items(train_set), items(dev_set)
    config = mode_config(mode, labels, history_view=history, turn_head=turn_head)
    model = train(config, train_items, epochs=epochs, seed=seed, log=None)
    rows = []
    with torch.no_grad():
        for start in range(0, len(dev_items), 64):
            tokens, mask, blocks, graph, _ = collate(dev_items[start: start + 64], model.config)
            rows.append(torch.softmax(model(tokens, mask, blocks, graph).logits.double(), -1))
    return torch.cat(rows)


def accuracy(right: list[bool], rows, follow_ups_only: bool = False) -> float:
    chosen = [r for r, row in zip(right, rows, strict=True) if row[2] or not follow_ups_only]
    return sum(chosen) / max(1, len(chosen))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench multidogo")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--domains", nargs="+", default=list(DOMAINS))
    parser.add_argument("--train", type=int, default=300, help="train dialogues per domain")
    parser.add_argument("--dev", type=int, default=0, help="dev dialogues per domain (0: all)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--models", nargs="+",
                        default=["lr-last", "lr-concat", "concat", "graph",
                                 "graph-hist-turns"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--report", type=Path, default=REPORT)
    parser.add_argument("--cache", type=Path, default=CACHE,
                        help="frozen features kept here between runs")
    args, _ = parser.parse_known_args(argv)
    if not (args.data / "multidogo").is_dir():
        print(f"MultiDoGO not found under {args.data}; nothing measured.")
        return 0
    torch.set_num_threads(1)
    texts: dict[str, PooledText] = {}
    results: dict[str, dict[str, dict[str, float]]] = {}
    started = time.perf_counter()
    for domain in args.domains:
        rng = random.Random(f"{domain}:{args.seed}")
        train_dialogues = list(load(args.data, domain, "train"))
        rng.shuffle(train_dialogues)
        dev_dialogues = list(load(args.data, domain, "dev"))
        if args.dev:
            rng.shuffle(dev_dialogues)
            dev_dialogues = dev_dialogues[: args.dev]
        train_set = examples(train_dialogues[: args.train])
        seen = {row[1] for row in train_set}
        dev_set = [row for row in examples(dev_dialogues) if row[1] in seen]
        results[domain] = {"cases": {"train": len(train_set), "dev": len(dev_set),
                                     "dev_follow_ups": sum(row[2] for row in dev_set)}}
        labels = sorted(seen)
        gold = torch.tensor([labels.index(row[1]) for row in dev_set])
        probabilities: dict[str, torch.Tensor] = {}
        for name in args.models:
            for part in name.split("+"):
                if part in probabilities:
                    continue
                base, _, encoder = part.partition("@")
                if encoder not in texts:
                    suffix = f"@{encoder}" if encoder else ""
                    cache = args.cache.with_name(f"{args.cache.stem}{suffix}.pt")
                    texts[encoder] = PooledText(FrozenText(ENCODERS[encoder]), cache)
                text = texts[encoder]
                if base.startswith("lr-"):
                    probabilities[part] = lr_scores(text, train_set, dev_set, base[3:],
                                                    args.seed, labels)
                else:
                    probabilities[part] = fused_scores(text, train_set, dev_set, base,
                                                       args.epochs, args.seed, labels)
                text.save()
            probs = product_of_experts(*(probabilities[part] for part in name.split("+")))
            right = (probs.argmax(-1) == gold).tolist()
            results[domain][name] = {"all": round(accuracy(right, dev_set), 4),
                                     "follow_ups": round(accuracy(right, dev_set, True), 4)}
            print(f"{domain:<10} {name:<16} all {results[domain][name]['all']:.3f}  follow-ups "
                  f"{results[domain][name]['follow_ups']:.3f}  "
                  f"({time.perf_counter() - started:.0f} s)", flush=True)
    print(f"\n{'model':<16}" + "".join(f"{d[:9]:>20}" for d in args.domains) + f"{'mean':>20}")
    for name in args.models:
        cells, alls, follows = "", [], []
        for domain in args.domains:
            score = results[domain][name]
            alls.append(score["all"])
            follows.append(score["follow_ups"])
            cells += f"{score['all']:>10.3f}/{score['follow_ups']:<9.3f}"
        print(f"{name:<16}{cells}{statistics.mean(alls):>10.3f}/{statistics.mean(follows):<9.3f}")
    print("(all scored dev turns / follow-up turns)")
    args.report.mkdir(parents=True, exist_ok=True)
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    (args.report / "results.json").write_text(json.dumps(
        {"settings": settings, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
