"""Ablations of the fused model on the held-out synthetic sets (engine.fusion.synthetic).

Each mode of engine.fusion.train is trained on the same training cases with the same seed and
scored on the same test cases (test pool of utterances, a font training never saw):
  screenshot cases: full (image + graph) vs no_image (the typed text alone, trained so) and vs
    the full model with the image taken away at test time;
  conversation cases: full (graph) vs last (the last message alone) vs concat (history joined
    into one text).
Evidence: on conversations whose intent sits in an earlier turn, how often the attention
rollout (engine.fusion.model.node_relevance) ranks that turn first among the earlier turns; on
screenshot cases, how often a screenshot/OCR-block node outranks the other non-current nodes.
Latency: the fused model's forward pass for one 5-turn conversation (text encoder excluded).

    python -m bench.fusion [--shots 8 --convs 12 --epochs 25 --visual --ocr-test 27]

Measured here (2 shared CPU cores, seed 0, defaults: 540 train / 270 test cases, 27 intents,
frozen pretrained MiniLM, no visual features), test accuracy:
  screenshot cases    full 0.889 | text alone (trained so) 0.222 | image removed at test 0.167
                      27 of them read by real RapidOCR 0.963 vs the same 27 by perfect OCR 0.926
  conversation cases  graph 0.938 | last message 0.228 | concatenated history 0.506
  evidence            intent turn ranked first among earlier turns 0.925; image node 1.000
  forward pass        7.1 ms p50 for one conversation (CPU, 1 thread, text encoder excluded)
With --visual the screenshot cases fail (full 0.185 vs 0.222 text alone): the 1280-d box
features let the model tell the 216 training images apart and it memorises them. A regularised
variant tried once (16-d bottleneck, dropout, features dropped for half the rows; screenshot
cases only) reached 0.796 against 0.889 without features, so features stay opt-in.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import torch

from engine.fusion.model import node_relevance
from engine.fusion.synthetic import labels
from engine.fusion.train import (
    MODES,
    FrozenText,
    build_sets,
    collate,
    mode_config,
    predict,
    prepare,
    train,
)
from engine.paths import SHARED_DATA
from engine.types import SPEAKERS

DATA = SHARED_DATA


def scores(model, items) -> dict[str, float]:
    """Accuracy per case kind and per variant."""
    predictions, _ = predict(model, items)
    hits: dict[str, list[bool]] = defaultdict(list)
    for prediction, item in zip(predictions, items, strict=True):
        hit = prediction == item.label
        hits[item.case.kind].append(hit)
        hits[f"{item.case.kind}/{item.case.note}"].append(hit)
    return {key: sum(v) / len(v) for key, v in sorted(hits.items())}


@torch.no_grad()
def evidence_hits(model, items) -> dict[str, float]:
    """Does the attention rollout point at the turn / screenshot that carries the intent?"""
    turn_hits, image_hits = [], []
    for item in items:
        tokens, mask, blocks, graph, _ = collate([item], model.config)
        relevance = node_relevance(item.graph, model(tokens, mask, blocks, graph).graph_attention)
        nodes, current = item.graph.nodes, item.graph.current
        if item.case.kind == "conversation" and item.case.note in ("carry", "switch"):
            earlier = [i for i, n in enumerate(nodes)
                       if n.kind in SPEAKERS and i != current]
            best = max(earlier, key=lambda i: relevance[i])
            turn_hits.append(nodes[best].turn == item.case.intent_turn)
        elif item.case.kind == "screenshot":
            others = [i for i in range(len(nodes)) if i != current]
            if others:
                best = max(others, key=lambda i: relevance[i])
                image_hits.append(nodes[best].kind in ("screenshot", "block"))
    out = {}
    if turn_hits:
        out["evidence: intent turn ranked first"] = sum(turn_hits) / len(turn_hits)
    if image_hits:
        out["evidence: image node ranked first"] = sum(image_hits) / len(image_hits)
    return out


@torch.no_grad()
def forward_latency_ms(model, items, repeats: int = 50) -> float:
    """p50 of one conversation's fused forward pass (inputs already encoded)."""
    longest = max((i for i in items if i.case.kind == "conversation"), key=lambda i: len(i.tokens))
    batch = collate([longest], model.config)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model(*batch[:4])
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def real_ocr_check(model, test_cases, names, text, encoder, count: int, seed: int) -> dict:
    """The full model on N test screenshots read by real RapidOCR vs by perfect OCR."""
    import io

    from engine.vision.ocr import ScreenReader

    reader = ScreenReader()
    cases = [c for c in test_cases if c.kind == "screenshot"][:count]
    ocr = {}
    for case in cases:
        buffer = io.BytesIO()
        case.turns[0].screen.image.save(buffer, "PNG")
        ocr[f"{case.id}:0"] = reader.read(buffer.getvalue())
    with_ocr = prepare(cases, names, text, "full", encoder, seed=seed + 1, ocr=ocr)
    with_truth = prepare(cases, names, text, "full", encoder, seed=seed + 1)
    return {f"full, real RapidOCR ({len(cases)} shots)": scores(model, with_ocr),
            f"full, perfect OCR (same {len(cases)})": scores(model, with_truth)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fusion")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--shots", type=int, default=8, help="screenshot cases per intent")
    parser.add_argument("--convs", type=int, default=12, help="conversation cases per intent")
    parser.add_argument("--epochs", type=int, default=25)
    parser.add_argument("--visual", action="store_true", help="add EfficientNet box features")
    parser.add_argument("--no-visual", action="store_true", help="(the default; kept for scripts)")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ocr-test", type=int, default=0,
                        help="also score N test screenshots read by real RapidOCR")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    names = labels(args.data)
    text = FrozenText()
    encoder = None
    if args.visual and not args.no_visual:
        from engine.vision.features import ImageEncoder

        encoder = ImageEncoder.load(device="cpu", long_side=256)
    train_cases, test_cases = build_sets(args.data, args.shots, args.convs, args.seed)
    print(f"train {len(train_cases)} cases, test {len(test_cases)} cases, {len(names)} intents, "
          f"text {text.name} (frozen), visual features {'on' if encoder else 'off'}")
    results: dict[str, dict[str, float]] = {}
    for mode in args.modes.split(","):
        start = time.perf_counter()
        train_items = prepare(train_cases, names, text, mode, encoder, seed=args.seed)
        test_items = prepare(test_cases, names, text, mode, encoder, seed=args.seed + 1)
        prepared_s = time.perf_counter() - start
        model = train(mode_config(mode, names), train_items, epochs=args.epochs,
                      seed=args.seed, log=None)
        results[mode] = scores(model, test_items)
        if mode == "full":
            results[mode].update(evidence_hits(model, test_items))
            bare = prepare([c for c in test_cases if c.kind == "screenshot"], names, text,
                           "no_image", None, seed=args.seed + 1)
            results["full, image removed at test"] = scores(model, bare)
            results[mode]["forward ms p50 (1 conversation, CPU, 1 thread)"] = (
                forward_latency_ms(model, test_items))
            if args.ocr_test:
                results.update(real_ocr_check(model, test_cases, names, text, encoder,
                                              args.ocr_test, args.seed))
        print(f"{mode}: prepared in {prepared_s:.0f} s, trained in "
              f"{time.perf_counter() - start - prepared_s:.0f} s")
    print(f"\n{'mode':32} " + " ".join(f"{k:>14}" for k in ("screenshot", "conversation")))
    for mode, result in results.items():
        print(f"{mode:32} " + " ".join(
            f"{result[k]:14.3f}" if k in result else f"{'-':>14}"
            for k in ("screenshot", "conversation")))
    print()
    for mode, result in results.items():
        for key, value in result.items():
            if "/" in key or "evidence" in key or "ms" in key:
                print(f"{mode:32} {key:48} {value:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
