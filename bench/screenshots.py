"""Screenshot turns: which reading of the screen names the intent best (issue 13, screenshots).

Two sets, each case = a typed message (often vague: "help", "is this right") + a screenshot:
  dev        frontdesk-eval screenshots.jsonl (30 real-looking screens: bank apps, email
             clients, dark themes, phone crops, annotations); measuring and choosing only
  synthetic  held-out renders of engine.fusion.synthetic (test utterance pool, a font
             training never saw), 4 per intent, read by real RapidOCR
Every case is first answered through the whole Assistant (the product path: OCR, the fused
model) and its OCR reading and the fused model's strongest boxes are kept; the variants then
score the same readings with the shipped text model (assets/models/default):
  assistant          the Assistant's answer when the readings were collected (the cache)
  read_screen        engine.fusion.screen_reading as shipped, on the cached readings
  fused_*, poe_*     the fused model's probabilities (out_of_scope masked); poe = product of
                     experts with a text reading; *_textoos: the text reading's out_of_scope
                     stands when the fused model is below the number (1.01: always)
  fused_tuned        --tuned: a fused model trained over frozen IntentModel states (option c)
  message            the typed message alone
  join_all           message + every OCR line, one text (the text model reads 64 tokens)
  join_fused3        message + the 3 lines the fused model attended to most
  lines_max          per-line probabilities (message included), for each intent its max
  lines_conf         per-line probabilities weighted by each line's in-scope confidence
  ...                see VARIANTS; "-oos" suffix: out_of_scope kept (else masked, as today)

  varied             held-out renders of engine.vision.render_styles (phone and desktop apps,
                     dark themes, marks, crops, JPEG), 4 per intent, read by real RapidOCR
  read_screen (candidate)  read_screen with the --tuned fused model in place of the shipped one

    python -m bench.screenshots [--synthetic 4] [--varied 4] [--cache /tmp/screens.json]
        [--report DIR] [--variants NAME ...] [--tuned DIR --tuned-text raw]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from bench._screen_readings import VARIANTS, Probs
from engine.assistant import Assistant
from engine.cases.case import Case
from engine.cases.datasets import read_cases
from engine.paths import SHARED_DATA
from engine.types import Turn

DATA = SHARED_DATA
DEV = DATA / "frontdesk-eval" / "screenshots.jsonl"
INTENT_FOLDER = Path(__file__).resolve().parents[1] / "assets" / "models" / "default"


def synthetic_cases(folder: Path, per_intent: int, varied: bool = False) -> list[Case]:
    """Held-out rendered screenshot cases written as PNGs (engine.fusion.synthetic, test split;
    `varied`: engine.vision.render_styles' apps, themes, marks and crops)."""
    from engine.fusion.synthetic import labels, screenshot_cases

    n = len(labels(DATA)) * per_intent
    out = []
    for case in screenshot_cases(DATA, "test", n, seed=0, varied=varied):
        turn = case.turns[-1]
        path = folder / f"{case.id}.png"
        turn.screen.image.save(path)
        out.append(Case(turn.text, case.intent, case.id, [], path))
    return out


def collect(cases: list[Case], home: Path) -> list[dict]:
    """Each case through the Assistant: its answer, its OCR lines, the fused model's boxes."""
    rows = []
    with Assistant(home) as engine:
        for case in cases:
            session = engine.new_session(channel="eval", title=case.id)
            for earlier in case.history:
                engine.add_turn(session, Turn(text=earlier.text, role=earlier.role))
            start = time.perf_counter()
            reply = engine.respond(session, Turn(text=case.text, images=[case.image],
                                                 source="image"))
            took = (time.perf_counter() - start) * 1000
            shot = engine.screen_reader.read(case.image)
            rows.append({
                "id": case.id, "intent": case.intent, "text": case.text,
                "history": [{"role": m.role, "text": m.text} for m in case.history],
                "lines": [b.text for b in shot.blocks],
                "boxes": [list(b.box) for b in shot.blocks],
                "assistant": reply.intent,
                "fused": reply.evidence.fused.intent if reply.evidence.fused else None,
                "fused_lines": [box.text for box in reply.evidence.boxes],
                "ms": round(took, 1),
            })
    return rows


def fused_probabilities(rows: list[dict], folder: Path | None = None,
                        text_folder: Path | None = None) -> list[dict[str, float]]:
    """The fused model's probabilities (out_of_scope masked, as the Assistant asks) on the
    cached readings: `folder` a fused model (None: the shipped one), `text_folder` the frozen
    encoder it was trained over (None: raw MiniLM)."""
    from engine.fusion.frozen_text import FrozenText
    from engine.fusion.reader import MultimodalReader
    from engine.types import Message
    from engine.vision.ocr import OcrBlock, Screenshot

    class CachedReader(MultimodalReader):
        shots: dict[int, list[Screenshot]] = {}

        def _readings(self, message: Message) -> list[tuple[int, Screenshot]]:
            return [(1, shot) for shot in self.shots.get(message.id, [])]

    reader = CachedReader(None, folder)
    if text_folder is not None:
        reader._text = FrozenText(text_folder)
    out = []
    for r in rows:
        messages = [Message(m.get("role", "customer"), m.get("text", ""), id=i + 1)
                    for i, m in enumerate(r["history"])]
        current = len(messages) + 1
        blocks = tuple(OcrBlock(t, tuple(b), 1.0) for t, b in zip(r["lines"], r["boxes"],
                                                                     strict=True))
        reader.shots = {current: [Screenshot("0" * 64, 1000, 1000, blocks,
                                             "\n".join(r["lines"]))]}
        messages.append(Message("customer", r["text"], id=current, attachments=(1,)))
        out.append(reader.predict(messages, current, in_scope=True).probabilities)
    return out


def score(rows: list[dict], answers: list[str]) -> tuple[int, int]:
    return sum(a == r["intent"] for a, r in zip(answers, rows, strict=True)), len(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.screenshots")
    parser.add_argument("--synthetic", type=int, default=4, help="held-out renders per intent")
    parser.add_argument("--cache", type=Path, default=None,
                        help="keep the collected readings here (JSON) and reuse them")
    parser.add_argument("--report", type=Path, default=None)
    parser.add_argument("--tuned", type=Path, default=None,
                        help="a fused model trained over a frozen IntentModel (option c)")
    parser.add_argument("--tuned-text", type=Path, default=None,
                        help="that IntentModel folder (default: the shipped text model; "
                        "'raw': plain MiniLM, for a twin trained the same way)")
    parser.add_argument("--varied", type=int, default=4,
                        help="held-out varied renders per intent (engine.vision.render_styles)")
    parser.add_argument("--variants", nargs="*", default=None,
                        help="score only the variants whose names contain one of these")
    parser.add_argument("--cases", nargs="*", default=[], help="variants to show case by case")
    args = parser.parse_args(argv)
    sets: dict[str, list[dict]] = {}
    if args.cache and args.cache.is_file():
        sets = json.loads(args.cache.read_text())
    wanted = {"dev": lambda folder: read_cases(DEV)}
    if args.synthetic:
        wanted["synthetic"] = lambda folder: synthetic_cases(folder, args.synthetic)
    if args.varied:
        wanted["varied"] = lambda folder: synthetic_cases(folder, args.varied, varied=True)
    with tempfile.TemporaryDirectory() as folder:
        for name, cases in wanted.items():  # what the cache does not hold yet
            if name not in sets:
                (Path(folder) / name).mkdir()
                sets[name] = collect(cases(Path(folder) / name), Path(folder) / f"{name}-home")
    if args.cache:
        args.cache.write_text(json.dumps(sets))
    from engine.nlu.intent import IntentModel

    for rows in sets.values():
        for key, folder, text in (("fused_p", None, None),
                                  ("fused_tuned_p", args.tuned,
                                   None if str(args.tuned_text) == "raw"
                                   else args.tuned_text or INTENT_FOLDER)):
            if (key == "fused_p" and key not in rows[0]) or (key != "fused_p" and folder):
                for r, p in zip(rows, fused_probabilities(rows, folder, text), strict=True):
                    r[key] = p
    if args.cache:
        args.cache.write_text(json.dumps(sets))

    probs = Probs(IntentModel.load())
    variants = {name: fn for name, fn in VARIANTS.items()
                if args.variants is None or any(part in name for part in args.variants)}
    results = {}
    for name, rows in sets.items():
        for variant, fn in variants.items():
            answers = fn(probs, rows)
            hits, n = score(rows, answers)
            results.setdefault(variant, {})[name] = [hits, n]
    width = max(len(v) for v in results)
    print(f"{'variant':{width}}  " + "  ".join(f"{s:>16}" for s in sets))
    for variant, by_set in results.items():
        cells = [f"{h:3d}/{n:<3d} {h / n:.3f}" for h, n in (by_set[s] for s in sets)]
        print(f"{variant:{width}}  " + "  ".join(f"{c:>16}" for c in cells))
    if args.cases:
        for name, rows in sets.items():
            table = {v: fn(probs, rows) for v, fn in variants.items() if v in args.cases}
            for i, r in enumerate(rows):
                marks = " ".join("+" if table[v][i] == r["intent"] else "." for v in table)
                print(f"{name} {r['id']:14} {r['intent']:25} {marks}")
    if args.report:
        args.report.mkdir(parents=True, exist_ok=True)
        (args.report / "results.json").write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
