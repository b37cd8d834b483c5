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

    python -m bench.screenshots [--synthetic 4] [--cache /tmp/screens.json] [--report DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

from engine.assistant import Assistant
from engine.cases.case import Case
from engine.cases.datasets import read_cases
from engine.types import OUT_OF_SCOPE, Turn

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
DEV = DATA / "frontdesk-eval" / "screenshots.jsonl"
INTENT_FOLDER = Path(__file__).resolve().parents[1] / "assets" / "models" / "default"


def synthetic_cases(folder: Path, per_intent: int) -> list[Case]:
    """Held-out rendered screenshot cases written as PNGs (engine.fusion.synthetic, test split)."""
    from engine.fusion.synthetic import labels, screenshot_cases

    n = len(labels(DATA)) * per_intent
    out = []
    for case in screenshot_cases(DATA, "test", n, seed=0):
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
                engine.add_turn(session, Turn(text=earlier.get("text", ""),
                                              role=earlier.get("role", "customer")))
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

        def _screenshots(self, message: Message) -> list[Screenshot]:
            return self.shots.get(message.id, [])

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
    parser.add_argument("--cases", nargs="*", default=[], help="variants to show case by case")
    args = parser.parse_args(argv)
    sets: dict[str, list[dict]] = {}
    if args.cache and args.cache.is_file():
        sets = json.loads(args.cache.read_text())
    else:
        with tempfile.TemporaryDirectory() as folder:
            folder = Path(folder)
            sets["dev"] = collect(read_cases(DEV), folder / "dev")
            if args.synthetic:
                sets["synthetic"] = collect(synthetic_cases(folder, args.synthetic),
                                            folder / "synthetic")
        if args.cache:
            args.cache.write_text(json.dumps(sets))
    from engine.nlu.intent import IntentModel

    for rows in sets.values():
        for key, folder, text in (("fused_p", None, None),
                                  ("fused_tuned_p", args.tuned,
                                   None if str(args.tuned_text) == "raw"
                                   else args.tuned_text or INTENT_FOLDER)):
            if key not in rows[0] and (key == "fused_p" or folder):
                for r, p in zip(rows, fused_probabilities(rows, folder, text), strict=True):
                    r[key] = p
    if args.cache:
        args.cache.write_text(json.dumps(sets))

    probs = Probs(IntentModel.load())
    results = {}
    for name, rows in sets.items():
        for variant, fn in VARIANTS.items():
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
            table = {v: fn(probs, rows) for v, fn in VARIANTS.items() if v in args.cases}
            for i, r in enumerate(rows):
                marks = " ".join("+" if table[v][i] == r["intent"] else "." for v in table)
                print(f"{name} {r['id']:14} {r['intent']:25} {marks}")
    if args.report:
        args.report.mkdir(parents=True, exist_ok=True)
        (args.report / "results.json").write_text(json.dumps(results, indent=1))
    return 0


# -- variants ----------------------------------------------------------------------------------
class Probs:
    """The text model's calibrated probabilities, each distinct text computed once."""

    def __init__(self, model) -> None:
        self.model = model
        self.memo: dict[str, torch.Tensor] = {}

    def __call__(self, texts: list[str]) -> torch.Tensor:
        texts = [t if t.strip() else "?" for t in texts]
        new = sorted({t for t in texts if t not in self.memo})
        if new:
            for text, row in zip(new, self.model.probabilities(new), strict=True):
                self.memo[text] = row
        return torch.stack([self.memo[t] for t in texts])


def _pick(model, probs: torch.Tensor, oos: bool) -> str:
    """Best label of one probability row; out_of_scope masked unless `oos`."""
    if oos:
        return model.decide(probs).intent
    labels = model.labels
    row = probs.clone()
    if OUT_OF_SCOPE in labels:
        row[labels.index(OUT_OF_SCOPE)] = -1.0
    return labels[int(row.argmax())]


def _joined(parts: Callable[[dict], list[str]], oos: bool):
    def run(probs: Probs, rows, raw: bool = False):
        texts = [" ".join(p for p in parts(r) if p).strip() for r in rows]
        if raw:
            return list(probs(texts))
        return [_pick(probs.model, p, oos) for p in probs(texts)]
    return run


def _heights(r: dict) -> torch.Tensor:
    h = torch.tensor([b[3] - b[1] for b in r["boxes"]]) if r["boxes"] else torch.ones(1)
    return h / h.median().clamp_min(1e-6)


def _per_line(pool: str, oos: bool, message_weight: float = 1.0, by_height: float = 0.0,
              min_words: int = 0):
    def run(probs: Probs, rows):
        model = probs.model
        out = []
        oos_i = model.labels.index(OUT_OF_SCOPE)
        for r in rows:
            keep = [i for i, line in enumerate(r["lines"]) if len(line.split()) >= min_words]
            lines = [r["lines"][i] for i in keep]
            has_msg = bool(r["text"].strip())
            texts = ([r["text"]] if has_msg else []) + lines
            if not texts:
                texts = ["?"]
            p = probs(texts)
            weights = torch.ones(len(texts))
            if lines and by_height:
                weights[-len(lines):] = _heights(r)[keep] ** by_height
            if has_msg:
                weights[0] = message_weight
            inscope = p.clone()
            inscope[:, oos_i] = 0
            sure = inscope.max(1).values
            if pool == "max":
                pooled = (inscope * weights[:, None]).max(0).values
                pooled[oos_i] = 0
            elif pool in ("conf", "conf2", "conf4"):  # lines sure of an in-scope intent count most
                w = sure ** {"conf": 1, "conf2": 2, "conf4": 4}[pool] * weights
                pooled = (p * w[:, None]).sum(0) / w.sum()
            elif pool == "logmean":
                w = weights
                pooled = torch.softmax((p.clamp_min(1e-6).log() * w[:, None]).sum(0) / w.sum(), 0)
            else:
                pooled = (p * weights[:, None]).sum(0) / weights.sum()
            pooled = pooled / pooled.sum()
            out.append(_pick(model, pooled, oos))
        return out
    return run


def _ranked_join(k: int, min_words: int, oos: bool = False, with_msg: bool = True,
                 by_rank: bool = False):
    """Message + the k lines the text model is surest are in scope, one text."""
    def run(probs: Probs, rows, raw: bool = False):
        model = probs.model
        oos_i = model.labels.index(OUT_OF_SCOPE)
        texts = []
        for r in rows:
            lines = [line for line in r["lines"] if len(line.split()) >= min_words]
            if lines:
                p = probs(lines)
                p[:, oos_i] = 0
                order = p.max(1).values.argsort(descending=True)[:k].tolist()
                lines = [lines[i] for i in (order if by_rank else sorted(order))]
            texts.append(" ".join(([r["text"]] if with_msg else []) + lines))
        if raw:
            return list(probs(texts))
        return [_pick(model, p, oos) for p in probs(texts)]
    return run


def _pair_pool(min_words: int, power: int, oos: bool = False):
    """The text model on "message + line" for each line, pooled by in-scope sureness."""
    def run(probs: Probs, rows):
        model = probs.model
        oos_i = model.labels.index(OUT_OF_SCOPE)
        out = []
        for r in rows:
            lines = [line for line in r["lines"] if len(line.split()) >= min_words] or ["?"]
            p = probs([f"{r['text']} {line}".strip() for line in lines])
            inscope = p.clone()
            inscope[:, oos_i] = 0
            w = inscope.max(1).values ** power
            out.append(_pick(model, (p * w[:, None]).sum(0) / w.sum(), oos))
        return out
    return run


def _with_fused(base: Callable, key: str = "fused_p", fused_weight: float = 1.0,
                text_oos: float | None = None):
    """Product of experts: the text reading's probabilities x the fused model's (geometric)."""
    def run(probs: Probs, rows):
        model = probs.model
        if key not in rows[0]:
            return ["-"] * len(rows)
        text = base(probs, rows, raw=True)
        out = []
        for t, r in zip(text, rows, strict=True):
            f = torch.tensor([r[key].get(label, 0.0) for label in model.labels])
            if text_oos is not None and model.decide(t).intent == OUT_OF_SCOPE \
                    and float(f.max()) < text_oos:
                out.append(OUT_OF_SCOPE)  # the text model reads the screen as off topic
                continue
            logs = t.clamp_min(1e-9).log() + fused_weight * f.clamp_min(1e-9).log()
            out.append(_pick(model, torch.softmax(logs, 0), False))
        return out
    return run


def _shipped(probs: Probs, rows):
    """engine.fusion.screen_reading.read_screen itself, as the Assistant calls it."""
    from engine.fusion.screen_reading import read_screen
    from engine.vision.ocr import OcrBlock, Screenshot

    out = []
    for r in rows:
        blocks = tuple(OcrBlock(t, tuple(b), 1.0) for t, b in zip(r["lines"], r["boxes"],
                                                                     strict=True))
        shot = Screenshot("0" * 64, 1000, 1000, blocks, "\n".join(r["lines"]))
        read = read_screen(probs.model, r["text"], [(1, shot)], r["fused_p"], fused_sure=0.4)
        out.append(read.prediction.intent if read else max(r["fused_p"], key=r["fused_p"].get))
    return out


def _rows_answer(key: str):
    return lambda probs, rows: [r[key] for r in rows]


VARIANTS: dict[str, Callable] = {
    "assistant": _rows_answer("assistant"),
    "read_screen (shipped)": _shipped,
    "fused_recomputed": lambda probs, rows: [max(r["fused_p"], key=r["fused_p"].get)
                                             for r in rows],
    "fused_tuned": lambda probs, rows: [max(r["fused_tuned_p"], key=r["fused_tuned_p"].get)
                                        if "fused_tuned_p" in r else "-" for r in rows],
    "poe_message": _with_fused(_joined(lambda r: [r["text"]], False)),
    "poe_join_all": _with_fused(_joined(lambda r: [r["text"], *r["lines"]], False)),
    "poe_rank5_w2": _with_fused(_ranked_join(5, 2)),
    "poe_rank8_w3": _with_fused(_ranked_join(8, 3)),
    "poe_rank6_w2": _with_fused(_ranked_join(6, 2)),
    "poe_rank4_w2": _with_fused(_ranked_join(4, 2)),
    "poe_rank5_w2_f05": _with_fused(_ranked_join(5, 2), fused_weight=0.5),
    "poe_tuned_rank5_w2": _with_fused(_ranked_join(5, 2), "fused_tuned_p"),
    "poe_tuned_rank6_w2": _with_fused(_ranked_join(6, 2), "fused_tuned_p"),
    "rank6_w2-oos": _ranked_join(6, 2, True),
    "poe_rank6_w2_textoos": _with_fused(_ranked_join(6, 2), text_oos=1.01),
    "poe_rank6_w2_textoos_f07": _with_fused(_ranked_join(6, 2), text_oos=0.7),
    "poe_rank6_w2_textoos_f04": _with_fused(_ranked_join(6, 2), text_oos=0.4),
    "poe_rank5_w2_textoos": _with_fused(_ranked_join(5, 2), text_oos=1.01),
    "poe_rank4_w2_textoos": _with_fused(_ranked_join(4, 2), text_oos=1.01),
    "poe_rank8_w3_textoos": _with_fused(_ranked_join(8, 3), text_oos=1.01),
    "poe_tuned_join_all": _with_fused(_joined(lambda r: [r["text"], *r["lines"]], False),
                                      "fused_tuned_p"),
    "fused": _rows_answer("fused"),
    "message": _joined(lambda r: [r["text"]], False),
    "join_all": _joined(lambda r: [r["text"], *r["lines"]], False),
    "join_all-oos": _joined(lambda r: [r["text"], *r["lines"]], True),
    "join_all_msg_last": _joined(lambda r: [*r["lines"], r["text"]], False),
    "join_fused3": _joined(lambda r: [r["text"], *r["fused_lines"]], False),
    "join_fused3-oos": _joined(lambda r: [r["text"], *r["fused_lines"]], True),
    "lines_max": _per_line("max", False),
    "lines_mean": _per_line("mean", False),
    "lines_logmean": _per_line("logmean", False),
    "lines_conf": _per_line("conf", False),
    "lines_conf2": _per_line("conf2", False),
    "lines_conf4": _per_line("conf4", False),
    "lines_conf2-oos": _per_line("conf2", True),
    "lines_conf2_h1": _per_line("conf2", False, by_height=1.0),
    "lines_conf2_h2": _per_line("conf2", False, by_height=2.0),
    "lines_conf2_w2": _per_line("conf2", False, min_words=2),
    "lines_conf2_w3": _per_line("conf2", False, min_words=3),
    "lines_conf2_m3": _per_line("conf2", False, message_weight=3.0),
    "lines_conf2_h1_w2": _per_line("conf2", False, by_height=1.0, min_words=2),
    "lines_conf4_w3": _per_line("conf4", False, min_words=3),
    "lines_conf4_w2": _per_line("conf4", False, min_words=2),
    "lines_max_w2": _per_line("max", False, min_words=2),
    "lines_max_w3": _per_line("max", False, min_words=3),
    **{f"rank{k}_w{w}{'_byrank' if b else ''}": _ranked_join(k, w, by_rank=b)
       for k in (4, 6, 8) for w in (2, 3) for b in (False, True)},
    "rank5_w2_nomsg": _ranked_join(5, 2, with_msg=False),
    "rank5_w2-oos": _ranked_join(5, 2, True),
    "rank3_w2": _ranked_join(3, 2),
    "rank5_w2": _ranked_join(5, 2),
    "rank3_w1": _ranked_join(3, 1),
    "rank3_w3": _ranked_join(3, 3),
    "rank2_w2": _ranked_join(2, 2),
    "rank3_w2-oos": _ranked_join(3, 2, True),
    "pair_w2_c2": _pair_pool(2, 2),
    "pair_w2_c4": _pair_pool(2, 4),
    "pair_w3_c4": _pair_pool(3, 4),
}


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
