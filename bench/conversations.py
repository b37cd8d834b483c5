"""Conversations through the product, and the views of them the text model could read (#13).

On frontdesk-eval's conversations (dev: for measuring and choosing, never for training), each
case is one session in a fresh data folder: its earlier turns stored, its last message sent
through `Assistant.respond` (the product path, as `frontdesk eval` scores it). Beside the
product's answer, the same text model (the shipped one unless `--model`) reads other views:

  product     what `respond` answered (the shipped gate)
  no-acts     the same with the dialogue-act head off (engine.nlu.acts): a detail's words read too
  conv-model  the conversation model's own answer (reply evidence "fused"), whatever the gate
  last        the text model on the last message alone
  joined-cust the text model on the customer's turns joined, newest last, cut from the left
  joined      the same over the customer's and the agent's turns (engine.nlu.joined)
  recency-D   per-turn text-model probabilities summed with weight D ** age (newest 1)
  joined+oos  joined, unless the conversation model says out_of_scope with p >= --oos

Printed: accuracy n/N and out_of_scope right n/N per view; results.json under --report.

    python -m bench conversations [--file conversations.jsonl | --written] [--oos 0.7]
                                  [--joined-tokens 48] [--conversation-model DIR]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from engine.assistant import Assistant
from engine.cases.datasets import read_cases
from engine.fusion import reader
from engine.fusion.pools import written_conversations
from engine.nlu import joined as joined_reading
from engine.nlu.intent import IntentModel
from engine.nlu.joined import joined_probabilities
from engine.paths import SHARED_DATA
from engine.types import OUT_OF_SCOPE, SPEAKERS, Turn

DATA = SHARED_DATA
FILE = DATA / "frontdesk-eval" / "conversations.jsonl"
REPORT = Path(__file__).resolve().parent / "reports" / "conversations"
DECAYS = (0.5, 0.9)


def spoken_turns(case) -> list[tuple[str, str]]:
    """(role, text) of the case's earlier customer/agent turns and its own message, in order."""
    turns = [(m.role, m.text) for m in case.history]  # engine.types.Message
    return [(r, t) for r, t in turns if r in SPEAKERS and t.strip()] + [("customer", case.text)]


def product_answers(cases, model: IntentModel, acts: bool = True) -> list[dict]:
    """Each case through a fresh session of the whole Assistant: its answer and who gave it
    (`acts` False: with the dialogue-act head switched off, a detail's own words read too)."""
    out = []
    with tempfile.TemporaryDirectory() as home, Assistant(Path(home), model=model) as engine:
        if not acts:
            engine.multimodal.acts = None
        for case in cases:
            session = engine.new_session(channel="eval", title=case.id or None)
            for role, text in spoken_turns(case)[:-1]:
                engine.add_turn(session, Turn(text=text, role=role))
            reply = engine.respond(session, Turn(text=case.text))
            fused = reply.evidence.fused  # engine.types.Evidence
            out.append({"id": case.id, "intent": case.intent, "product": reply.intent,
                        "model": reply.evidence.model or "text",
                        "conv-model": fused.intent if fused else None,
                        "conv-confidence": fused.confidence if fused else None})
    return out


def text_views(cases, model: IntentModel) -> dict[str, list[str]]:
    """The text model's answer on each view of each case."""
    decide = model.decide
    views: dict[str, list[str]] = {}
    views["last"] = [p.intent for p in model.predict([case.text for case in cases])]
    customer = [[t for r, t in spoken_turns(case) if r == "customer"] for case in cases]
    both = [[t for _, t in spoken_turns(case)] for case in cases]
    views["joined-cust"] = [decide(p).intent for p in joined_probabilities(model, customer)]
    views["joined"] = [decide(p).intent for p in joined_probabilities(model, both)]
    for decay in DECAYS:
        answers = []
        for texts in both:
            probs = model.probabilities(texts)
            weights = decay ** torch.arange(len(texts) - 1, -1, -1, dtype=torch.float32)
            combined = (weights[:, None] * probs).sum(0)
            answers.append(decide(combined / combined.sum()).intent)
        views[f"recency-{decay}"] = answers
    return views


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench conversations")
    parser.add_argument("--file", type=Path, default=FILE)
    parser.add_argument("--model", type=Path, default=None, help="text model folder")
    parser.add_argument("--oos", type=float, default=0.7,
                        help="joined+oos: the conversation model's out_of_scope at p >= this")
    parser.add_argument("--joined-tokens", type=int, default=joined_reading.JOINED_TOKENS,
                        help="tokens of the joined turns the text model reads")
    parser.add_argument("--conversation-model", type=Path, default=None,
                        help="conversation model folder (default: the shipped one)")
    parser.add_argument("--written", action="store_true",
                        help="our written chats' held-out side (engine.fusion.pools."
                        "written_conversations('test'): a smoke test, we wrote them) instead of "
                        "--file")
    parser.add_argument("--report", type=Path, default=REPORT)
    args, _ = parser.parse_known_args(argv)
    joined_reading.JOINED_TOKENS = args.joined_tokens  # the product path reads it at each turn
    if args.conversation_model is not None:  # the Assistant's reader takes it when it is built
        reader.CONVERSATION_FOLDER = args.conversation_model
    if not args.written and not args.file.is_file():
        print(f"{args.file} not found; nothing measured.")
        return 0
    torch.set_num_threads(1)
    started = time.perf_counter()
    cases = [case for case in (written_conversations("test") if args.written
                               else read_cases(args.file)) if case.history]
    model = IntentModel.load(args.model)
    rows = product_answers(cases, model)
    views = {"product": [r["product"] for r in rows],
             "no-acts": [r["product"] for r in product_answers(cases, model, acts=False)],
             "conv-model": [r["conv-model"] for r in rows]}
    views.update(text_views(cases, model))
    views["joined+oos"] = [
        OUT_OF_SCOPE if r["conv-model"] == OUT_OF_SCOPE and r["conv-confidence"] >= args.oos
        else joined for r, joined in zip(rows, views["joined"], strict=True)]
    gold = [case.intent for case in cases]
    oos = [i for i, g in enumerate(gold) if g == OUT_OF_SCOPE]
    results = {}
    for name, answers in views.items():
        right = sum(a == g for a, g in zip(answers, gold, strict=True))
        right_oos = sum(answers[i] == OUT_OF_SCOPE for i in oos)
        results[name] = {"accuracy": round(right / len(gold), 4), "right": right,
                         "cases": len(gold), "out_of_scope_right": right_oos,
                         "out_of_scope_cases": len(oos)}
        print(f"{name:<12} {right:>3}/{len(gold)}  {right / len(gold):.3f}   "
              f"out_of_scope {right_oos}/{len(oos)}")
    print(f"({time.perf_counter() - started:.0f} s; text model {model.version}, joined turns "
          f"read to {joined_reading.JOINED_TOKENS} tokens)")
    args.report.mkdir(parents=True, exist_ok=True)
    for i, row in enumerate(rows):
        row.update({name: answers[i] for name, answers in views.items()})
    (args.report / "results.json").write_text(json.dumps(
        {"file": "written chats, held out" if args.written else args.file.name,
         "text_model": model.version, "oos": args.oos,
         "joined_tokens": joined_reading.JOINED_TOKENS,
         "results": results}, indent=2))
    (args.report / "predictions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
