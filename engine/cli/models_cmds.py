"""`frontdesk models` (list, use) and `frontdesk retrain`: thin wrappers over
engine.learning.versions and
engine.learning.retrain."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `models` and `retrain` subcommands."""
    models = sub.add_parser(
        "models", help="list model versions or switch between them",
        description="List the model versions of the data folder with their before/after "
        "metrics (the one in use is marked *), or switch to one: `frontdesk models use v002`; "
        "`frontdesk models use default` goes back to the shipped model.")
    models.add_argument("--json", action="store_true", help="print the list as JSON")
    actions = models.add_subparsers(dest="models_action", metavar="ACTION")
    actions.add_parser("list", help="list versions (the default action)")
    use = actions.add_parser("use", help="switch to a version (rollback included)")
    use.add_argument("version", help="a name from `frontdesk models`, e.g. v002 or default")
    models.set_defaults(func=run_models)

    retrain = sub.add_parser(
        "retrain", help="train a new model version from agents' feedback",
        description="Build a training set from replies agents accepted, edited or corrected "
        "(this desk's store, or exports of several desks merged without duplicates), hold out "
        "whole sessions, fine-tune the model in use, print before/after on the held-out part "
        "and write the next version. It is not switched to unless you pass --use.")
    source = retrain.add_mutually_exclusive_group()
    source.add_argument("--from-store", action="store_true",
                        help="this data folder's own logs (the default)")
    source.add_argument("--from-export", nargs="+", type=Path, metavar="FILE",
                        help="JSONL exports (`frontdesk export`) of one or several desks")
    retrain.add_argument("--epochs", type=int,
                         help="passes over the data (default 4, or 20 with --heads-only)")
    mode = retrain.add_mutually_exclusive_group()
    mode.add_argument("--heads-only", action="store_true",
                      help="train the head alone (fastest); default: the top layers too")
    mode.add_argument("--adapters", action="store_true",
                      help="train LoRA adapters on the top layers' attention and the head; the "
                      "version stores only those (small)")
    retrain.add_argument("--eval-fraction", type=float, default=0.2,
                         help="share of sessions held out for before/after (default 0.2)")
    retrain.add_argument("--seed", type=int, default=13)
    retrain.add_argument("--replay", nargs="+", metavar="FILE",
                         help="replay these labelled files instead of the model's own sample")
    retrain.add_argument("--use", action="store_true", help="switch to the new version")
    retrain.add_argument("--json", action="store_true", help="print the result as JSON")
    retrain.set_defaults(func=run_retrain)


def run_models(args: argparse.Namespace) -> int:
    from engine import paths
    from engine.learning import versions

    home = paths.home(args.home)
    if args.models_action == "use":
        chosen = versions.use(home, args.version)
        print(f"now using {chosen.name} ({chosen.model_version}, {chosen.intents} intents)")
        return 0
    found = versions.list_versions(home)
    if args.json:
        print(json.dumps([{**vars(v), "folder": str(v.folder)} for v in found]))
        return 0
    print(f"  {'version':<9} {'model id':<18} {'intents':>7} {'held-out':>8} {'before':>7} "
          f"{'after':>7}  created")
    for v in found:
        before, after = v.metrics.get("before", {}), v.metrics.get("after", {})
        print(f"{'*' if v.current else ' '} {v.name:<9} {v.model_version:<18} {v.intents:>7} "
              f"{_cell(v.metrics.get('heldout')):>8} {_cell(before.get('accuracy')):>7} "
              f"{_cell(after.get('accuracy')):>7}  {v.created or '(shipped)'}")
    return 0


def run_retrain(args: argparse.Namespace) -> int:
    from engine import paths
    from engine.errors import InputError
    from engine.learning import retrain, versions

    if (args.epochs is not None and args.epochs < 1) or not 0 < args.eval_fraction < 1:
        raise InputError("--epochs must be at least 1 and --eval-fraction between 0 and 1.")
    home = paths.home(args.home)
    options = retrain.RetrainOptions(epochs=args.epochs, heads_only=args.heads_only,
                                     adapters=args.adapters,
                                     eval_fraction=args.eval_fraction, seed=args.seed,
                                     replay=args.replay)
    if args.from_export:
        result = retrain.retrain_from_exports(home, args.from_export, options)
    else:
        result = retrain.retrain_from_store(home, options)
    if args.use:
        versions.use(home, result.version)
    if args.json:
        print(json.dumps({"version": result.version, "folder": str(result.folder),
                          "before": result.before, "after": result.after,
                          "recall": result.recall,
                          "new_intents": result.new_intents,
                          "needs_article": result.needs_article, "fused": result.fused,
                          "held_back": result.held_back, "seconds": result.seconds}))
        return 0
    summary = result.summary
    print(f"wrote {result.version} in {result.seconds:.0f} s from {summary['cases']} labelled "
          f"replies ({summary['train_cases']} trained, {summary['replay_cases']} replayed, "
          f"{summary['heldout_cases']} in {summary['heldout_sessions']} held-out sessions)")
    if result.held_back:
        print(result.held_back)
    else:
        print(f"{'held-out':<20} {'before':>8} {'after':>8}")
        for key in ("accuracy", "macro_f1", "in_scope_accuracy"):
            print(f"{key:<20} {_cell(result.before.get(key)):>8} "
                  f"{_cell(result.after.get(key)):>8}")
    for intent in result.new_intents:
        recall = result.recall["after"].get(intent)
        print(f"new intent {intent}"
              + (f": held-out recall {_cell(recall)}" if not result.held_back else "")
              + ("; needs a knowledge-base article" if intent in result.needs_article else ""))
    if result.fused:
        print(f"screenshots: {fused_line(result.fused)}")
    print(f"now using {result.version}" if args.use
          else f"to use it: frontdesk models use {result.version}")
    return 0


def fused_line(report: dict) -> str:
    """What became of the fused model, in one line (engine.learning.fused_retrain's report)."""
    if "kept" in report:
        return f"fused model kept ({report['kept']})"
    if "held_back" in report:
        return (f"fused model retrained on {report['train_cases']} turns; "
                f"{report['held_back']}")
    before, after = report["before"]["accuracy"], report["after"]["accuracy"]
    return (f"fused model retrained on {report['train_cases']} turns; held-out accuracy "
            f"{_cell(before)} -> {_cell(after)} on {report['heldout_cases']} turns")


def _cell(value: object) -> str:
    return "-" if value is None else f"{value:.4f}" if isinstance(value, float) else str(value)
