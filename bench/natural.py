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
- `--teacher`: is all-mpnet-base-v2 worth distilling from? Frozen mpnet against frozen MiniLM,
  the same linear head on the same 7,000-row sample of the recipe's mix (no augmentation), then
  the MiniLM head distilled from the mpnet head (engine.learning.distill.training_loss), with and
  without `balanced_weights`; written to bench/reports/natural/teacher.json. mpnet reads ~10
  texts a second on the shared CPU (~15-30 min for the ~8,500 texts; cached in
  ~/.cache/frontdesk/mpnet_probe_features.safetensors).

    python -m bench natural [--model DIR] [--before DIR] [--no-voice] [--ablation] [--teacher]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections import Counter
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
CONFUSIONS = 8  # most frequent (gold -> answer) mistakes kept per dev kind


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
    mistakes = Counter(f"{c.intent} -> {p}" for (p, _), c in zip(predicted, cases, strict=True)
                       if p != c.intent)
    return {**metrics, "ece": ece, "reliability": table,
            "confusions": dict(mistakes.most_common(CONFUSIONS))}


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
    from engine.cases.default_mix import (
        SEED,
        SOURCES,
        Mix,
        balanced_weights,
        taxonomy,
        training_cases,
    )
    from engine.learning.train import encode_once
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
             "bitext + written lines only": replace(plain, human=(), negatives=()),
             "no written lines": replace(plain, written=False)}
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
        weights = torch.tensor(balanced_weights(train)) if mix.balance else None
        head = linear_head(features(train), gold(train), len(labels), seed=SEED, weights=weights)
        out[name] = {"train_rows": len(train),
                     **head_scores(encoder, head, cache, {"val": val, "dev": dev}, index)}
    return out


def head_scores(encoder, head: torch.nn.Linear, cache: dict[str, torch.Tensor],
                sets: dict[str, list], index: dict[str, int]) -> dict[str, dict]:
    """Put `head` on `encoder`, calibrate it on `sets["val"]` as training does, and score it
    on every set: {set: {"in": in-scope accuracy, "P"/"R": OOS precision/recall}}."""
    import torch

    from engine.learning.calibration import fit_calibration
    from engine.learning.evaluate import score

    features = lambda cases: torch.stack([cache[c.text] for c in cases])  # noqa: E731
    encoder.head = head
    out = {}
    with torch.no_grad():
        val = sets["val"]
        fit_calibration(encoder, head(features(val)),
                        torch.tensor([index[c.intent] for c in val]))
        for part, cases in sets.items():
            probs = encoder.pooled_probabilities(features(cases))
            m = score([c.intent for c in cases], [encoder.decide(p).intent for p in probs])
            out[part] = {"in": m["in_scope_accuracy"], "P": m["oos_precision"] or 0.0,
                         "R": m["oos_recall"] or 0.0}
    return out


def teacher_probe(shared: Path, minilm_cache: Path, mpnet_cache: Path,
                  sample_size: int = 7000) -> dict[str, dict]:
    """Frozen mpnet vs frozen MiniLM (the same head on the same sample of the recipe's mix,
    no augmentation), then MiniLM heads on the whole mix distilled from the mpnet head on the
    sampled rows (`distill_weight` a, temperature T), with and without `balanced_weights`."""
    import random

    import torch
    from safetensors.torch import load_file, save_file

    from engine.cases.datasets import read_cases
    from engine.cases.default_mix import SEED, Mix, balanced_weights, taxonomy, training_cases
    from engine.learning.train import TrainOptions, encode_once
    from engine.nlu.encoder import MPNET_NAME
    from engine.nlu.intent import IntentConfig, IntentModel
    from engine.types import OUT_OF_SCOPE

    torch.set_num_threads(1)  # tiny heads: two threads waiting on each other were ~20x slower
    labels = sorted(taxonomy(shared)) + [OUT_OF_SCOPE]
    index = {label: i for i, label in enumerate(labels)}
    train, val = training_cases(shared, replace(Mix(), augment=()))
    dev = read_cases(DEV / "typed.jsonl")
    sample = random.Random(1).sample(train, min(sample_size, len(train)))
    sets = {"val": val, "dev": dev}
    caches, encoders = {}, {}
    for name, base, path, texts in (
            ("minilm", None, minilm_cache, train + val + dev),
            ("mpnet", MPNET_NAME, mpnet_cache, sample + val + dev)):
        config = IntentConfig(labels=labels, trainable_layers=0, **({"base": base} if base else {}))
        encoders[name] = IntentModel(config)
        caches[name] = load_file(str(path)) if path.exists() else {}
        missing = [c.text for c in texts if c.text not in caches[name]]
        if missing:
            caches[name].update(encode_once(encoders[name], missing))
            save_file({t: v.contiguous() for t, v in caches[name].items()}, str(path))
    gold = lambda cases: torch.tensor([index[c.intent] for c in cases])  # noqa: E731
    out = {}
    for name in ("minilm", "mpnet"):
        feats = torch.stack([caches[name][c.text] for c in sample])
        torch.manual_seed(SEED)
        head = linear_head(feats, gold(sample), len(labels), seed=SEED)
        out[f"frozen {name}, {len(sample)}-row sample"] = head_scores(
            encoders[name], head, caches[name], sets, index)
        if name == "mpnet":
            teacher_head = head
    mpnet = caches["mpnet"]
    with torch.no_grad():
        logits = torch.stack([teacher_head(mpnet[c.text]) if c.text in mpnet
                              else torch.zeros(len(labels)) for c in train])
    has = torch.tensor([float(c.text in mpnet) for c in train])
    feats = torch.stack([caches["minilm"][c.text] for c in train])
    for balance in (False, True):
        weights = torch.tensor(balanced_weights(train)) if balance else None
        for weight, temperature in ((0.0, 2.0), (1.0, 2.0), (1.0, 4.0), (3.0, 2.0)):
            options = TrainOptions(distill_weight=weight, distill_temperature=temperature)
            torch.manual_seed(SEED)
            head = linear_head(feats, gold(train), len(labels), seed=SEED, weights=weights,
                               teacher=logits, has_teacher=has, options=options)
            out[f"minilm whole mix{', balanced' if balance else ''}, distilled a={weight} "
                f"T={temperature}"] = head_scores(encoders["minilm"], head, caches["minilm"],
                                                  sets, index)
    return out


