"""Retraining from the logs: agents' feedback becomes the next model version.

1. Labels from each reply's latest feedback (engine.learning.logged_cases says which replies teach
what).
2. Held-out part: whole conversations (split by session, never by turn, so no near-duplicate
   turn of a held-out chat is trained on), a fixed fraction chosen by a fixed seed.
3. Forgetting: the training part is mixed with a replay sample (experience replay, as in
   Rolnick et al. 2019, "Experience Replay for Continual Learning") of the data the current
   model learned from: the `replay.jsonl` every retrained version keeps, or for the shipped
   model its public recipe (engine.recipes.default_model) when that data is at hand; up to
   `replay_per_intent` examples an intent, fewer when the team's own part is smaller than that
   (so a small team's corrections are not drowned). Intents the team never mentions also keep
   their head rows (engine.learning.train widens the head, it never resets it).
4. Fine-tune starting from the current model (engine.learning.train.fine_tune: heads only, or its
   trained top layers too), score the current and the new model on the same held-out part,
   and write `v00N/` (weights, config, metrics.json, data_summary.json, replay.jsonl) beside
   the older versions (before/after rates only when at least
   engine.learning.evaluate.MIN_SCORED_CASES
   cases are held out: on fewer they mean nothing, so the count is shown and the rates held
   back). The folder is built as `v00N.partial` and renamed when complete, so a
   run killed halfway leaves nothing that engine.learning.versions offers. It does not switch to
   the new
   version: `frontdesk models use v00N` (or `retrain --use`) does.
Intents that agents introduced by correction are learned, and listed as needing a
knowledge-base article when no article answers them yet.
"""

from __future__ import annotations

import json
import logging
import os
import random
import shutil
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from engine import paths
from engine.cases.datasets import Case, read_cases
from engine.clock import now_iso
from engine.errors import FrontdeskError, InputError
from engine.learning import evaluate, versions
from engine.learning.logged_cases import (
    LabelStats,
    LoggedCase,
    check_learnable,
    from_store,
    read_exports,
    split_by_session,
)
from engine.model_folder import FUSED_FOLDER
from engine.types import OUT_OF_SCOPE

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
Cancel = threading.Event | Callable[[], None]  # an Event, or a check that raises when cancelled
REPLAY_FILE = "replay.jsonl"
STALE_PARTIAL_S = 3600  # a .partial folder this old belongs to a run that died


@dataclass
class RetrainOptions:
    """How to retrain; saved in data_summary.json."""

    epochs: int | None = None  # None: 4, or 20 heads only (an epoch of the head alone is cheap)
    heads_only: bool = False  # True: encoder frozen, head trained (fast); False: top layers too
    adapters: bool = False  # True: LoRA adapters on the top layers' attention + the head, saved
    # alone (engine.nlu.adapters: a version of a few hundred KB instead of the top layers' 7 MB)
    eval_fraction: float = 0.2  # of the sessions, held out for before/after
    seed: int = 13
    replay_per_intent: int = 30  # replayed examples per old intent (out_of_scope gets 4x)
    batch_size: int = 32
    lr: float | None = None  # None: 1e-4 for the top layers, 1e-3 for adapters
    head_lr: float | None = None  # None: 2e-3, or 1e-2 heads only and with adapters (a new
    # intent's row starts from nothing, and a frozen or barely moved encoder cannot help it along)
    time_limit_s: float | None = None
    replay: list[str] | None = None  # extra replay files (CSV/JSONL) instead of the default
    fused: bool = True  # also retrain the fused model on the screenshot turns (when enough)


@dataclass
class RetrainResult:
    """What a run made: the new version and the before/after scores on the held-out part."""

    version: str
    folder: Path
    before: dict  # held-out scores of the model in use: accuracy, macro_f1, ...
    after: dict  # the same for the new version
    recall: dict  # {"before": {intent: recall}, "after": {...}} on the held-out part
    new_intents: list[str]
    needs_article: list[str]
    summary: dict
    seconds: float
    fused: dict | None = None  # engine.learning.fused_retrain's report (None: not asked for)
    held_back: str | None = None  # why before/after hold no rates (too few held-out cases)


# ---- replay -------------------------------------------------------------------------------


