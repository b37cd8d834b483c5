"""Retraining from the logs, measured on a simulated team.

1. A team starts from the default model. Its customers write messages the default model never
   trained on: the held-out 10% test split of the Bitext 8k file (engine.recipes.default_model's
   split,
   seed 13), 40% of them roughed up the way people type (lower case, no punctuation, typos),
   and warranty claims, an intent the model never saw (tests/data/warranty_claim.txt, 60
   messages we wrote). A real Assistant answers every customer turn in a real store; the agent
   accepts right intents (sometimes editing the answer), corrects wrong ones, rejects a few and
   ignores some. The store is exported (redacted) and `retrain_from_exports` runs, heads only,
   with the top layers, with LoRA adapters (and once without replay, to show what replay is
   for); before/after are scored on sessions the training never saw.
2. Forgetting: the default domain before/after, on our own messages
   (assets/evaluation/default_eval.jsonl, never trained on) and unseen Banking77 out-of-scope
   intents.
3. Time on 10k logged replies (this CPU): heads only (goal <= 60 s), with the top 2 layers
   and with adapters, next to the raw library underneath: one plain transformers forward of
   all-MiniLM-L6-v2 over the same 10k texts (the ratio says what retraining costs beside reading
   the texts once; heads only encodes each distinct text once, so it can come in under 1).

    python -m bench retrain [--base DIR] [--layer-epochs N] [--skip-team | --skip-10k]
                            [--modes heads_only adapters ...] [--timing heads_only ...]

Results: bench/reports/retrain/results.json (the two parts can run apart; they merge).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import tempfile
import time
from pathlib import Path

import torch

from engine.cases import default_mix
from engine.cases.datasets import read_cases
from engine.learning import retrain, versions
from engine.learning.evaluate import score
from engine.nlu.intent import DEFAULT_FOLDER, IntentModel, read_config
from engine.types import Turn

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
OWN_EVAL = ROOT / "assets" / "evaluation" / "default_eval.jsonl"
WARRANTY = ROOT / "tests" / "data" / "warranty_claim.txt"
REPORT = ROOT / "bench" / "reports" / "retrain"
NEW_INTENT = "warranty_claim"
MODES = {"heads_only": {"heads_only": True}, "top_layers": {}, "adapters": {"adapters": True},
         "top_layers_no_replay": {"replay_per_intent": 0}}  # the last shows what replay is for


def roughen(text: str, rng: random.Random) -> str:
    """How people type: lower case, no punctuation, a typo or two, "pls"."""
    text = re.sub(r"[^\w\s{}]", "", text.lower())
    words = text.split()
    for _ in range(rng.randint(1, 2)):
        i = rng.randrange(len(words))
        word = words[i]
        if len(word) > 3:
            j = rng.randrange(1, len(word) - 1)
            words[i] = word[:j] + word[j + 1] + word[j] + word[j + 2 :]
    return " ".join("pls" if w == "please" else w for w in words)


def team_messages(shared: Path, rng: random.Random,
                  limit: int | None = None) -> list[tuple[str, str]]:
    """(text, gold intent): Bitext held-out rows (40% roughened) and our warranty claims."""
    _, _, test = default_mix.bitext_splits(shared)
    test = test[:limit] if limit else test
    out = [(roughen(c.text, rng) if rng.random() < 0.4 else c.text, c.intent) for c in test]
    lines = WARRANTY.read_text(encoding="utf-8").splitlines()
    out += [(line, NEW_INTENT) for line in lines if line.strip() and not line.startswith("#")]
    rng.shuffle(out)
    return out


def simulate_team(home: Path, messages: list[tuple[str, str]], rng: random.Random) -> dict:
    """A real Assistant answers each customer turn; a simulated agent gives feedback."""
    from engine.assistant import Assistant

    counts = {"turns": 0, "sessions": 0, "wrong": 0}
    pool = list(messages)
    with Assistant(home) as assistant:
        while pool:
            session = assistant.new_session(agent=rng.choice(["ana", "ben", "chloe"]))
            counts["sessions"] += 1
            for _ in range(rng.randint(1, 4)):
                if not pool:
                    break
                text, gold = pool.pop()
                reply = assistant.respond(session, Turn(text=text))
                counts["turns"] += 1
                roll = rng.random()
                if roll < 0.06:
                    continue
                if roll < 0.11:
                    assistant.feedback(reply.id, "rejected")
                elif reply.intent != gold:
                    counts["wrong"] += 1
                    assistant.feedback(reply.id, "corrected", corrected_intent=gold)
                elif roll < 0.3:
                    assistant.feedback(reply.id, "edited", final_answer=reply.draft + " Thanks.")
                else:
                    assistant.feedback(reply.id, "accepted")
    return counts


def domain_scores(model: IntentModel, shared: Path) -> dict:
    """Accuracy on our own default-domain messages and OOS recall on unseen Banking77 intents."""
    own = read_cases(OWN_EVAL)
    oos = default_mix.oos_cases(shared, "test")
    predicted = [p.intent for p in model.predict([c.text for c in own])]
    oos_predicted = [p.intent for p in model.predict([c.text for c in oos])]
    return {"own_messages_accuracy": score([c.intent for c in own], predicted)["accuracy"],
            "banking77_oos_recall": score([c.intent for c in oos], oos_predicted)["accuracy"],
            "banking77_oos_taken_by_new_intent": round(
                oos_predicted.count(NEW_INTENT) / len(oos_predicted), 4)}


def old_intent_accuracy(recall: dict) -> float:
    """Mean held-out recall over the intents the default model knew (the new one left out)."""
    recall = {k: v for k, v in recall.items() if k != NEW_INTENT}
    return round(sum(recall.values()) / len(recall), 4)


def ten_thousand(shared: Path, rng: random.Random, n: int = 10_000) -> list[retrain.LoggedCase]:
    """n logged replies (sessions of 4) from Bitext held-out rows + warranty claims, roughened."""
    _, val, test = default_mix.bitext_splits(shared)
    lines = [line for line in WARRANTY.read_text().splitlines() if line and line[0] != "#"]
    pool = [(c.text, c.intent) for c in val + test] + [(t, NEW_INTENT) for t in lines]
    out = []
    for i in range(n):
        text, intent = rng.choice(pool)
        out.append(retrain.LoggedCase(
            text=roughen(text, rng) if rng.random() < 0.5 else text, intent=intent,
            session=f"bench:{i // 4}", action="accepted", predicted=intent, id=f"bench:{i}"))
    return out


def raw_encode_seconds(texts: list[str], batch_size: int = 128) -> float:
    """The library underneath: plain transformers MiniLM forward over `texts`, no grad."""
    from engine.nlu import encoder as text_encoder

    tokenizer, model = text_encoder.load_tokenizer(), text_encoder.load_encoder()
    started = time.perf_counter()
    with torch.inference_mode():
        for i in range(0, len(texts), batch_size):
            batch = tokenizer(texts[i : i + batch_size], padding=True, truncation=True,
                              max_length=64, return_tensors="pt")
            model(**batch)
    return time.perf_counter() - started


def fresh_home(base: Path, parent: Path) -> Path:
    """A data folder whose model in use is `base` (installed as v000 unless it is the default)."""
    home = Path(tempfile.mkdtemp(dir=parent))
    if base.resolve() != DEFAULT_FOLDER.resolve():
        shutil.copytree(base, home / "models" / "v000")
        versions.use(home, "v000")
    return home


def team_part(args: argparse.Namespace, work: Path, rng: random.Random) -> dict:
    """The simulated team: before/after on held-out sessions, new intent, forgetting."""
    from engine.exchange.records import export_records
    from engine.store.database import Store

    results: dict = {"default_domain_before": domain_scores(IntentModel.load(args.base),
                                                            args.shared)}
    home = fresh_home(args.base, work)
    started = time.perf_counter()
    results["team"] = simulate_team(home, team_messages(args.shared, rng, args.limit), rng)
    results["team"]["seconds"] = round(time.perf_counter() - started, 1)
    print(f"team: {json.dumps(results['team'])}")
    export = work / "team.jsonl"
    with Store.open(home) as store:
        export_records(store, export)
    for mode in args.modes:
        run_home = fresh_home(args.base, work)
        result = retrain.retrain_from_exports(run_home, [export], retrain.RetrainOptions(
            **MODES[mode], epochs=args.epochs if mode == "heads_only" else None))
        results[mode] = {
            "heldout_cases": result.before["cases"],
            "heldout_sessions": result.summary["heldout_sessions"],
            "train_cases": result.summary["train_cases"],
            "replay_cases": result.summary["replay_cases"],
            "replay_source": result.summary["replay_source"],
            "accuracy_before": result.before["accuracy"],
            "accuracy_after": result.after["accuracy"],
            "old_intents_recall_before": old_intent_accuracy(result.recall["before"]),
            "old_intents_recall_after": old_intent_accuracy(result.recall["after"]),
            "new_intent_recall_before": result.recall["before"].get(NEW_INTENT),
            "new_intent_recall_after": result.recall["after"].get(NEW_INTENT),
            "needs_article": result.needs_article,
            "default_domain_after": domain_scores(IntentModel.load(result.folder), args.shared),
            "seconds": result.seconds,
            "model_bytes": sum(f.stat().st_size for f in result.folder.glob("*.safetensors")),
        }
        print(f"{mode}: {json.dumps(results[mode])}")
    return results


def timing_part(args: argparse.Namespace, work: Path, rng: random.Random,
                results: dict) -> dict:
    """Retraining time on 10k logged replies: heads only, with the top layers, with adapters."""
    logged = ten_thousand(args.shared, rng)
    raw = raw_encode_seconds([c.text for c in logged])
    results.update({"raw_minilm_forward_s": round(raw, 1), "replies": len(logged),
                    "distinct_texts": len({c.text for c in logged})})
    for mode in args.timing:
        epochs = args.epochs if mode == "heads_only" else args.layer_epochs
        stats = retrain.LabelStats(records=len(logged), actions={"accepted": len(logged)})
        result = retrain.retrain(logged, stats, fresh_home(args.base, work), retrain.RetrainOptions(
            **MODES[mode], epochs=epochs), origin="bench 10k")
        trained = json.loads((result.folder / "config.json").read_text())["training"]
        results[mode] = {
            "epochs": trained["options"]["epochs"], "total_s": result.seconds,
            "fine_tune_s": trained["seconds"], "raw_minilm_forward_s": round(raw, 1),
            "ratio_total_to_raw_forward": round(result.seconds / raw, 2),
            "train_examples": trained["train_examples"],
            "load_average_1min": round(os.getloadavg()[0], 2)}
        print(f"10k {mode}: {json.dumps(results[mode])} (raw forward {raw:.1f} s)")
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, default=DEFAULT_FOLDER,
                        help="the model the team starts from (default: the shipped one)")
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("--epochs", type=int, help="default: retrain's (4, heads only 20)")
    parser.add_argument("--layer-epochs", type=int, default=2,
                        help="epochs of the top-layers and adapters runs on 10k replies")
    parser.add_argument("--skip-team", action="store_true", help="only the 10k timing")
    parser.add_argument("--skip-10k", action="store_true", help="only the simulated team")
    parser.add_argument("--limit", type=int, help="use only this many Bitext rows (smoke runs)")
    parser.add_argument("--modes", nargs="+", choices=tuple(MODES), default=list(MODES),
                        help="which simulated-team retrains to run")
    parser.add_argument("--timing", nargs="+", choices=("heads_only", "top_layers", "adapters"),
                        default=["heads_only", "top_layers", "adapters"],
                        help="which 10k timings to run")
    args = parser.parse_args(argv)
    REPORT.mkdir(parents=True, exist_ok=True)
    saved = REPORT / "results.json"
    results = json.loads(saved.read_text()) if saved.is_file() else {}  # parts run apart merge
    results["base"] = str(args.base)
    results["base_version"] = read_config(args.base).version
    work = Path(tempfile.mkdtemp(prefix="bench-retrain-"))
    try:
        if not args.skip_team:
            results.update(team_part(args, work, random.Random(13)))
        if not args.skip_10k:
            results["10k"] = timing_part(args, work, random.Random(14), results.get("10k", {}))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if not args.limit:
        saved.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