def linear_head(features: torch.Tensor, gold: torch.Tensor, n_labels: int,
                epochs: int = 40, lr: float = 3e-3, seed: int = 13,
                weights: torch.Tensor | None = None, teacher: torch.Tensor | None = None,
                has_teacher: torch.Tensor | None = None, options=None) -> torch.nn.Linear:
    """A linear head on frozen features (AdamW, dropout 0.1, batch 256): the ablation's model.
    Its loss is the training loop's (`training_loss`: row weights, a teacher's logits)."""
    import torch

    from engine.learning.distill import training_loss
    from engine.learning.train import TrainOptions

    options = options or TrainOptions()
    weights = torch.ones(len(features)) if weights is None else weights
    head = torch.nn.Linear(features.shape[1], n_labels)
    optimizer = torch.optim.AdamW(head.parameters(), lr=lr, weight_decay=0.01)
    dropout = torch.nn.Dropout(0.1)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        order = torch.randperm(len(features), generator=generator)
        for start in range(0, len(order), 256):
            idx = order[start:start + 256]
            loss = training_loss(head(dropout(features[idx])), gold[idx], weights[idx],
                                 None if teacher is None else teacher[idx],
                                 None if has_teacher is None else has_teacher[idx],
                                 options.distill_weight, options.distill_temperature)
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
    print(f"{result['model']} typed, most frequent mistakes (gold -> answer): " + ", ".join(
        f"{pair} {n}" for pair, n in result["typed"]["confusions"].items()))


def print_table(path: Path, title: str, width: int, validation: bool = False) -> None:
    """A probe table an earlier `--ablation` / `--teacher` run wrote, if there is one."""
    if not path.exists():
        return
    print(f"{title} (from {path.name}; typed dev in-scope / OOS P / OOS R):")
    for name, row in json.loads(path.read_text()).items():
        dev = row["dev"]
        tail = f"   human val in-scope {row['val']['in']:.3f}" if validation else ""
        print(f"  {name:<{width}} {dev['in']:.3f} / {dev['P']:.3f} / {dev['R']:.3f}{tail}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench natural", description=__doc__)
    parser.add_argument("--model", type=Path, help="model folder (default: the shipped one)")
    parser.add_argument("--before", type=Path, help="an earlier model folder to compare")
    parser.add_argument("--no-voice", action="store_true", help="skip voice dev (Whisper)")
    parser.add_argument("--ablation", action="store_true", help="rerun the ablation table")
    parser.add_argument("--teacher", action="store_true",
                        help="frozen mpnet vs MiniLM and distilled heads (teacher.json)")
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
    if args.teacher:
        cache = Path.home() / ".cache" / "frontdesk"
        cache.mkdir(parents=True, exist_ok=True)
        (REPORTS / "teacher.json").write_text(json.dumps(teacher_probe(
            SHARED, cache / "ablation_features.safetensors",
            cache / "mpnet_probe_features.safetensors"), indent=2) + "\n")
    print_table(REPORTS / "teacher.json", "teacher probe, frozen features + linear head", 52)
    print_table(REPORTS / "ablation.json", "ablation, frozen MiniLM + linear head", 28,
                validation=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
