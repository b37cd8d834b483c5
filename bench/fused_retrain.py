"""Retraining the fused model from the logs, measured on a team whose customers send screenshots.

1. A team starts from the shipped models. Its customers send screenshots with a vague line
   ("see attached", "any idea?") or a hint ("about my refund"): engine.fusion.synthetic's held-out
   side
   (test utterances, fonts training never saw), and screenshots of warranty claims, an intent
   neither model knows (our own messages, tests/data/warranty_claim.txt, rendered the same
   way). A real Assistant answers each turn in a real store (real RapidOCR); the agent accepts
   right intents and corrects wrong ones. `retrain --from-store` (heads only for the text
   model) then retrains the fused model on the screenshot turns.
2. Before/after, end to end through `Assistant.respond` on screenshots the training never saw
   (other utterances, other renderings, 20 warranty claims held back): accuracy of the replies,
   recall of the new intent, and how often the fused answer was taken.
3. Forgetting: the fused model's accuracy on engine.fusion.synthetic's held-out test set (screenshot
   and conversation cases, perfect OCR) before/after.

    python -m bench.fused_retrain [--per-intent 4] [--eval-per-intent 2]

Results: bench/reports/fused_retrain/results.json
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

from engine.assistant import Assistant
from engine.fusion.synthetic import (
    TEST_ONLY_FONTS,
    VAGUE_WITH_IMAGE,
    labels,
    render_screen,
    screenshot_cases,
)
from engine.learning import retrain, versions
from engine.types import Turn

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
WARRANTY = ROOT / "tests" / "data" / "warranty_claim.txt"
REPORT = ROOT / "bench" / "reports" / "fused_retrain"
NEW_INTENT = "warranty_claim"


def warranty_messages() -> list[str]:
    lines = WARRANTY.read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


def screenshot_turns(folder: Path, seed: int, per_intent: int, warranty: list[str],
                     tag: str) -> list[tuple[Path, str, str]]:
    """(png, typed text, gold intent) for every customer screenshot of one part."""
    cases = screenshot_cases(SHARED, "test", per_intent * len(labels(SHARED)), seed)
    out = []
    for case in cases:
        path = folder / f"{tag}-{case.id}.png"
        case.turns[0].screen.image.save(path)
        out.append((path, case.turns[0].text, case.intent))
    rng = random.Random(f"warranty:{tag}:{seed}")
    for index, message in enumerate(warranty):
        path = folder / f"{tag}-warranty-{index}.png"
        render_screen(rng, NEW_INTENT, message, TEST_ONLY_FONTS).image.save(path)
        out.append((path, rng.choice(VAGUE_WITH_IMAGE), NEW_INTENT))
    random.Random(seed).shuffle(out)
    return out


def answer_all(engine: Assistant, turns: list[tuple[Path, str, str]], feedback: bool) -> dict:
    """Reply to each screenshot turn (one session each); the agent's feedback when asked."""
    right = fused = new_right = new_total = 0
    for path, typed, gold in turns:
        reply = engine.respond(engine.new_session(), Turn(text=typed, images=[path]))
        right += reply.intent == gold
        fused += "+" in reply.model_version  # the fused answer was taken
        if gold == NEW_INTENT:
            new_total += 1
            new_right += reply.intent == gold
        if feedback and reply.intent == gold:
            engine.feedback(reply.id, "accepted")
        elif feedback:
            engine.feedback(reply.id, "corrected", corrected_intent=gold)
    return {"cases": len(turns), "accuracy": round(right / len(turns), 4),
            "fused_answers": round(fused / len(turns), 4),
            "new_intent_recall": round(new_right / max(new_total, 1), 4)}


def synthetic_test_accuracy(folder: Path) -> float:
    """The fused model's score on engine.fusion.synthetic's held-out set (as bench.fusion builds
    it)."""
    from engine.fusion.frozen_text import FrozenText
    from engine.fusion.model import FusedModel
    from engine.fusion.train import accuracy, build_sets, prepare

    model = FusedModel.load(folder)
    _, test_cases = build_sets(SHARED, 8, 12)
    items = prepare(test_cases, model.labels, FrozenText(), "full", seed=1)
    return round(accuracy(model, items), 4)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fused_retrain")
    parser.add_argument("--per-intent", type=int, default=4, help="team screenshots per intent")
    parser.add_argument("--eval-per-intent", type=int, default=2)
    args = parser.parse_args(argv)
    warranty = warranty_messages()
    results: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder, home = Path(tmp), Path(tmp) / "home"
        team = screenshot_turns(folder, 0, args.per_intent, warranty[:40], "team")
        unseen = screenshot_turns(folder, 1, args.eval_per_intent, warranty[40:], "unseen")
        start = time.perf_counter()
        with Assistant(home) as engine:
            results["team"] = answer_all(engine, team, feedback=True)
            results["team"]["seconds"] = round(time.perf_counter() - start, 1)
            print(f"team: {json.dumps(results['team'])}")
            results["before"] = answer_all(engine, unseen, feedback=False)
            print(f"before: {json.dumps(results['before'])}")  # no feedback: not trained on
        start = time.perf_counter()
        result = retrain.retrain_from_store(home, retrain.RetrainOptions(heads_only=True))
        results["retrain"] = {"version": result.version,
                              "seconds": round(time.perf_counter() - start, 1),
                              "text_model": {"before": result.before, "after": result.after},
                              "fused": json.loads((result.folder / versions.METRICS_FILE)
                                                  .read_text()).get("fused")}
        print(f"retrain: {json.dumps(results['retrain'])}")
        versions.use(home, result.version)
        with Assistant(home) as engine:
            results["after"] = answer_all(engine, unseen, feedback=False)
        print(f"after: {json.dumps(results['after'])}")
        shipped = ROOT / "assets" / "models" / "fused"
        results["forgetting"] = {
            "synthetic_test_before": synthetic_test_accuracy(shipped),
            "synthetic_test_after": synthetic_test_accuracy(result.folder / "fused"),
        }
        print(f"forgetting: {json.dumps(results['forgetting'])}")
    REPORT.mkdir(parents=True, exist_ok=True)
    (REPORT / "results.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
