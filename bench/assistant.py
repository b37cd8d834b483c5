"""Latency of `Assistant.respond` for a typed turn, against the raw MiniLM forward under it.

In the same run and on the same messages: the full path (store the turn, predict, entities from
the conversation, draft, store the reply), the intent model's `predict` alone, and the raw
transformers forward of all-MiniLM-L6-v2 from its wheel (one sentence, batch of one). Goal:
respond p50 <= 20 ms on a 2-core CPU after warm-up.

    python -m bench.assistant [--turns 200] [--model DIR] [--threads N]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch

from engine.assistant import Assistant
from engine.nlu.entities import extract
from engine.types import Turn

MESSAGES = [
    "hi, I need to cancel order #48213, I bought the wrong size",
    "where is my parcel? tracking 1Z999AA10123456784 hasn't moved since monday",
    "forgot my password, send the reset link to jo.bloggs@mail.com please",
    "you charged my visa ending in 4242 twice, $49.99 each time!!",
    "can i pay with paypal or only cards",
    "how long does express delivery take to Glasgow",
    "I want to speak to a real person not a bot",
    "the app keeps saying error E-4012 when I try to pay",
    "please send me the invoice for order ORD-99812",
    "what's your refund policy for opened items",
    "can I change the address on my order, I'm moving next week",
    "my refund of 25 euros still hasn't shown up, it was approved on March 3rd",
    "how do I unsubscribe from your emails",
    "is there a fee if I cancel my annual plan early?",
    "the jacket arrived torn and nobody answers my emails, this is unacceptable",
    "I'd like to leave a review for the kettle",
]


# follow-ups after the agent asked something (engine.nlu.acts reads them as replies: the joined
# turns are read, never the message alone), and vague ones the customer sends unasked (requests
# that do not stand alone: the message alone and the joined turns are both read)
REPLIES = ["yes please", "4471", "ok go ahead", "the blue one", "no thanks",
           "its under sam@example.net", "yes", "R-2201"]
VAGUE = ["any news?", "and how long would that take", "is that normal?", "so what now",
         "still nothing", "what about the other one"]
ASKED = "Sure, could you confirm that for me?"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def timed(call, rounds: int) -> list[float]:
    """Milliseconds of `call(i)` for i in range(rounds)."""
    out = []
    for i in range(rounds):
        start = time.perf_counter()
        call(i)
        out.append((time.perf_counter() - start) * 1000.0)
    return out


def report(name: str, values: list[float], reference: float | None = None) -> float:
    p50, p95 = statistics.median(values), percentile(values, 95)
    ratio = f"  {p50 / reference:5.2f}x raw MiniLM" if reference else ""
    print(f"{name:<34} p50 {p50:7.2f} ms   p95 {p95:7.2f} ms{ratio}")
    return p50


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.assistant")
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--model", type=Path, default=None, help="model folder (default shipped)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default torch's)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as folder, Assistant(Path(folder), args.model) as engine:
        model = engine.model
        tokenizer, bert = model.tokenizer, model.bert
        warm = 20
        for message in MESSAGES[:warm]:  # warm-up: first calls allocate and compile kernels
            engine.respond(engine.new_session(), Turn(text=message))

        def raw_forward(i: int) -> None:
            batch = tokenizer([MESSAGES[i % len(MESSAGES)]], return_tensors="pt",
                              truncation=True, max_length=model.config.max_length)
            with torch.inference_mode():
                bert(**batch)

        sessions = [engine.new_session() for _ in range(args.turns // 8 + 1)]

        def respond(i: int) -> None:  # 8 turns a session, so history grows as in real chats
            engine.respond(sessions[i // 8], Turn(text=MESSAGES[i % len(MESSAGES)]))

        def follow_up(texts: list[str], asked: bool):
            chats = [engine.new_session() for _ in range(args.turns // 8 + 1)]

            def send(i: int) -> None:  # a request, then 7 follow-ups
                chat = chats[i // 8]
                if i % 8 == 0:
                    engine.respond(chat, Turn(text=MESSAGES[i % len(MESSAGES)]))
                    return
                if asked:
                    engine.add_turn(chat, Turn(text=ASKED, role="agent"))
                engine.respond(chat, Turn(text=texts[i % len(texts)]))
            return send

        store_only = [engine.store.new_session() for _ in range(args.turns // 8 + 1)]
        reply = engine.respond(sessions[-1], Turn(text=MESSAGES[0]))

        def store_path(i: int) -> None:  # the writes and the history read respond does
            turn = Turn(text=MESSAGES[i % len(MESSAGES)])
            turn_id = engine.store.add_turn(store_only[i // 8], turn)
            engine.store.turns(store_only[i // 8])
            engine.store.add_reply(turn_id, reply)

        raw = timed(raw_forward, args.turns)
        predict = timed(lambda i: model.predict([MESSAGES[i % len(MESSAGES)]]), args.turns)
        entities = timed(lambda i: extract(MESSAGES[i % len(MESSAGES)]), args.turns)
        writes = timed(store_path, args.turns)
        full = timed(respond, args.turns)
        replies = [t for i, t in enumerate(timed(follow_up(REPLIES, True), args.turns)) if i % 8]
        vague = [t for i, t in enumerate(timed(follow_up(VAGUE, False), args.turns)) if i % 8]
        print(f"{args.turns} typed turns, torch threads {torch.get_num_threads()}, "
              f"model {model.version}")
        reference = report("raw MiniLM forward (transformers)", raw)
        report("IntentModel.predict", predict, reference)
        report("entities.extract", entities)
        report("store: turn + history + reply", writes)
        p50 = report("Assistant.respond (store+all)", full, reference)
        print(f"goal respond p50 <= 20 ms: {'met' if p50 <= 20 else 'NOT met'}")
        report("respond: replies to the agent", replies, reference)
        report("respond: vague follow-ups, unasked", vague, reference)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
