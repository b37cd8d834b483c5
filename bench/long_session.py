"""Latency of `Assistant.respond` deep into one long session (issue 15.7): flat, or growing?

One session is filled with customer/agent turns (`Store.add_turns_bulk`, each customer turn with
a stored reply, as a desk leaves them) up to each checkpoint; there `--rounds` times: a clear
typed message (text model only), an agent reply, and a vague follow-up that the text model is
unsure of ("still nothing?": the fused model reads the conversation). p50/p95 of both kinds of
turn at each checkpoint, and the ratio of the last checkpoint's p50 to the first's.

    python -m bench long_session [--checkpoints 10 500 2000] [--rounds 15]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch

from bench.assistant import MESSAGES, percentile
from engine.assistant import Assistant
from engine.types import Reply, Turn

FOLLOW_UPS = ["still nothing?", "so?", "any update?", "and?"]
AGENT = "Let me check that for you."


def fill(engine: Assistant, session: int, have: int, upto: int) -> int:
    """Add customer/agent turns to a session of `have` turns until it holds `upto`."""
    items = []
    for i in range(have, upto):
        if i % 2 == 0:
            reply = Reply(intent="track_order", confidence=0.9, level="High",
                          top=[("track_order", 0.9)], model_version="bench")
            items.append((session, Turn(text=MESSAGES[i % len(MESSAGES)]), reply))
        else:
            items.append((session, Turn(text=AGENT, role="agent"), None))
    if items:
        engine.store.add_turns_bulk(items)
    return max(have, upto)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench long_session")
    parser.add_argument("--checkpoints", type=int, nargs="+", default=[10, 500, 2000])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--threads", type=int, default=None)
    args, _ = parser.parse_known_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = []
    with tempfile.TemporaryDirectory() as folder, Assistant(Path(folder)) as engine:
        warm = engine.new_session()
        engine.respond(warm, Turn(text=MESSAGES[0]))
        engine.respond(warm, Turn(text="still nothing?"))  # loads the fused model
        session, have = engine.new_session(), 0
        for checkpoint in args.checkpoints:
            have = fill(engine, session, have, checkpoint)
            typed, vague = [], []
            for r in range(args.rounds):
                start = time.perf_counter()
                engine.respond(session, Turn(text=MESSAGES[r % len(MESSAGES)]))
                typed.append((time.perf_counter() - start) * 1000.0)
                engine.add_turn(session, Turn(text=AGENT, role="agent"))
                start = time.perf_counter()
                engine.respond(session, Turn(text=FOLLOW_UPS[r % len(FOLLOW_UPS)]))
                vague.append((time.perf_counter() - start) * 1000.0)
            have += 3 * args.rounds
            rows.append((checkpoint, typed, vague))
    print(f"one session, {args.rounds} rounds per checkpoint, torch threads "
          f"{torch.get_num_threads()}")
    print(f"{'turn':>6}  {'typed p50':>10} {'typed p95':>10}  {'follow-up p50':>14} "
          f"{'follow-up p95':>14}")
    for checkpoint, typed, vague in rows:
        print(f"{checkpoint:>6}  {statistics.median(typed):8.1f}ms {percentile(typed, 95):8.1f}ms"
              f"  {statistics.median(vague):12.1f}ms {percentile(vague, 95):12.1f}ms")
    first, last = rows[0], rows[-1]
    for name, index in (("typed", 1), ("follow-up", 2)):
        ratio = statistics.median(last[index]) / statistics.median(first[index])
        print(f"{name} p50 at turn {last[0]} / at turn {first[0]}: {ratio:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
