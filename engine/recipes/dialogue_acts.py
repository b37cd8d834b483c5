"""The recipe of the shipped dialogue-act model (assets/models/acts; engine.nlu.acts).

    python -m engine.recipes.dialogue_acts --out assets/models/acts [--per-act 5000]

Training: MultiDoGO's customer turns, train split of all six domains, each act capped at
`--per-act` turns (seed 13), plus every line of our written shop messages
(assets/training/written, out of scope included) as requests. Scored on MultiDoGO's dev split
(every domain, the same act mapping): accuracy over the five acts, and request-vs-reply
accuracy (what engine.nlu.joined uses). frontdesk-eval is not read.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path

import torch

from engine.cases.mix import WRITTEN, written_cases
from engine.cases.multidogo import DOMAINS, read_tsv
from engine.errors import InputError
from engine.fusion.frozen_text import FrozenText
from engine.model_folder import write_model_folder
from engine.nlu.acts import ACTS, REQUEST, DialogueActs, fit, multidogo_act
from engine.paths import SHARED_DATA
from engine.types import OUT_OF_SCOPE

SEED = 13
PER_ACT = 5000


def multidogo_turns(data: Path, split: str) -> list[tuple[str, str]]:
    """(text, act) of every MultiDoGO customer turn of `split` with a clear act."""
    out = []
    for domain in DOMAINS:
        path = data / "multidogo" / domain / f"{split}.tsv"
        if not path.is_file():
            raise InputError(f"MultiDoGO's {domain}/{split}.tsv is missing under {data}; the "
                             "dialogue-act recipe reads all six domains.")
        for dialogue in read_tsv(path, domain):
            for turn in dialogue.turns:
                act = multidogo_act(turn.labels)
                if act is not None:
                    out.append((turn.text, act))
    return out


def multidogo_sample(data: Path, per_act: int = PER_ACT,
                     seed: int = SEED) -> list[tuple[str, str]]:
    """MultiDoGO train turns, at most `per_act` per act (shuffled with `seed`)."""
    rows = multidogo_turns(data, "train")
    random.Random(seed).shuffle(rows)
    kept: Counter[str] = Counter()
    out = []
    for text, act in rows:
        if kept[act] < per_act:
            kept[act] += 1
            out.append((text, act))
    return out


def written_requests() -> list[tuple[str, str]]:
    """Our written shop messages (assets/training/written, out of scope too) as requests."""
    intents = {path.stem for path in WRITTEN.glob("*.txt")} - {OUT_OF_SCOPE}
    return [(case.text, REQUEST) for case in written_cases(intents)]


def score(acts: DialogueActs, vectors: torch.Tensor, truth: list[str]) -> dict:
    """Accuracy over the acts, request-vs-reply accuracy and per-act recall."""
    guess = [ACTS[i] for i in acts.probabilities(vectors).argmax(-1).tolist()]
    per_act = {act: round(sum(g == t for g, t in zip(guess, truth, strict=True) if t == act)
                          / max(1, truth.count(act)), 4) for act in ACTS}
    request = sum((g == REQUEST) == (t == REQUEST) for g, t in zip(guess, truth, strict=True))
    return {"turns": len(truth),
            "accuracy": round(sum(g == t for g, t in zip(guess, truth, strict=True))
                              / len(truth), 4),
            "request_vs_reply": round(request / len(truth), 4), "recall": per_act}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine.recipes.dialogue_acts")
    parser.add_argument("--data", type=Path, default=SHARED_DATA)
    parser.add_argument("--out", type=Path, required=True, help="folder for the act model")
    parser.add_argument("--per-act", type=int, default=PER_ACT)
    args = parser.parse_args(argv)
    torch.manual_seed(SEED)
    start = time.perf_counter()
    written = written_requests()
    rows = multidogo_sample(args.data, args.per_act) + written
    dev = multidogo_turns(args.data, "dev")
    print(f"training turns: {len(rows)} ({dict(Counter(a for _, a in rows))}); "
          f"MultiDoGO dev turns: {len(dev)}", flush=True)
    text = FrozenText()
    vectors = text.embed([t for t, _ in rows], keep=False)
    targets = torch.tensor([ACTS.index(a) for _, a in rows])
    acts = fit(vectors, targets)
    dev_figures = score(acts, text.embed([t for t, _ in dev], keep=False), [a for _, a in dev])
    acts.config = {
        "encoder": text.name, "vector": "FrozenText.embed (mean-pooled, L2-normalised)",
        "trained_on": {"multidogo_train_per_act": args.per_act,
                       "rows": dict(Counter(a for _, a in rows)),
                       "written_lines_as_request": len(written)},
        "multidogo_dev": dev_figures, "seed": SEED,
        "seconds": round(time.perf_counter() - start, 1)}
    write_model_folder(args.out, acts.save)
    print(json.dumps(dev_figures, indent=1))
    print(f"wrote {args.out} in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
