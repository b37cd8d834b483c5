"""The recipe of the shipped fused models (assets/models/fused, assets/models/conversation).

    python -m engine.recipes.fused_model --out DIR [--shots 8 --convs 30 --varied 0 --epochs 25
                                                    --written-convs 0]

Builds the synthetic sets (engine.fusion.synthetic), adds our written chats
(engine.fusion.pools.written_conversations, train side) `--written-convs` times, trains with
engine.fusion.train, scores the synthetic test split and the written chats' test side, and
writes the model folder. The shipped conversation model (assets/models/conversation) is
`--shots 8 --convs 30 --written-convs 8`; the shipped screenshot model (assets/models/fused)
predates the written chats. `--pretrain` adds the self-supervised stage of
engine.fusion.pretrain first.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from engine.fusion.frozen_text import FrozenText
from engine.fusion.pools import written_conversations
from engine.fusion.synthetic import labels, screenshot_cases
from engine.fusion.train import (
    accuracy,
    build_sets,
    chat_items,
    label_set,
    mode_config,
    prepare,
    train,
)
from engine.model_folder import check_output, write_model_folder
from engine.paths import SHARED_DATA


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine.recipes.fused_model")
    parser.add_argument("--data", type=Path, default=SHARED_DATA)
    parser.add_argument("--out", type=Path, required=True, help="folder for the trained model")
    parser.add_argument("--intent-model", type=Path, help="frozen IntentModel folder")
    parser.add_argument("--shots", type=int, default=8, help="screenshot cases per intent")
    parser.add_argument("--convs", type=int, default=30, help="conversation cases per intent")
    parser.add_argument("--varied", type=int, default=0,
                        help="varied screenshot cases per intent (phone and desktop apps, dark "
                        "themes, marks, crops: engine.vision.render_styles); the test split "
                        "gets a quarter as many, in fonts training never sees")
    parser.add_argument("--written-convs", type=int, default=0, metavar="TIMES",
                        help="add our written chats (assets/training/conversations, train side "
                        "of the sha1 split) this many times over")
    parser.add_argument("--epochs", type=int, default=25)
    parser.add_argument("--visual", action="store_true",
                        help="add EfficientNet box features (off: on the synthetic sets they "
                        "let the model memorise training images; see bench.fusion)")
    parser.add_argument("--pretrain", action="store_true",
                        help="screenshot-text contrastive pretraining on unlabelled "
                        "training-side cases first (engine.fusion.pretrain; see bench.pretrain)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto", help="cpu, cuda or auto (CUDA when present)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # small matrices: one thread is faster, and fair to a shared CPU
    device = ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" \
        else args.device
    check_output(args.out)  # refused before any work, never replaced
    start = time.perf_counter()
    label_names = label_set(args.data)
    text = FrozenText(args.intent_model, device=device)
    encoder = None
    if args.visual:
        from engine.vision.features import ImageEncoder

        encoder = ImageEncoder.load(device="cpu", long_side=256)
    train_cases, test_cases = build_sets(args.data, args.shots, args.convs, args.seed)
    if args.varied:
        n = len(labels(args.data))
        train_cases += screenshot_cases(args.data, "train", args.varied * n, args.seed, True)
        test_cases += screenshot_cases(args.data, "test", max(1, args.varied // 4) * n,
                                       args.seed, True)
    train_items = prepare(train_cases, label_names, text, "full", encoder, seed=args.seed)
    test_items = prepare(test_cases, label_names, text, "full", encoder, seed=args.seed + 1)
    written_train = written_conversations("train") if args.written_convs else ()
    if written_train:
        train_items += chat_items(list(written_train), label_names, text) * args.written_convs
    written_test = chat_items(list(written_conversations("test")), label_names, text)
    config = mode_config("full", label_names)
    initial = None
    if args.pretrain:
        from engine.fusion.pretrain import PretrainConfig, pretrain, unlabelled

        shots, convs = unlabelled(args.data, text, PretrainConfig.shots, PretrainConfig.convs,
                                  args.seed)
        # (a) alone: (b) did not help conversations (bench/reports/pretrain)
        initial, _ = pretrain(config, shots, convs, text,
                              PretrainConfig(seed=args.seed, use_masked=False))
    model = train(config, train_items, epochs=args.epochs, seed=args.seed, initial=initial,
                  device=device)
    score = accuracy(model, test_items)
    groups = {"screenshot": lambda c: c.kind == "screenshot" and "-varied-" not in c.id,
              "varied_screenshot": lambda c: "-varied-" in c.id,
              "conversation": lambda c: c.kind == "conversation"}
    by_kind = {f"synthetic_test_{name}": round(accuracy(model, chosen), 4)
               for name, keep in groups.items()
               if (chosen := [i for i in test_items if keep(i.case)])}
    if written_test:
        by_kind["written_chats_test"] = round(accuracy(model, written_test), 4)
    model.config.training = {"data": "engine.fusion.synthetic (Bitext 8k, NLU++ hotels and our "
                             "out-of-scope list, MultiDoGO train follow-ups, our agent offers; "
                             "sha1 split); our written chats (assets/training/conversations, "
                             "train side of the sha1 split of their ids) x written_chats_times",
                             "train_cases": len(train_cases), "varied": args.varied,
                             "written_chats": len(written_train),
                             "written_chats_times": args.written_convs,
                             "epochs": args.epochs,
                             "seed": args.seed, "text": text.name,
                             "visual": encoder is not None, "pretrained": args.pretrain}
    model.config.metrics = {"synthetic_test_accuracy": round(score, 4), **by_kind}
    write_model_folder(args.out, model.save)
    print(json.dumps(model.config.metrics), f"({time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
