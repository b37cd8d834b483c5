"""Score any predictor on labelled cases and write a report a person can read.

The predictor is a callable (cases -> [(intent, confidence)]), so the text model, the fused
multimodal model and the whole Assistant are scored by the same code. Each case is predicted on
its own, as a typed turn is in the app, so the latency figures are per message.

Report folder: metrics.json, predictions.jsonl (id, gold, predicted, confidence),
per_intent.json + per_intent.txt (precision/recall/F1/support and what each intent is confused
with), errors.jsonl, confusion.png.
"""

from __future__ import annotations

import json
import statistics
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from engine.cases.datasets import Case
from engine.types import OUT_OF_SCOPE

Predictor = Callable[[list[Case]], list[tuple[str, float]]]
# Rates on fewer cases than this are held back where models are compared (retraining's
# before/after): one case moves accuracy by 5 points or more, so a difference means nothing.
MIN_SCORED_CASES = 20


def held_back(cases: int) -> str | None:
    """The sentence shown instead of rates measured on too few cases (None: enough cases)."""
    if cases >= MIN_SCORED_CASES:
        return None
    counted = "1 held-out case is" if cases == 1 else f"{cases} held-out cases are"
    return (f"Before/after rates are held back: {counted} too few to compare the models "
            f"(rates are shown from {MIN_SCORED_CASES} cases).")


def model_predictor(model) -> Predictor:
    """Wrap an IntentModel (or anything with `predict(texts)`) as a Predictor."""

    def predict(cases: list[Case]) -> list[tuple[str, float]]:
        return [(p.intent, p.confidence) for p in model.predict([c.text for c in cases])]

    return predict


def evaluate(predictor: Predictor, cases: list[Case], report: Path | None = None,
             warmup: int = 3) -> dict:
    """Predict every case one at a time; return the metrics and write the report if asked."""
    for case in cases[:warmup]:  # first calls pay for lazy init; keep them out of the latency
        predictor([case])
    predictions, latencies = [], []
    for case in cases:
        started = time.perf_counter()
        (intent, confidence), = predictor([case])
        latencies.append((time.perf_counter() - started) * 1000)
        predictions.append({"id": case.id, "gold": case.intent, "predicted": intent,
                            "confidence": round(float(confidence), 4), "text": case.text})
    metrics = score([p["gold"] for p in predictions], [p["predicted"] for p in predictions])
    metrics.update(latency_ms_p50=round(percentile(latencies, 50), 2),
                   latency_ms_p95=round(percentile(latencies, 95), 2))
    if report is not None:
        write_report(Path(report), metrics, predictions)
    return metrics


def unknown_intents(cases: list[Case], labels: list[str]) -> Counter:
    """Gold intents of `cases` the model cannot name (out_of_scope aside), with their counts:
    such cases can only be errors, so `frontdesk eval` warns about them and counts them
    instead of letting them lower the scores silently."""
    known = set(labels) | {OUT_OF_SCOPE}
    return Counter(case.intent for case in cases if case.intent not in known)


def score(gold: list[str], predicted: list[str]) -> dict:
    """Accuracy, macro-F1 over the gold intents, in-scope accuracy, OOS precision and recall."""
    from sklearn.metrics import f1_score

    pairs = list(zip(gold, predicted, strict=True))
    in_scope = [(g, p) for g, p in pairs if g != OUT_OF_SCOPE]
    oos_gold = sum(g == OUT_OF_SCOPE for g in gold)
    oos_pred = sum(p == OUT_OF_SCOPE for p in predicted)
    oos_hit = sum(g == p == OUT_OF_SCOPE for g, p in pairs)
    return {
        "cases": len(pairs),
        "accuracy": round(sum(g == p for g, p in pairs) / max(1, len(pairs)), 4),
        "macro_f1": round(float(f1_score(gold, predicted, labels=sorted(set(gold)),
                                         average="macro", zero_division=0)), 4),
        "in_scope_accuracy": round(sum(g == p for g, p in in_scope) / len(in_scope), 4)
        if in_scope else None,
        "oos_cases": oos_gold,
        "oos_precision": round(oos_hit / oos_pred, 4) if oos_pred else None,
        "oos_recall": round(oos_hit / oos_gold, 4) if oos_gold else None,
    }


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (inclusive method); 0 for no values."""
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def per_intent(predictions: list[dict]) -> dict[str, dict]:
    """Precision, recall, F1, support and the top confusions of every gold or predicted intent."""
    labels = sorted({p["gold"] for p in predictions} | {p["predicted"] for p in predictions})
    table = {}
    for label in labels:
        tp = sum(p["gold"] == p["predicted"] == label for p in predictions)
        n_pred = sum(p["predicted"] == label for p in predictions)
        support = sum(p["gold"] == label for p in predictions)
        precision = tp / n_pred if n_pred else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        confused = Counter(p["predicted"] for p in predictions
                           if p["gold"] == label and p["predicted"] != label)
        table[label] = {"precision": round(precision, 4), "recall": round(recall, 4),
                        "f1": round(f1, 4), "support": support,
                        "confused_with": dict(confused.most_common(3))}
    return table


def write_report(folder: Path, metrics: dict, predictions: list[dict]) -> None:
    """Write every report file into `folder` (created if needed)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    with open(folder / "predictions.jsonl", "w", encoding="utf-8") as handle:
        for p in predictions:
            row = {k: p[k] for k in ("id", "gold", "predicted", "confidence")}
            handle.write(json.dumps(row) + "\n")
    with open(folder / "errors.jsonl", "w", encoding="utf-8") as handle:
        for p in predictions:
            if p["gold"] != p["predicted"]:
                handle.write(json.dumps(p, ensure_ascii=False) + "\n")
    table = per_intent(predictions)
    (folder / "per_intent.json").write_text(json.dumps(table, indent=2) + "\n")
    lines = [f"{'intent':<40} {'prec':>6} {'recall':>6} {'f1':>6} {'n':>5}  confused with"]
    for label, row in table.items():
        confused = ", ".join(f"{k} ({v})" for k, v in row["confused_with"].items())
        lines.append(f"{label:<40} {row['precision']:>6.3f} {row['recall']:>6.3f} "
                     f"{row['f1']:>6.3f} {row['support']:>5}  {confused}")
    (folder / "per_intent.txt").write_text("\n".join(lines) + "\n")
    plot_confusion(folder / "confusion.png", predictions)


def plot_confusion(path: Path, predictions: list[dict]) -> None:
    """Row-normalised confusion matrix (gold rows, predicted columns) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import confusion_matrix

    labels = sorted({p["gold"] for p in predictions} | {p["predicted"] for p in predictions})
    matrix = confusion_matrix([p["gold"] for p in predictions],
                              [p["predicted"] for p in predictions], labels=labels,
                              normalize="true")
    size = max(6.0, 0.22 * len(labels) + 3)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(matrix, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=6)
    ax.set_yticks(range(len(labels)), labels, fontsize=6)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    ax.set_title("confusion (each row sums to 1)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
