"""The messages we score on, as word sets: training text must never copy or nearly copy one.

Our own test messages and every message of frontdesk-eval dev (typed, voice, conversation
turns, screenshot texts). Two texts of 4+ words sharing 65% of their words are the same message
for this purpose."""

from __future__ import annotations

import json
import re
from pathlib import Path

from engine.paths import ASSETS


def words(text: str) -> frozenset[str]:
    """A text's lower-cased words."""
    return frozenset(re.findall(r"[a-z0-9']+", text.lower()))


def near(a: frozenset[str], b: frozenset[str]) -> bool:
    """The two word sets share 65% of their words."""
    return len(a & b) >= 0.65 * len(a | b)


def scored_messages(shared_data: Path) -> set[frozenset[str]]:
    """Word sets of every message (and history turn) of the sets we score on."""
    scored: set[frozenset[str]] = set()
    eval_dir = shared_data / "frontdesk-eval"
    for path in [ASSETS / "evaluation" / "default_eval.jsonl", *sorted(eval_dir.glob("*.jsonl"))]:
        for row in map(json.loads, path.read_text(encoding="utf-8").splitlines()):
            texts = [row.get("text", "")] + [turn["text"] for turn in row.get("history", [])]
            scored |= {words(text) for text in texts}
    return scored
