"""The text model on natural text: frontdesk-eval dev by kind, Banking77, Bitext held-out,
calibration before/after, and the ablation of the training mix.

- frontdesk-eval dev (`shared/data/frontdesk-eval`): `typed.jsonl` and `voice.jsonl` scored
  through the real Assistant in a scratch data folder, as `frontdesk eval` does (voice turns are
  transcribed by Whisper first). For measuring and choosing only: nothing here trains on it.
- Banking77 test.csv, the categories the mapping (assets/training/mappings/banking77.tsv) sends
  to an intent or to out_of_scope, read with the mapped label.
- Bitext held-out: the 10% test split of the 8k file (engine.cases.default_mix.bitext_splits).
- Calibration: expected calibration error (10 equal-width bins of the reply's confidence) and a
  reliability table on typed dev, for `--model` and for `--before`; a plot when matplotlib is
  there.
- `--ablation`: frozen MiniLM features + a linear head (seconds per mix once every text is
  encoded) trained on the recipe's mix with one source or one augmentation left out (or alone),
  scored on typed dev and the human validation split; written to bench/reports/natural/
  ablation.json and printed. The first run encodes ~35k texts (15 min on the shared 2-core CPU);
  the features are kept in ~/.cache/frontdesk/ablation_features.safetensors for the next.

    python -m bench natural [--model DIR] [--before DIR] [--no-voice] [--ablation]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

    from engine.cases.default_mix import Mix

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
DEV = SHARED / "frontdesk-eval"
REPORTS = ROOT / "bench" / "reports" / "natural"
BINS = 10


def reliability(confidences: list[float], correct: list[bool],
                bins: int = BINS) -> tuple[float, list[dict]]:
    """(ECE, table): per equal-width confidence bin, cases, mean confidence, accuracy."""
    rows, total, ece = [], len(confidences), 0.0
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        members = [i for i, c in enumerate(confidences)
                   if (lo < c <= hi) or (b == 0 and c == 0.0)]
        if not members:
            continue
        conf = sum(confidences[i] for i in members) / len(members)
        acc = sum(correct[i] for i in members) / len(members)
        ece += len(members) / total * abs(conf - acc)
        rows.append({"bin": f"{lo:.1f}-{hi:.1f}", "cases": len(members),
                     "confidence": round(conf, 3), "accuracy": round(acc, 3)})
    return round(ece, 4), rows


def score_dev(model, kind: str) -> dict:
    """Metrics of `model` on frontdesk-eval `<kind>.jsonl` through the Assistant (+ ECE)."""
    from engine.assistant import Assistant, case_predictor
    from engine.cases.datasets import read_cases
    from engine.learning.evaluate import score

    cases = read_cases(DEV / f"{kind}.jsonl")
    with tempfile.TemporaryDirectory(prefix="frontdesk-natural-") as scratch:
        with Assistant(home=Path(scratch), model=model) as assistant:
            predicted = case_predictor(assistant)(cases)
    metrics = score([c.intent for c in cases], [p for p, _ in predicted])
    ece, table = reliability([c for _, c in predicted],
                             [p == c.intent for (p, _), c in zip(predicted, cases, strict=True)])
    return {**metrics, "ece": ece, "reliability": table}


def score_cases(model, cases) -> dict:
    """Metrics of `model.predict` on labelled cases (no Assistant: plain text sets)."""
    from engine.learning.evaluate import score

    predicted = [p.intent for p in model.predict([c.text for c in cases])]
    return score([c.intent for c in cases], predicted)


def banking77_mapped(shared: Path = SHARED):
    """Banking77 test.csv rows whose category the mapping names, with the mapped label."""
    from engine.cases.datasets import Case, read_cases
    from engine.cases.default_mix import taxonomy
    from engine.cases.mix import MAPPINGS, read_mapping

    rules = {m.label: m.intent for m in read_mapping(MAPPINGS / "banking77.tsv",
                                                     taxonomy(shared))}
    return [Case(text=c.text, intent=rules[c.intent], id=c.id)
            for c in read_cases(shared / "banking77" / "test.csv") if c.intent in rules]


def plot(path: Path, tables: dict[str, list[dict]]) -> None:
    """Reliability diagram (accuracy against confidence per bin), one line per model."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot([0, 1], [0, 1], "k:", label="perfect")
    for name, rows in tables.items():
        ax.plot([r["confidence"] for r in rows], [r["accuracy"] for r in rows], "o-", label=name)
    ax.set_xlabel("confidence")
    ax.set_ylabel("accuracy")
    ax.set_title("typed dev: reliability")
    ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def evaluate_model(folder: Path | None, voice: bool) -> dict:
    """Every natural-text figure of one model folder (None: the shipped default)."""
    from engine.cases.default_mix import SEED, bitext_splits
    from engine.nlu.intent import IntentModel

    model = IntentModel.load(folder)
    out = {"model": model.version, "typed": score_dev(model, "typed")}
    if voice:
        out["voice"] = score_dev(model, "voice")
    out["banking77_mapped"] = score_cases(model, banking77_mapped())
    out["bitext_test"] = score_cases(model, bitext_splits(SHARED)[2])
    out["seed"] = SEED
    return out


