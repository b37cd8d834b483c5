"""Typed-turn latency of `IntentModel.predict` against the raw MiniLM forward, plus accuracy.

Latency, in one run on the same messages (assets/evaluation/default_eval.jsonl, one at a time, after
warm-up): the raw transformers forward of all-MiniLM-L6-v2 from its wheel (tokenize + forward +
mean pooling, batch of one) and the intent model's whole `predict`. Goal: predict p50 <= 15 ms.

Accuracy figures are read from saved eval reports (bench/reports/*/metrics.json), which
`--refresh` rewrites with `frontdesk eval`'s code: Bitext held-out split, our own messages,
unseen Banking77 OOS intents. Banking77's report comes from a model trained by
`frontdesk train` (see README); it is not shipped, so it is only read here.

    python -m bench.intent [--threads N] [--refresh] [--model DIR]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

from engine.cases.datasets import read_cases
from engine.learning.evaluate import percentile
from engine.nlu import encoder as text_encoder
from engine.nlu.intent import IntentModel

ROOT = Path(__file__).resolve().parent.parent
REPORTS = ROOT / "bench" / "reports"
EVAL_SET = ROOT / "assets" / "evaluation" / "default_eval.jsonl"
SHARED = ROOT.parent / "shared" / "data"


def time_each(fn, texts: list[str], warmup: int = 10) -> list[float]:
    """Milliseconds per call of fn([text]) for every text, after `warmup` calls."""
    for text in texts[:warmup]:
        fn([text])
    out = []
    for text in texts:
        started = time.perf_counter()
        fn([text])
        out.append((time.perf_counter() - started) * 1000)
    return out


def raw_minilm():
    """The library underneath: tokenizer + AutoModel forward + mean pooling, nothing of ours."""
    tokenizer, model = text_encoder.load_tokenizer(), text_encoder.load_encoder()

    @torch.inference_mode()
    def forward(texts: list[str]) -> torch.Tensor:
        batch = tokenizer(texts, truncation=True, max_length=64, return_tensors="pt")
        hidden = model(**batch).last_hidden_state
        return text_encoder.mean_pool(hidden, batch["attention_mask"])

    return forward


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="intent model latency and accuracy")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: as is)")
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--refresh", action="store_true", help="re-run the default-model evals")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    texts = [case.text for case in read_cases(EVAL_SET)]
    model = IntentModel.load(args.model)
    raw = time_each(raw_minilm(), texts)
    ours = time_each(model.predict, texts)
    print(f"typed-turn latency over {len(texts)} messages, torch threads "
          f"{torch.get_num_threads()}:")
    for name, values in (("raw MiniLM forward", raw), ("IntentModel.predict", ours)):
        print(f"  {name:<22} p50 {statistics.median(values):6.2f} ms   "
              f"p95 {percentile(values, 95):6.2f} ms")
    print(f"  ratio predict/raw      p50 {statistics.median(ours) / statistics.median(raw):.2f}x")
    if args.refresh:
        from engine.recipes.default_model import evaluate_default, write_card

        write_card(model, evaluate_default(model, SHARED, REPORTS))
    for metrics_file in sorted(REPORTS.glob("*/metrics.json")):
        metrics = json.loads(metrics_file.read_text())
        shown = ", ".join(f"{key} {metrics.get(key)}" for key in
                          ("cases", "accuracy", "macro_f1", "oos_precision", "oos_recall"))
        print(f"  {metrics_file.parent.name:<24} {shown}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
