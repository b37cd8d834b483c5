"""Does self-supervised pretraining (engine.fusion.pretrain) help the fused model? An ablation.

The labelled sets are those of the README's fused table (engine.fusion.train.build_sets, seed 0:
540 training cases, 270 held-out test cases). For each seed, the cross-attention and graph
network are pretrained once on unlabelled training-side cases (engine.fusion.pretrain.unlabelled),
then the fused model is fine-tuned with today's recipe (engine.fusion.train.train, same seed)
from scratch and from the pretrained weights, on all labelled training cases and on a
stratified fraction of them (the low-label setting), and both are scored on the same test set.

    python -m bench pretrain [--seeds 0,1 --fractions 1,0.25 --pre-shots 1080 --pre-convs 1620
                              --pre-epochs 10 --objectives align,masked]

Results go to bench/reports/pretrain/ (results.json and results.md).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import torch

from bench.fusion import evidence_hits, real_ocr_check, scores
from engine.fusion.frozen_text import FrozenText
from engine.fusion.model import FusedModel
from engine.fusion.pretrain import (
    PretrainConfig,
    load_pretrained,
    pretrain,
    save_pretrained,
    unlabelled,
)
from engine.fusion.synthetic import labels
from engine.fusion.train import build_sets, mode_config, prepare, train
from engine.paths import SHARED_DATA

DATA = SHARED_DATA
REPORT = Path(__file__).resolve().parent / "reports" / "pretrain"


def subset(items: list, fraction: float, seed: int) -> list:
    """`fraction` of the cases of each intent and kind, drawn with `seed`."""
    if fraction >= 1:
        return items
    groups = defaultdict(list)
    for item in items:
        groups[(item.label, item.case.kind)].append(item)
    rng = random.Random(f"subset:{seed}")
    out = []
    for key in sorted(groups):
        group = groups[key]
        out += rng.sample(group, max(1, round(fraction * len(group))))
    return out


def table(rows: list[dict]) -> str:
    """Markdown: one line per (fraction, start), mean and per-seed scores."""
    lines = ["| labelled cases | epochs | start | screenshot | conversation | all | seeds |",
             "|---|---|---|---|---|---|---|"]
    keys = sorted({(r["fraction"], r["start"]) for r in rows},
                  key=lambda k: (-k[0], k[1] != "scratch"))
    for fraction, start in keys:
        runs = [r for r in rows if r["fraction"] == fraction and r["start"] == start]
        cells = [f"{statistics.mean(r[k] for r in runs):.3f}"
                 for k in ("screenshot", "conversation", "all")]
        seeds = ", ".join(f"{r['seed']}: {r['all']:.3f}" for r in runs)
        lines.append(f"| {runs[0]['train_cases']} ({fraction:.0%}) | {runs[0].get('epochs', 25)} | "
                     f"{start} | "
                     + " | ".join(cells) + f" | {seeds} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pretrain")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--fractions", default="1,0.25")
    parser.add_argument("--pre-shots", type=int, default=PretrainConfig.shots)
    parser.add_argument("--pre-convs", type=int, default=PretrainConfig.convs)
    parser.add_argument("--pre-epochs", type=int, default=PretrainConfig.epochs)
    parser.add_argument("--objectives", default="align,masked")
    parser.add_argument("--epochs", type=int, default=25, help="fine-tuning epochs (recipe)")
    parser.add_argument("--equal-steps", action="store_true",
                        help="fine-tune a fraction f for epochs / f epochs (the steps of 100%%)")
    parser.add_argument("--cache", type=Path, help="folder to keep / reuse pretrained weights")
    parser.add_argument("--report", type=Path, default=REPORT)
    parser.add_argument("--score", type=Path, metavar="FOLDER",
                        help="only score a saved fused model on the held-out sets")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    names = labels(args.data)
    text = FrozenText()
    if args.score:
        return score_model(args.score, args.data, names, text)
    start = time.perf_counter()
    train_cases, test_cases = build_sets(args.data, 8, 12, 0)
    train_items = prepare(train_cases, names, text, "full", seed=0)
    test_items = prepare(test_cases, names, text, "full", seed=1)
    objectives = args.objectives.split(",")
    print(f"labelled {len(train_items)} / test {len(test_items)}, prepared in "
          f"{time.perf_counter() - start:.0f} s; objectives {objectives}")
    rows, pretrain_logs = [], {}
    for seed in (int(s) for s in args.seeds.split(",")):
        config = PretrainConfig(shots=args.pre_shots, convs=args.pre_convs,
                                epochs=args.pre_epochs, seed=seed,
                                use_align="align" in objectives, use_masked="masked" in objectives)
        state, pretrain_logs[seed] = pretrained(args, config, names, text)
        print(f"seed {seed}: {pretrain_logs[seed]}")
        for fraction in (float(f) for f in args.fractions.split(",")):
            items = subset(train_items, fraction, seed)
            epochs = round(args.epochs / fraction) if args.equal_steps else args.epochs
            for name, initial in (("scratch", None), ("pretrained", state)):
                model = train(mode_config("full", names), items, epochs=epochs, seed=seed,
                              log=None, initial=initial)
                result = scores(model, test_items)
                rows.append({"seed": seed, "fraction": fraction, "start": name,
                             "train_cases": len(items), "epochs": epochs,
                             "all": _overall(result, test_items), **result})
                print(f"  {fraction:.0%} {name:10} screenshot {result['screenshot']:.3f} "
                      f"conversation {result['conversation']:.3f} all {rows[-1]['all']:.3f}")
        write(args.report, {"objectives": objectives, "pretrain": pretrain_logs,
                            "unlabelled": {"shots": args.pre_shots, "convs": args.pre_convs},
                            "pretrain_epochs": args.pre_epochs, "runs": rows})
    print("\n" + table(rows))
    return 0


def pretrained(args, config: PretrainConfig, names: list[str], text: FrozenText):
    """(pretrained weights, log) for one seed: from `--cache` when it holds this config."""
    folder = args.cache / f"seed{config.seed}" if args.cache else None
    if folder and (folder / "pretrain.json").is_file():
        saved = json.loads((folder / "pretrain.json").read_text())
        if saved["config"] == config.__dict__:
            return load_pretrained(folder), {**saved, "cached": True}
    start = time.perf_counter()
    shots, convs = unlabelled(args.data, text, config.shots, config.convs, config.seed)
    prepared_s = time.perf_counter() - start
    state, history = pretrain(mode_config("full", names), shots, convs, text, config, log=None)
    if folder:
        save_pretrained(state, config, history, folder)
    return state, {"cases": [len(shots), len(convs)],
                   "loss_per_epoch": [round(x, 4) for x in history],
                   "prepare_s": round(prepared_s),
                   "pretrain_s": round(time.perf_counter() - start - prepared_s)}


def score_model(folder: Path, data: Path, names: list[str], text: FrozenText) -> int:
    """A saved model on the README's held-out sets: kinds, variants, evidence, real OCR."""
    model = FusedModel.load(folder)
    _, test_cases = build_sets(data, 8, 12, 0)
    test_items = prepare(test_cases, names, text, "full", seed=1)
    result = {**scores(model, test_items), **evidence_hits(model, test_items),
              "all": _overall(scores(model, test_items), test_items)}
    bare = prepare([c for c in test_cases if c.kind == "screenshot"], names, text, "no_image",
                   seed=1)
    result["image removed at test"] = scores(model, bare)["screenshot"]
    result.update(real_ocr_check(model, test_cases, names, text, None, 27, 0))
    print(json.dumps(result, indent=2))
    return 0


def write(folder: Path, results: dict) -> None:
    """results.json and results.md, rewritten after every seed (a long run keeps its part)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.json").write_text(json.dumps(results, indent=2))
    (folder / "results.md").write_text(table(results["runs"]) + "\n")


def _overall(result: dict[str, float], items: list) -> float:
    kinds = [item.case.kind for item in items]
    return sum(result[k] * kinds.count(k) for k in set(kinds)) / len(kinds)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