def ablation_table(shared: Path, base: Mix | None = None,
                   cache_file: Path | None = None) -> dict[str, dict]:
    """Frozen MiniLM + a linear head per mix (the recipe's, then one part changed), scored on
    typed dev and the human validation split: what each source and augmentation adds.
    `cache_file` keeps the frozen features ({text: tensor}) between runs."""
    import torch
    from safetensors.torch import load_file, save_file

    from engine.cases.datasets import read_cases
    from engine.cases.default_mix import SEED, SOURCES, Mix, taxonomy, training_cases
    from engine.learning.evaluate import score
    from engine.learning.train import encode_once, fit_calibration
    from engine.nlu.intent import IntentConfig, IntentModel
    from engine.types import OUT_OF_SCOPE

    base = base or Mix()
    labels = sorted(taxonomy(shared)) + [OUT_OF_SCOPE]
    index = {label: i for i, label in enumerate(labels)}
    dev = read_cases(DEV / "typed.jsonl")
    plain = replace(base, augment=())  # sources are compared without augmentation: the
    # augmented copies depend on the rows they copy, and each new text costs an encoding
    mixes = {"recipe": base, "recipe without augmentation": plain,
             "no bitext": replace(plain, bitext=False),
             "bitext + written OOS only": replace(plain, human=(), negatives=()),
             "no written OOS": replace(plain, written=False)}
    for source in SOURCES:
        mixes[f"no {source} in scope"] = replace(
            plain, human=tuple(s for s in base.human if s != source))
        if source != "abcd":
            mixes[f"no {source} negatives"] = replace(
                plain, negatives=tuple(s for s in base.negatives if s != source))
    encoder = IntentModel(IntentConfig(labels=labels, trainable_layers=0))
    cache: dict[str, torch.Tensor] = (load_file(str(cache_file)) if cache_file and
                                      cache_file.exists() else {})
    out = {}
    for name, mix in mixes.items():
        train, val = training_cases(shared, mix)
        missing = [c.text for c in train + val + dev if c.text not in cache]
        if missing:
            cache.update(encode_once(encoder, missing))
            if cache_file:
                save_file({text: t.contiguous() for text, t in cache.items()}, str(cache_file))
        features = lambda cases: torch.stack([cache[c.text] for c in cases])  # noqa: E731
        gold = lambda cases: torch.tensor([index[c.intent] for c in cases])  # noqa: E731
        torch.manual_seed(SEED)
        head = linear_head(features(train), gold(train), len(labels), seed=SEED)
        encoder.head = head
        with torch.no_grad():
            fit_calibration(encoder, head(features(val)), gold(val))
            row = {"train_rows": len(train)}
            for part, cases in (("val", val), ("dev", dev)):
                probs = encoder.pooled_probabilities(features(cases))
                predicted = [encoder.decide(p).intent for p in probs]
                m = score([c.intent for c in cases], predicted)
                row[part] = {"in": m["in_scope_accuracy"], "P": m["oos_precision"] or 0.0,
                             "R": m["oos_recall"] or 0.0}
        out[name] = row
    return out


def linear_head(features: torch.Tensor, gold: torch.Tensor, n_labels: int,
                epochs: int = 40, lr: float = 3e-3, seed: int = 13) -> torch.nn.Linear:
    """A linear head on frozen features (AdamW, dropout 0.1, batch 256): the ablation's model."""
    import torch

    head = torch.nn.Linear(features.shape[1], n_labels)
    optimizer = torch.optim.AdamW(head.parameters(), lr=lr, weight_decay=0.01)
    dropout = torch.nn.Dropout(0.1)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        order = torch.randperm(len(features), generator=generator)
        for start in range(0, len(order), 256):
            idx = order[start:start + 256]
            loss = torch.nn.functional.cross_entropy(head(dropout(features[idx])), gold[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return head


def ablation() -> dict:
    """Frozen-feature linear heads on the recipe's mix, one part changed at a time."""
    cache = Path.home() / ".cache" / "frontdesk" / "ablation_features.safetensors"
    cache.parent.mkdir(parents=True, exist_ok=True)
    return ablation_table(SHARED, cache_file=cache)


def print_model(result: dict) -> None:
    for kind in ("typed", "voice"):
        if kind in result:
            m = result[kind]
            print(f"{result['model']} {kind:<6} in-scope {m['in_scope_accuracy']}  OOS P/R "
                  f"{m['oos_precision']}/{m['oos_recall']}  accuracy {m['accuracy']}  "
                  f"ECE {m['ece']}")
    for name in ("banking77_mapped", "bitext_test"):
        m = result[name]
        print(f"{result['model']} {name:<16} accuracy {m['accuracy']}  in-scope "
              f"{m['in_scope_accuracy']}  OOS P/R {m['oos_precision']}/{m['oos_recall']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench natural", description=__doc__)
    parser.add_argument("--model", type=Path, help="model folder (default: the shipped one)")
    parser.add_argument("--before", type=Path, help="an earlier model folder to compare")
    parser.add_argument("--no-voice", action="store_true", help="skip voice dev (Whisper)")
    parser.add_argument("--ablation", action="store_true", help="rerun the ablation table")
    args = parser.parse_args(argv)
    REPORTS.mkdir(parents=True, exist_ok=True)
    results = {"after": evaluate_model(args.model, not args.no_voice)}
    if args.before:
        results["before"] = evaluate_model(args.before, not args.no_voice)
    for result in results.values():
        print_model(result)
    plot(REPORTS / "reliability_typed.png",
         {r["model"]: r["typed"]["reliability"] for r in results.values()})
    (REPORTS / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    if args.ablation:
        (REPORTS / "ablation.json").write_text(json.dumps(ablation(), indent=2) + "\n")
    table = REPORTS / "ablation.json"
    if table.exists():
        print("ablation (frozen MiniLM + linear head; typed dev in-scope / OOS P / OOS R):")
        for name, row in json.loads(table.read_text()).items():
            print(f"  {name:<28} {row['dev']['in']:.3f} / {row['dev']['P']:.3f} / "
                  f"{row['dev']['R']:.3f}   human val in-scope {row['val']['in']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
