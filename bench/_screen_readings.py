"""The readings `python -m bench screenshots` compares: each variant turns the collected readings
of a set (message, OCR lines and boxes, the fused model's probabilities) into one answer a case.
Kept apart from the benchmark's collection and printing (bench/screenshots.py)."""

from __future__ import annotations

from collections.abc import Callable

import torch

from engine.types import OUT_OF_SCOPE


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
                 by_rank: bool = False, distinct: bool = False):
    """Message + the k lines the text model is surest are in scope, one text (`distinct`: a
    line repeated on the screen counts once, at its first place)."""
    def run(probs: Probs, rows, raw: bool = False):
        model = probs.model
        oos_i = model.labels.index(OUT_OF_SCOPE)
        texts = []
        for r in rows:
            lines = [line for line in r["lines"] if len(line.split()) >= min_words]
            if distinct:
                lines = list(dict.fromkeys(lines))
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


def _shipped(key: str = "fused_p"):
    """engine.fusion.screen_reading.read_screen itself, as the Assistant calls it, with the
    fused model's probabilities under `key` (fused_tuned_p: the --tuned candidate)."""
    def run(probs: Probs, rows):
        from engine.fusion.screen_reading import read_screen
        from engine.vision.ocr import OcrBlock, Screenshot

        if key not in rows[0]:
            return ["-"] * len(rows)
        out = []
        for r in rows:
            blocks = tuple(OcrBlock(t, tuple(b), 1.0) for t, b in zip(r["lines"], r["boxes"],
                                                                         strict=True))
            shot = Screenshot("0" * 64, 1000, 1000, blocks, "\n".join(r["lines"]))
            read = read_screen(probs.model, r["text"], [(1, shot)], r[key], fused_sure=0.4)
            out.append(read.prediction.intent if read else max(r[key], key=r[key].get))
        return out
    return run


def _rows_answer(key: str):
    return lambda probs, rows: [r[key] for r in rows]


VARIANTS: dict[str, Callable] = {
    "assistant": _rows_answer("assistant"),
    "read_screen (shipped)": _shipped(),
    "read_screen (candidate)": _shipped("fused_tuned_p"),
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
    "poe_rank6_w2_textoos_f04_distinct": _with_fused(_ranked_join(6, 2, distinct=True),
                                                     text_oos=0.4),
    "poe_rank6_w2_textoos_f04_distinct_cand": _with_fused(_ranked_join(6, 2, distinct=True),
                                                          "fused_tuned_p", text_oos=0.4),
    "poe_rank6_w2_textoos_f04_cand": _with_fused(_ranked_join(6, 2), "fused_tuned_p",
                                                 text_oos=0.4),
    **{f"poe_rank6_w2_textoos_f04{'_cand' if key != 'fused_p' else ''}_fw{w}":
       _with_fused(_ranked_join(6, 2), key, fused_weight=w, text_oos=0.4)
       for key in ("fused_p", "fused_tuned_p") for w in (0.25, 0.5, 0.75)},
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
