"""The conversation model on human chats: MultiDoGO dev, per domain, graph vs last vs concat.

Labels: "the customer's task at this turn" (engine.cases.multidogo: the turn's own task intent, else
the latest task intent the customer stated earlier; greetings and thanks left out). Follow-ups:
turns whose own labels are only dialogue acts (contentonly, confirmation, rejection, ...).
MultiDoGO keeps customer turns only, so every conversation here is the customer's side.

Per domain, each model is trained on a subsample of that domain's train split (`--train`
dialogues, every scored turn of them a case) and scored on dev (`--dev` dialogues):
  graph   the fused model (engine.fusion.model) over the conversation graph, frozen MiniLM
  last    the same model on the current turn alone (no graph, no history)
  concat  the same model on history + turn joined into one text (cut from the left, 128 tokens)
  lr-last / lr-concat   frozen MiniLM sentence vector + logistic regression, same two views
  lr-recency  per-turn LR (trained on turns that state their own task) whose probabilities are
            summed over the customer's turns with weight RECENCY ** age (newest 1)
`a+b` is the product of experts of two of them (the geometric mean of their probabilities),
e.g. `graph+lr-concat`: the conversation graph beside the concatenated view, as the product
combines the conversation model with the text model's joined view (engine/assistant.py).
A name with `@tuned` reads the shipped text model's fine-tuned encoder (assets/models/default,
frozen) instead of raw MiniLM: `graph@tuned`, `concat@tuned`, `lr-concat@tuned`, ...
Accuracy on all scored dev turns and on the follow-ups among them.

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

from engine.cases.multidogo import DOMAINS, Dialogue, load
from engine.fusion.frozen_text import FrozenText
from engine.fusion.graph import ConversationTurn
from engine.fusion.reader import MAX_TURNS
from engine.fusion.train import (
    CONCAT_TOKENS,
    collate,
    for_mode,
    mode_config,
    prepare_turns,
    train,
)
from engine.nlu.model_files import DEFAULT_FOLDER
from engine.paths import SHARED_DATA

DATA = SHARED_DATA
REPORT = Path(__file__).resolve().parent / "reports" / "multidogo"
FUSED_MODES = {"graph": "full", "last": "last", "concat": "concat"}
RECENCY = 0.5  # lr-recency: a turn's weight halves with each newer customer turn
ENCODERS = {"": None, "tuned": DEFAULT_FOLDER}  # `name@tuned`: the text model's encoder


def examples(dialogues: list[Dialogue]) -> list[tuple[list[ConversationTurn], str, bool]]:
    """(turns up to and including a scored turn (newest MAX_TURNS), its task, follow-up?)."""
    out = []
    for dialogue in dialogues:
        turns = [ConversationTurn(turn.text, "customer") for turn in dialogue.turns]
        for index, turn in enumerate(dialogue.turns):
            if turn.scored:
                out.append((turns[max(0, index + 1 - MAX_TURNS): index + 1], turn.task,
                            turn.follow_up))
    return out


def joined(turns: list[ConversationTurn]) -> str:
    """History and current turn as one text, oldest first (fused_train's concat mode)."""
    return " | ".join(turn.text for turn in turns)


def lr_scores(text: FrozenText, train_set, dev_set, view: str, seed: int,
              labels: list[str]) -> torch.Tensor:
    """Frozen sentence vector + logistic regression: probabilities [dev, labels]."""
    from sklearn.linear_model import LogisticRegression

    def features(rows) -> torch.Tensor:
        if view == "last":
            return text.embed([turns[-1].text for turns, _, _ in rows])
        states = text.states([joined(turns) for turns, _, _ in rows], CONCAT_TOKENS, True)
        return torch.nn.functional.normalize(torch.stack([s.mean(0) for s in states]), dim=-1)

    classifier = LogisticRegression(max_iter=2000, C=10.0, random_state=seed)
    out = torch.zeros(len(dev_set), len(labels), dtype=torch.float64)
    if view == "recency":  # per turn, on turns that state their own task; then by recency
        stated = [row for row in train_set if not row[2]]
        classifier.fit(text.embed([t[-1].text for t, _, _ in stated]).numpy(),
                       [task for _, task, _ in stated])
        columns = [labels.index(c) for c in classifier.classes_]
        for row, (turns, _, _) in enumerate(dev_set):
            probs = classifier.predict_proba(text.embed([t.text for t in turns]).numpy())
            weights = RECENCY ** torch.arange(len(turns) - 1, -1, -1).double()
            score = (weights[:, None] * torch.from_numpy(probs).double()).sum(0)
            out[row, columns] = score / score.sum()
        return out
    classifier.fit(features(train_set).numpy(), [task for _, task, _ in train_set])
    columns = [labels.index(c) for c in classifier.classes_]
    out[:, columns] = torch.from_numpy(classifier.predict_proba(features(dev_set).numpy())).double()
    return out


def fused_scores(text: FrozenText, train_set, dev_set, mode: str, epochs: int,
                 seed: int, labels: list[str]) -> torch.Tensor:
    """The fused model in `mode` (full = graph) trained on train_set: probabilities [dev,
    labels]."""
    index = {label: i for i, label in enumerate(labels)}
    train_items = prepare_turns([for_mode(t, mode) for t, _, _ in train_set],
                                [index[y] for _, y, _ in train_set], text, mode)
    dev_items = prepare_turns([for_mode(t, mode) for t, _, _ in dev_set],
                              [index[y] for _, y, _ in dev_set], text, mode)
    model = train(mode_config(mode, labels), train_items, epochs=epochs, seed=seed, log=None)
    rows = []
    with torch.no_grad():
        for start in range(0, len(dev_items), 64):
            tokens, mask, blocks, graph, _ = collate(dev_items[start: start + 64], model.config)
            rows.append(torch.softmax(model(tokens, mask, blocks, graph).logits.double(), -1))
    return torch.cat(rows)


def combined(parts: list[torch.Tensor]) -> torch.Tensor:
    """Product of experts: the geometric mean of the parts' probabilities (`a+b`)."""
    return torch.stack([p.clamp_min(1e-9).log() for p in parts]).mean(0).softmax(-1)


def accuracy(right: list[bool], rows, follow_ups_only: bool = False) -> float:
    chosen = [r for r, (_, _, follow) in zip(right, rows, strict=True)
              if follow or not follow_ups_only]
    return sum(chosen) / max(1, len(chosen))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench multidogo")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--domains", nargs="+", default=list(DOMAINS))
    parser.add_argument("--train", type=int, default=300, help="train dialogues per domain")
    parser.add_argument("--dev", type=int, default=0, help="dev dialogues per domain (0: all)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--models", nargs="+",
                        default=["graph", "last", "concat", "lr-last", "lr-concat"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--report", type=Path, default=REPORT)
    args, _ = parser.parse_known_args(argv)
    if not (args.data / "multidogo").is_dir():
        print(f"MultiDoGO not found under {args.data}; nothing measured.")
        return 0
    torch.set_num_threads(1)
    texts: dict[str, FrozenText] = {}
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
        seen = {task for _, task, _ in train_set}
        dev_set = [row for row in examples(dev_dialogues) if row[1] in seen]
        results[domain] = {"cases": {"train": len(train_set), "dev": len(dev_set),
                                     "dev_follow_ups": sum(f for _, _, f in dev_set)}}
        labels = sorted(seen)
        gold = torch.tensor([labels.index(task) for _, task, _ in dev_set])
        probabilities: dict[str, torch.Tensor] = {}
        for name in args.models:
            for part in name.split("+"):
                if part in probabilities:
                    continue
                base, _, encoder = part.partition("@")
                if encoder not in texts:
                    texts[encoder] = FrozenText(ENCODERS[encoder])
                text = texts[encoder]
                if base.startswith("lr-"):
                    probabilities[part] = lr_scores(text, train_set, dev_set, base[3:],
                                                    args.seed, labels)
                else:
                    probabilities[part] = fused_scores(text, train_set, dev_set,
                                                       FUSED_MODES[base], args.epochs,
                                                       args.seed, labels)
            probs = combined([probabilities[part] for part in name.split("+")])
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