def replay_cases(folder: Path, per_intent: int, seed: int,
                 files: list[str] | None = None) -> tuple[list[Case], list[Case], str]:
    """(training replay, validation replay, where they came from) for the model in `folder`.

    Validation replay exists for the shipped model only: its own validation split, whose
    out-of-scope messages come from sources its training never saw, so the out-of-scope
    threshold is refitted the way it was first fitted (not on look-alikes of training data).
    """
    from engine.cases import default_mix
    from engine.nlu.intent import read_config

    val: list[Case] = []
    if files:
        cases, source = [c for f in files for c in read_cases(Path(f))], ", ".join(files)
    elif (folder / REPLAY_FILE).is_file():
        cases, source = read_cases(folder / REPLAY_FILE), f"{folder.name}/{REPLAY_FILE}"
    elif (read_config(folder).training.get("in_scope") or "").startswith(
            default_mix.BITEXT_FILE) and (shared := paths.shared_data()) is not None:
        train, bitext_val, _ = default_mix.bitext_splits(shared)
        cases = train + default_mix.oos_cases(shared, "train")
        val = bitext_val + default_mix.oos_cases(shared, "val")
        source = "the default model's own training and validation splits (engine.cases.default_mix)"
    else:
        return [], [], "none at hand: old intents keep their head rows only"
    return (sample_per_intent(cases, per_intent, seed),
            sample_per_intent(val, max(3, per_intent // 3), seed), source)


def sample_per_intent(cases: list[Case], per_intent: int, seed: int) -> list[Case]:
    """Up to `per_intent` cases of each intent (4x for out_of_scope, a broad class), in the
    order given after a seeded shuffle within each intent."""
    rng = random.Random(seed)
    by_intent: dict[str, list[Case]] = {}
    for case in cases:
        by_intent.setdefault(case.intent, []).append(case)
    out = []
    for intent in sorted(by_intent):
        group = by_intent[intent][:]
        rng.shuffle(group)
        out += group[: per_intent * (4 if intent == OUT_OF_SCOPE else 1)]
    return out


# ---- the run ------------------------------------------------------------------------------


def retrain_from_store(home: Path, options: RetrainOptions | None = None,
                       progress: Progress | None = None,
                       cancel: Cancel | None = None) -> RetrainResult:
    """Retrain from this data folder's own logs (what the GUI's Train dialog runs)."""
    cases, stats = from_store(Path(home))
    return retrain(cases, stats, Path(home), options, progress, cancel,
                   origin="this desk's store")


def retrain_from_exports(home: Path, files: list[Path], options: RetrainOptions | None = None,
                         progress: Progress | None = None,
                         cancel: Cancel | None = None) -> RetrainResult:
    """Retrain from export files of one or several desks (merged, duplicates dropped)."""
    cases, stats = read_exports(files)
    return retrain(cases, stats, Path(home), options, progress, cancel,
                   origin=", ".join(str(f) for f in files))


def retrain(cases: list[LoggedCase], stats: LabelStats, home: Path,
            options: RetrainOptions | None = None, progress: Progress | None = None,
            cancel: Cancel | None = None, origin: str = "") -> RetrainResult:
    """Fine-tune the current model on `cases` and write the next version (not switched to)."""
    from engine.cases.splits import stratified_split
    from engine.learning import fused_retrain
    from engine.learning.train import TrainOptions, encode_once, fine_tune
    from engine.nlu.intent import IntentModel

    opts = options or RetrainOptions()
    if opts.adapters and opts.heads_only:
        raise InputError("Choose adapters or the head alone, not both.")
    started = time.perf_counter()
    check_learnable(cases, stats)
    train_part, held_out = split_by_session(cases, opts.eval_fraction, opts.seed)
    screenshots = train_part, held_out  # the fused model learns from the screenshot turns;
    train_part = [c for c in train_part if not c.images]  # what is typed beside a screenshot
    held_out = [c for c in held_out if not c.images]  # ("see this") is not the text
    if not train_part:
        raise InputError(
            f"The {len(cases)} labelled replies hold no typed customer message outside the "
            "conversations held out to check the new model; retraining needs typed feedback "
            "in at least 2 conversations.")
    held_back = evaluate.held_back(len(held_out))  # too few to compare: no rates at all
    base_name, base_folder = versions.current_name(home), versions.current(home)
    current = IntentModel.load(base_folder)
    replay, replay_val, replay_source = replay_cases(base_folder, opts.replay_per_intent,
                                                     opts.seed, opts.replay)
    if len(replay) > len(train_part):  # a small team's corrections must not drown in replay
        share = opts.replay_per_intent * len(train_part) // len(replay)
        replay = sample_per_intent(replay, max(3, share), opts.seed)
    if not replay_val and not stratified_split([c.as_case() for c in train_part] + replay,
                                               0.1, opts.seed)[1]:
        raise InputError(
            f"Too little feedback to retrain: of {len(cases)} labelled replies in "
            f"{len({c.session for c in cases})} conversations, the {len(train_part)} outside the "
            "held-out ones have no intent twice, so nothing could check the new model; give "
            "feedback on more replies (at least 2 of one intent, about 20 in all) and train "
            "again.")
    features = None  # heads only: the encoder stays as it is, so every distinct text is encoded
    if opts.heads_only:  # once and serves training, validation and before/after alike
        texts = [c.text for c in cases] + [c.text for c in replay + replay_val]
        features = encode_once(current, texts, _cancel_event(cancel))
    before, recall_before = _score(current, held_out if not held_back else [], features)

    root = versions.models_root(home)
    root.mkdir(parents=True, exist_ok=True)
    _remove_stale_partials(root)
    name = versions.next_name(home)
    staging = root / f"{name}.partial"
    epochs = opts.epochs or (20 if opts.heads_only else 4)
    head_lr = opts.head_lr or (1e-2 if opts.heads_only or opts.adapters else 2e-3)
    lr = opts.lr or (1e-3 if opts.adapters else 1e-4)
    train_opts = TrainOptions(epochs=epochs, batch_size=opts.batch_size, lr=lr,
                              head_lr=head_lr, seed=opts.seed, time_limit_s=opts.time_limit_s,
                              heads_only=opts.heads_only, adapters=opts.adapters,
                              adapter_base=base_name)
    notes = {"retrained_from": base_name, "logs": origin}
    new = sorted({c.intent for c in cases} - set(current.labels))
    try:
        team, team_val = [c.as_case() for c in train_part], None
        if replay_val:  # validation: a tenth of the team's part and the old validation data
            team, team_val = stratified_split(team, 0.1, opts.seed)
            team_val += replay_val
        model = fine_tune(team + replay, staging, train_opts, val_cases=team_val,
                          start_from=current, progress=_progress(progress),
                          cancel=_cancel_event(cancel), notes=notes, features=features)
        after, recall_after = _score(model, held_out if not held_back else [], features)
        before["cases"] = after["cases"] = len(held_out)
        fused = None if not opts.fused else fused_retrain.retrain_fused(
            *screenshots, home, staging / FUSED_FOLDER, seed=opts.seed,
            cancel=_cancel_event(cancel), log=log.info, progress=progress)
        if fused and "before" in fused and evaluate.held_back(fused["heldout_cases"]):
            fused["held_back"] = evaluate.held_back(fused["heldout_cases"])  # kept as a
            # record; the CLI and the Train dialog show this sentence instead of the rates
        recall = {"before": recall_before, "after": recall_after}
        summary = _summary(cases, stats, train_part, held_out, replay, replay_source, new, opts,
                           base_name, origin)
        metrics = {"created": now_iso(), "base": base_name, "model_version": model.version,
                   "heldout": before["cases"], "before": before, "after": after,
                   "recall": recall,
                   "new_intents": new, "needs_article": summary["needs_article"],
                   "mode": "heads only" if opts.heads_only else
                   "adapters + head" if opts.adapters else "top layers + head",
                   "fused": fused, "held_back": held_back,
                   "seconds": round(time.perf_counter() - started, 1)}
        _write_json(staging / versions.METRICS_FILE, metrics)
        _write_json(staging / versions.SUMMARY_FILE, summary)
        _write_replay(staging / REPLAY_FILE, train_part, replay, opts)
        final = root / name
        os.rename(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(staging.with_name(staging.name + ".partial"), ignore_errors=True)
        raise
    return RetrainResult(name, final, before, after, recall, new, summary["needs_article"],
                         summary, metrics["seconds"], fused, held_back)


def _score(model, cases: list[LoggedCase], features: dict | None = None) -> tuple[dict, dict]:
    """(accuracy and friends, recall per intent) on `cases`, predicted in batches (from the
    pooled `features` of `encode_once` when given: the model's encoder is not run again)."""
    from engine.learning.evaluate import score

    if not cases:  # every held-out turn had a screenshot: the fused report scores those
        return {"cases": 0}, {}
    if features is None:
        predicted = [p.intent for p in model.predict([c.text for c in cases])]
    else:
        import torch

        probs = model.pooled_probabilities(torch.stack([features[c.text] for c in cases]))
        predicted = [model.decide(row).intent for row in probs]
    gold = [c.intent for c in cases]
    metrics = {k: v for k, v in score(gold, predicted).items() if v is not None}
    hits = Counter(g for g, p in zip(gold, predicted, strict=True) if g == p)
    return metrics, {intent: round(hits[intent] / n, 4)
                     for intent, n in sorted(Counter(gold).items())}


def _summary(cases, stats, train_part, held_out, replay, replay_source, new, opts, base_name,
             origin) -> dict:
    try:
        from engine.nlu.knowledge import KnowledgeBase

        articles = KnowledgeBase.load().intents
    except FrontdeskError:
        articles = set()
    examples = {intent: [c for c in cases if c.intent == intent] for intent in new}
    return {
        "logs": origin, "base": base_name, "options": asdict(opts), "labels": asdict(stats),
        "cases": len(cases), "sessions": len({c.session for c in cases}),
        "train_cases": len(train_part), "train_sessions": len({c.session for c in train_part}),
        "heldout_cases": len(held_out), "heldout_sessions": len({c.session for c in held_out}),
        "split": f"by session, {opts.eval_fraction:.0%} of sessions held out, seed {opts.seed}",
        "replay_cases": len(replay), "replay_source": replay_source,
        "intents": dict(sorted(Counter(c.intent for c in cases).items())),
        "answers_kept": sum(c.answer is not None for c in cases),
        "new_intents": [{"intent": intent, "examples": [c.text for c in found[:3]],
                         "answers_sent": [c.answer for c in found if c.answer][:3],
                         "has_article": intent in articles}
                        for intent, found in examples.items()],
        "needs_article": [intent for intent in new if intent not in articles],
    }


def _write_replay(path: Path, train_part: list[LoggedCase], replay: list[Case],
                  opts: RetrainOptions) -> None:
    """What the next retrain replays: this run's team examples first, then the older replay."""
    team = [c.as_case() for c in train_part]
    keep = sample_per_intent(team, opts.replay_per_intent, opts.seed)
    have = Counter(c.intent for c in keep)
    for case in replay:
        cap = opts.replay_per_intent * (4 if case.intent == OUT_OF_SCOPE else 1)
        if have[case.intent] < cap:
            keep.append(case)
            have[case.intent] += 1
    with open(path, "w", encoding="utf-8") as handle:
        for case in keep:
            handle.write(json.dumps({"id": case.id, "text": case.text, "intent": case.intent},
                                    ensure_ascii=False) + "\n")


def _write_json(path: Path, value: dict) -> None:
    path.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _remove_stale_partials(root: Path) -> None:
    for folder in root.glob("v*.partial*"):
        if time.time() - folder.stat().st_mtime > STALE_PARTIAL_S:
            shutil.rmtree(folder, ignore_errors=True)


def _progress(progress: Progress | None):
    if progress is None:
        return None
    return lambda step, total, _info: progress(step, total)


class _CheckAsEvent:
    """Lets a `check()` that raises (the GUI's Job.check) serve where train wants an Event."""

    def __init__(self, check: Callable[[], None]) -> None:
        self.check = check

    def is_set(self) -> bool:
        try:
            self.check()
        except Exception:
            return True
        return False


def _cancel_event(cancel: Cancel | None):
    if cancel is None or isinstance(cancel, threading.Event):
        return cancel
    return _CheckAsEvent(cancel)
