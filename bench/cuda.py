"""The GPU check of issue 4: the same answers on CUDA as on the CPU, and the batch throughput.

One prepared run for a machine with a GPU (each part prints its figures):
1. text model (the shipped default) on assets/evaluation/default_eval.jsonl: predictions that agree,
   largest probability difference;
2. fused model on the 270 held-out synthetic cases (engine.fusion.synthetic, frozen MiniLM packed on
   each device): accuracy on each device, agreement, largest probability difference;
3. batch throughput: fused forwards over batches of 64 cases, and the frozen MiniLM over every
   distinct text of the 270 cases (texts/s), CPU vs CUDA;
4. a screenshot turn through `Assistant.respond` on each device: the same intent.
Without CUDA (or with `--device cpu`) it runs the CPU against itself, which checks the script.
Whisper on CUDA is `python -m bench.speech --device cuda`.

    python -m bench.cuda [--device cuda] [--cases 270]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
EVAL_SET = ROOT / "assets" / "evaluation" / "default_eval.jsonl"
SCREENSHOT = DATA / "screenshots" / "abcd_ui" / "customer_site.png"


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def text_model(device: str) -> None:
    from engine.cases.datasets import read_cases
    from engine.nlu.intent import IntentModel

    texts = [case.text for case in read_cases(EVAL_SET)]
    cpu, other = IntentModel.load(None, "cpu"), IntentModel.load(None, device)
    a, b = cpu.probabilities(texts), other.probabilities(texts).float().cpu()
    agree = (a.argmax(-1) == b.argmax(-1)).float().mean().item()
    print(f"text model, {len(texts)} messages: predictions agree {agree:.4f}, "
          f"largest probability difference {(a - b).abs().max().item():.2e}")


def fused_model(device: str, cases: int) -> None:
    from engine.fusion.frozen_text import FrozenText
    from engine.fusion.model import FusedModel
    from engine.fusion.reader import DEFAULT_FOLDER
    from engine.fusion.train import build_sets, collate, on_device, predict, prepare

    _, test = build_sets(DATA, 8, 12)
    test = test[:cases]
    results = {}
    for name in dict.fromkeys(("cpu", device)):  # the CPU once when it is the device too
        model = FusedModel.load(DEFAULT_FOLDER, device=name)
        text = FrozenText(device=name)
        items = prepare(test, model.labels, text, "full", seed=1)
        predicted, _ = predict(model, items)
        texts = [key[0] for key in text._memo]  # every distinct text prepare encoded
        text._memo.clear()
        sync(name)
        start = time.perf_counter()
        text.states(texts)
        sync(name)
        encode = len(texts) / (time.perf_counter() - start)
        batches = [on_device(torch.device(name), collate(items[i : i + 64], model.config))
                   for i in range(0, len(items), 64)]
        with torch.inference_mode():
            for batch in batches[:1]:
                model(*batch[:4])  # warm-up
            sync(name)
            start = time.perf_counter()
            logits = [model(*batch[:4]).logits.float().cpu() for batch in batches]
            sync(name)
        forward = len(items) / (time.perf_counter() - start)
        probs = torch.softmax(torch.cat(logits), -1)
        correct = sum(p == item.label for p, item in zip(predicted, items, strict=True))
        results[name] = (predicted, probs)
        print(f"fused model on {name}: accuracy {correct / len(items):.4f} on {len(items)} "
              f"cases; {forward:.0f} cases/s in batches of 64; MiniLM {encode:.0f} texts/s "
              f"({len(texts)} texts, packed)")
    (pa, qa), (pb, qb) = results["cpu"], results[device]
    agree = sum(x == y for x, y in zip(pa, pb, strict=True)) / len(pa)
    print(f"fused model cpu vs {device}: predictions agree {agree:.4f}, largest probability "
          f"difference {(qa - qb).abs().max().item():.2e}")


def screenshot_turn(device: str) -> None:
    from engine.assistant import Assistant
    from engine.types import Turn

    intents = {}
    for name in dict.fromkeys(("cpu", device)):
        with tempfile.TemporaryDirectory() as home, Assistant(Path(home), device=name) as engine:
            engine.respond(engine.new_session(), Turn(text="see attached", images=[SCREENSHOT]))
            start = time.perf_counter()
            reply = engine.respond(engine.new_session(),
                                   Turn(text="what is wrong here?", images=[SCREENSHOT]))
            intents[name] = reply.intent
            print(f"screenshot turn on {name}: {reply.intent} ({reply.confidence:.3f}), "
                  f"{(time.perf_counter() - start) * 1000:.0f} ms with the reading cached")
    print(f"screenshot turn: same intent on both: {intents['cpu'] == intents[device]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cuda")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--cases", type=int, default=270)
    args = parser.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("no CUDA device here: run with --device cpu to check the script")
        return 1
    if args.device.startswith("cuda"):
        print(f"device: {torch.cuda.get_device_name(0)}, torch {torch.__version__}")
    else:
        print("no CUDA device: the CPU against itself")
    text_model(args.device)
    fused_model(args.device, args.cases)
    screenshot_turn(args.device)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
