"""`frontdesk train` and `frontdesk eval`: thin wrappers over engine.learning.train and
engine.learning.evaluate."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `train` and `eval` subcommands."""
    train = sub.add_parser(
        "train", help="fine-tune an intent model on labelled files",
        description="Fine-tune the intent model on CSV (text,intent / Banking77 text,category), "
        "exported JSONL, JSONL eval cases or MultiDoGO TSV. A validation split is carved from "
        "the data and the best epoch is kept. Cases with a history (conversations) also train "
        "the conversation model, written to OUT/fused.")
    train.add_argument("data", nargs="+", type=Path, help="training files")
    train.add_argument("--out", type=Path, required=True, help="folder to write the model to")
    train.add_argument("--epochs", type=int, default=4)
    train.add_argument("--from", dest="start_from", type=Path,
                       help="start from this model folder (its layers, head and intents)")
    train.add_argument("--layers", type=int, default=2,
                       help="how many top encoder layers to train (MiniLM has 6, mpnet 12; "
                       "more = slower, larger)")
    train.add_argument("--base", choices=["minilm", "mpnet"], default="minilm",
                       help="the pretrained encoder to start from: MiniLM (the app's, fast) or "
                       "all-mpnet-base-v2 (5x slower, more accurate)")
    train.add_argument("--batch-size", type=int, default=32)
    train.add_argument("--lr", type=float, default=1e-4, help="learning rate of the layers")
    train.add_argument("--head-lr", type=float, default=2e-3)
    train.add_argument("--bf16", action="store_true",
                       help="train in bfloat16 autocast (faster on CPUs with AVX-512 and GPUs)")
    train.add_argument("--val-fraction", type=float, default=0.1)
    train.add_argument("--seed", type=int, default=13)
    train.add_argument("--time-limit", type=float, metavar="SECONDS",
                       help="stop after the epoch running at this time; the best epoch is kept")
    train.set_defaults(func=run_train)

    evaluate = sub.add_parser(
        "eval", help="score a model on labelled cases",
        description="Score an intent model on JSONL eval cases or a Banking77-style CSV; print "
        "accuracy, macro-F1, out-of-scope precision/recall and latency.")
    evaluate.add_argument("cases", type=Path, help="JSONL eval cases or CSV text,intent")
    evaluate.add_argument("--model", type=Path, help="model folder (default: the shipped one)")
    evaluate.add_argument("--report", type=Path, help="write predictions, errors, plots here")
    evaluate.add_argument("--json", action="store_true", help="print the metrics as JSON")
    evaluate.set_defaults(func=run_eval)


def run_train(args: argparse.Namespace) -> int:
    from engine.cases.datasets import read_many
    from engine.errors import InputError
    from engine.learning.train import TrainOptions, fine_tune
    from engine.nlu.encoder import base_name

    if args.layers < 1 or args.epochs < 1 or not 0 < args.val_fraction < 0.5:
        raise InputError("--layers must be at least 1, --epochs at least 1, --val-fraction in "
                         "(0, 0.5).")
    if args.start_from and args.base != "minilm":
        raise InputError("--from continues a model on its own base; leave out --base.")
    options = TrainOptions(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                           head_lr=args.head_lr, val_fraction=args.val_fraction,
                           seed=args.seed, trainable_layers=args.layers,
                           time_limit_s=args.time_limit, base=base_name(args.base),
                           bf16=args.bf16)
    cases = read_many(args.data)
    notes = {"data": [str(path) for path in args.data]}
    model = fine_tune(cases, args.out, options, start_from=args.start_from, notes=notes)
    best = model.config.training
    print(f"saved {model.version} to {args.out}: {len(model.labels)} intents, best epoch "
          f"{best['best_epoch']} of {len(best['history'])}, validation accuracy "
          f"{best['history'][best['best_epoch'] - 1]['val_accuracy']:.4f}, "
          f"{best['seconds']:.0f} s")
    train_conversation_model(cases, args.out, args.seed)
    return 0


def train_conversation_model(cases: list, out: Path, seed: int) -> None:
    """Cases with a history (conversations) also teach the conversation (fused) model, kept
    in OUT/fused beside the text model, where `eval --model OUT` and `models` find it."""
    chats = sum(1 for case in cases if case.history)
    if not chats:
        return
    from engine.fusion.train import train_conversations
    from engine.model_folder import FUSED_FOLDER

    fused = train_conversations(cases, out / FUSED_FOLDER, seed=seed, log=None)
    if fused is not None:
        print(f"conversation model trained on {chats} cases with history: {out / FUSED_FOLDER} "
              f"({len(fused.labels)} intents)")


def run_eval(args: argparse.Namespace) -> int:
    from engine.cases.datasets import read_cases
    from engine.learning.evaluate import evaluate, model_predictor, unknown_intents
    from engine.nlu.intent import IntentModel

    cases = read_cases(args.cases)
    model = IntentModel.load(args.model)
    unknown = unknown_intents(cases, model.labels)
    if unknown:
        named = ", ".join(f"{intent} ({n})" for intent, n in unknown.most_common(5))
        print(f"frontdesk: warning: {unknown.total()} of {len(cases)} cases have an intent the "
              f"model does not know ({named}); they count as errors.", file=sys.stderr)
    if any(case.history or case.image or case.audio for case in cases):
        # Conversations, screenshots and recordings go through the whole Assistant, as in the
        # app, in a scratch data folder so eval sessions never mix with the agent's own.
        import tempfile

        from engine.assistant import Assistant, case_predictor

        with tempfile.TemporaryDirectory(prefix="frontdesk-eval-") as scratch:
            fused = Path(args.model) / "fused" if args.model else None  # as `train` wrote it
            fused = fused if fused is not None and (fused / "config.json").is_file() else None
            with Assistant(home=Path(scratch), model=model, fused=fused) as assistant:
                metrics = evaluate(case_predictor(assistant), cases, report=args.report)
    else:
        metrics = evaluate(model_predictor(model), cases, report=args.report)
    metrics["unknown_intent_cases"] = unknown.total()
    metrics["model_version"] = model.version
    if args.report:
        (args.report / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    if args.json:
        print(json.dumps(metrics))
        return 0
    for key, value in metrics.items():
        shown = "n/a" if value is None else value
        print(f"{key:<20} {shown}")
    if args.report:
        print(f"report written to {args.report}")
    return 0
