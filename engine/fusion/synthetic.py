"""Synthetic screenshot and multi-turn cases for training and measuring the fused model.

No public customer-service set has screenshots or multi-turn intents with labels, so we build
them from Bitext (../shared/data/bitext, CDLA-Sharing 1.0; all cases are marked synthetic).

Exactly how:
- Source text: `bitext_8k_customer_service_sample.csv` only (27 intents, never mixed with the
  other Bitext files, which overlap it). Each utterance goes to the test pool when the first 8
  hex digits of sha1(lower-cased, whitespace-collapsed utterance) mod 5 == 0, else to the train
  pool: about 20% test, stable whatever the row order, and identical utterances always land in
  the same pool. Training cases only use train-pool utterances; test cases only test-pool ones.
- Screenshot cases: the typed message is vague ("what does this mean?") or names only the
  category ("it's about my order"); the intent is on the image. Half the images show an
  utterance as the customer's own chat/email/form message, half show intent-specific UI text we
  wrote (error dialogs, order pages, payment screens, refund status, invoices...) filled with
  random order numbers, amounts, error codes, dates and e-mails, drawn by
  engine.vision.render.render_screen. The test split also uses DejaVu Serif, a face training
  never sees. `varied=True` draws them as customers' screens instead (engine.vision.
  render_styles: phone and desktop apps, dark themes, marks, crops, JPEG; seeds of their own,
  DejaVu Serif faces for the test split only).
- Conversation cases: 3-7 turns. The last customer turn is vague ("still nothing?") and the
  intent sits in an earlier customer turn, with agent turns and entity turns ("it's order
  1234567") between; in a third of them an earlier, finished topic with another intent comes
  first (so plain concatenation is misleading); in a quarter the last turn carries its own
  intent (so "always look back" is wrong).
- Seeds: every case is drawn from random.Random(f"{split}:{kind}:{seed}:{index}"); the same
  arguments always give the same cases.
- `truth_blocks` are the strings drawn and their boxes (what perfect OCR would read); training
  may use them (with `ocr_noise`) to avoid OCR cost, tests of the whole path run real OCR.
"""

from __future__ import annotations

import csv
import json
import random
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from engine.fusion.chat_text import (
    AGENT_GREETINGS,
    AGENT_TURNS,
    CATEGORY_HINTS,
    CLOSERS,
    ENTITY_TURNS,
    OPENERS,
    SHORT_YES,
    VAGUE_FOLLOW_UPS,
    VAGUE_WITH_IMAGE,
)
from engine.fusion.pools import (
    BITEXT_FILE,
    agent_offers,
    colloquial_pool,
    human_pools,
    load_pools,
    written_pool,
)
from engine.types import OUT_OF_SCOPE
from engine.vision.ocr import OcrBlock
from engine.vision.render import (
    TEST_ONLY_FONTS,
    TRAIN_FONTS,
    RenderedScreen,
    render_screen,
    screen_values,
)
from engine.vision.render_styles import VARIED_TEST_FONTS, VARIED_TRAIN_FONTS, render_varied


@dataclass
class SyntheticTurn:
    role: str
    text: str
    screen: RenderedScreen | None = None


@dataclass
class SyntheticCase:
    """One labelled case: the last turn is the one to answer."""

    id: str
    intent: str
    kind: str  # screenshot | conversation
    turns: list[SyntheticTurn] = field(default_factory=list)
    note: str = ""  # which variant (for per-variant scores)
    intent_turn: int = -1  # index of the turn that states the intent (evidence should find it)



@lru_cache(maxsize=1)
def intent_categories(data_dir: Path) -> dict[str, str]:
    with open(Path(data_dir) / BITEXT_FILE, encoding="utf-8-sig", newline="") as handle:
        return {row["intent"]: row["category"] for row in csv.DictReader(handle)}


def labels(data_dir: Path) -> list[str]:
    """The 27 Bitext intents, sorted."""
    return sorted(load_pools(Path(data_dir))["train"])


def _fonts(split: str) -> tuple[str, ...]:
    return TRAIN_FONTS + TEST_ONLY_FONTS if split == "test" else TRAIN_FONTS


def _rng(split: str, kind: str, seed: int, index: int) -> random.Random:
    return random.Random(f"{split}:{kind}:{seed}:{index}")


def screenshot_cases(
    data_dir: Path, split: str, count: int, seed: int = 0, varied: bool = False
) -> list[SyntheticCase]:
    """Cases whose intent is on the screenshot, not in the typed text; `varied`: drawn by
    engine.vision.render_styles (apps, themes, marks, crops; its own seeds and fonts)."""
    pools = load_pools(Path(data_dir))[split]
    categories = intent_categories(Path(data_dir))
    names = sorted(pools)
    cases = []
    for index in range(count):
        rng = _rng(split, "varied" if varied else "screenshot", seed, index)
        intent = names[index % len(names)]
        shows_message = rng.random() < 0.5
        utterance = rng.choice(pools[intent]) if shows_message else None
        screen = (render_varied(rng, intent, utterance, VARIED_TRAIN_FONTS + (
            VARIED_TEST_FONTS if split == "test" else ())) if varied
            else render_screen(rng, intent, utterance, _fonts(split)))
        hinted = rng.random() < 0.5
        typed = rng.choice(CATEGORY_HINTS[categories[intent]] if hinted else VAGUE_WITH_IMAGE)
        note = f"{'message' if shows_message else 'ui'}-{'hint' if hinted else 'vague'}"
        cases.append(SyntheticCase(f"{split}-{'varied' if varied else 'shot'}-{seed}-{index}",
                                   intent, "screenshot",
                                   [SyntheticTurn("customer", typed, screen)], note, 0))
    return cases


def conversation_cases(
    data_dir: Path, split: str, count: int, seed: int = 0
) -> list[SyntheticCase]:
    """Multi-turn cases whose intent was stated in an earlier customer turn."""
    pools = load_pools(Path(data_dir))[split]
    names = sorted(pools)
    cases = []
    for index in range(count):
        rng = _rng(split, "conversation", seed, index)
        intent = names[index % len(names)]
        values = screen_values(rng)
        turns: list[SyntheticTurn] = []
        variant = rng.choices(["carry", "switch", "own"], weights=[0.42, 0.33, 0.25])[0]
        if variant == "switch":  # an earlier, finished topic with another intent
            other = rng.choice([n for n in names if n != intent])
            turns += [SyntheticTurn("customer", rng.choice(pools[other])),
                      SyntheticTurn("agent", rng.choice(AGENT_TURNS)),
                      SyntheticTurn("customer", rng.choice(CLOSERS)),
                      SyntheticTurn("agent", rng.choice(AGENT_TURNS))]
        if variant == "own":  # small talk first, the intent in the last turn itself
            turns += [SyntheticTurn("customer", rng.choice(pools[rng.choice(names)])),
                      SyntheticTurn("agent", rng.choice(AGENT_TURNS))]
            turns.append(SyntheticTurn("customer", rng.choice(pools[intent])))
        else:
            turns.append(SyntheticTurn("customer", rng.choice(pools[intent])))
            for _ in range(rng.randint(0, 2)):
                turns.append(SyntheticTurn("agent", rng.choice(AGENT_TURNS)))
                turns.append(SyntheticTurn("customer", rng.choice(ENTITY_TURNS).format(**values)))
            turns.append(SyntheticTurn("agent", rng.choice(AGENT_TURNS)))
            turns.append(SyntheticTurn("customer", rng.choice(VAGUE_FOLLOW_UPS)))
        stated = len(turns) - 1 if variant == "own" else (4 if variant == "switch" else 0)
        cases.append(SyntheticCase(f"{split}-conv-{seed}-{index}", intent, "conversation",
                                   turns, variant, stated))
    return cases


CONVERSATION_WEIGHTS = {"carry": 0.27, "offer": 0.22, "switch": 0.18, "own": 0.15, "oos": 0.18}
WRITTEN_SHARE = 0.3  # of training statements drawn from our written lines (`written_pool`)
def human_conversation_cases(
    data_dir: Path, split: str, count: int, seed: int = 0
) -> list[SyntheticCase]:
    """Multi-turn cases with the structure of human chats, 27 intents + out_of_scope.

    Variants (CONVERSATION_WEIGHTS): `carry` (intent stated, then human follow-ups: MultiDoGO's
    detail turns and confirmations, entity turns, vague nudges); `offer` (the agent's question
    carries the intent and the customer only says yes or gives a detail, after a greeting,
    another topic or an out-of-scope remark); `switch` (a first topic, then a new one stated,
    maybe followed up); `own` (the last turn says its intent itself); `oos` (out of scope at the
    end: after chit-chat, after a finished or unfinished shop topic, or a nudge after an
    off-topic question), so the model itself says out_of_scope instead of carrying an intent.
    """
    pools = load_pools(Path(data_dir))[split]
    loose = colloquial_pool(Path(data_dir)) if split == "train" else {}
    written = written_pool(Path(data_dir)) if split == "train" else {}
    human = human_pools(Path(data_dir), split)
    offers = agent_offers()
    names = sorted(pools)
    cases = []
    for index in range(count):
        rng = _rng(split, "human", seed, index)
        values = screen_values(rng)
        variant = rng.choices(list(CONVERSATION_WEIGHTS), list(CONVERSATION_WEIGHTS.values()))[0]
        intent = OUT_OF_SCOPE if variant == "oos" else names[index % len(names)]
        other = rng.choice([n for n in names if n != intent])

        def say(pool: str, rng=rng) -> SyntheticTurn:
            return SyntheticTurn("customer", rng.choice(human[pool]))

        def detail(rng=rng, values=values) -> SyntheticTurn:
            if rng.random() < 0.5:
                return say("contentonly")
            return SyntheticTurn("customer", rng.choice(ENTITY_TURNS).format(**values))

        def state(name: str, rng=rng) -> SyntheticTurn:
            pick = rng.random()
            if written.get(name) and pick < WRITTEN_SHARE:
                return SyntheticTurn("customer", rng.choice(written[name]))
            if loose.get(name) and pick < 0.5 + WRITTEN_SHARE / 2:
                return SyntheticTurn("customer", rng.choice(loose[name]))
            return SyntheticTurn("customer", rng.choice(pools[name]))

        def offer(name: str, rng=rng) -> SyntheticTurn:
            lead = rng.choice(AGENT_TURNS) + " " if rng.random() < 0.3 else ""
            return SyntheticTurn("agent", lead + rng.choice(offers[name]))

        def nudge(rng=rng) -> SyntheticTurn:
            pick = rng.random()
            if pick < 0.4:
                return SyntheticTurn("customer", rng.choice(VAGUE_FOLLOW_UPS))
            return say("confirmation") if pick < 0.6 else detail()

        turns: list[SyntheticTurn] = []
        if rng.random() < 0.4:
            turns += [SyntheticTurn("customer", rng.choice(OPENERS)),
                      SyntheticTurn("agent", rng.choice(AGENT_GREETINGS))]
        elif rng.random() < 0.3:
            turns.append(SyntheticTurn("agent", rng.choice(AGENT_GREETINGS)))
        if variant in ("carry", "own") and rng.random() < 0.2:  # chit-chat before the topic
            turns += [say(OUT_OF_SCOPE), SyntheticTurn("agent", rng.choice(AGENT_TURNS))]
        if variant == "switch":
            turns += [state(other),
                      SyntheticTurn("agent", rng.choice(AGENT_TURNS))]
            if rng.random() < 0.5:
                turns.append(rng.choice([detail(), SyntheticTurn("customer",
                                                                  rng.choice(CLOSERS))]))
                turns.append(SyntheticTurn("agent", rng.choice(AGENT_TURNS)))
        if variant in ("carry", "switch"):
            stated = len(turns)
            turns.append(state(intent))
            for _ in range(rng.randint(0, 2)):
                turns += [SyntheticTurn("agent", rng.choice(AGENT_TURNS)), detail()]
            if variant == "carry" or rng.random() < 0.6:
                turns += [SyntheticTurn("agent", rng.choice(AGENT_TURNS)), nudge()]
        elif variant == "offer":
            opener = rng.random()
            if opener < 0.5:
                turns.append(state(other))
            elif opener < 0.7:
                turns.append(say(OUT_OF_SCOPE))
            stated = len(turns)
            turns.append(offer(intent))
            turns.append(SyntheticTurn("customer", rng.choice(SHORT_YES))
                         if rng.random() < 0.6 else say("confirmation")
                         if rng.random() < 0.5 else detail())
        elif variant == "own":
            if rng.random() < 0.6:
                turns += [state(other),
                          SyntheticTurn("agent", rng.choice(AGENT_TURNS))]
            stated = len(turns)
            turns.append(state(intent))
        else:  # oos
            kind = rng.random()
            if kind < 0.35:  # an earlier shop topic, finished or not, then off topic
                turns += [state(other),
                          SyntheticTurn("agent", rng.choice(AGENT_TURNS))]
                if rng.random() < 0.5:
                    turns += [SyntheticTurn("customer", rng.choice(CLOSERS)),
                              SyntheticTurn("agent", rng.choice(AGENT_TURNS))]
            elif kind < 0.7:  # chit-chat, then more of it
                turns += [say(OUT_OF_SCOPE), SyntheticTurn("agent", rng.choice(AGENT_TURNS))]
            stated = len(turns)
            turns.append(say(OUT_OF_SCOPE))
            if kind >= 0.85:  # off topic, then a nudge: still nothing in scope to carry
                turns += [SyntheticTurn("agent", rng.choice(AGENT_TURNS)), nudge()]
        cases.append(SyntheticCase(f"{split}-human-{seed}-{index}", intent, "conversation",
                                   turns, variant, stated))
    return cases


def ocr_noise(rng: random.Random, blocks: list[OcrBlock], rate: float = 0.03) -> list[OcrBlock]:
    """Truth blocks with OCR-like slips (dropped, swapped, confused characters)."""
    confusions = {"0": "O", "O": "0", "1": "l", "l": "1", "5": "S", "e": "c", "rn": "m"}
    out = []
    for block in blocks:
        chars = list(block.text)
        for i, char in enumerate(chars):
            if rng.random() < rate:
                chars[i] = confusions.get(char, "" if rng.random() < 0.5 else char)
        out.append(OcrBlock("".join(chars) or block.text, block.box, block.confidence))
    return out


def write_jsonl(cases: list[SyntheticCase], folder: Path, name: str) -> Path:
    """Cases in the eval file format (DESIGN.md), images as PNG beside it, truth in `synthetic`."""
    folder = Path(folder)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.jsonl"
    with path.open("w", encoding="utf-8") as handle:
        for case in cases:
            last = case.turns[-1]
            record: dict = {
                "id": case.id, "text": last.text, "intent": case.intent,
                "history": [{"role": t.role, "text": t.text} for t in case.turns[:-1]],
                "synthetic": {"kind": case.kind, "variant": case.note, "source": str(BITEXT_FILE)},
            }
            if last.screen is not None:
                rel = Path("images") / f"{case.id}.png"
                last.screen.image.save(folder / rel)
                record["image"] = str(rel)
                record["synthetic"]["truth_blocks"] = [
                    {"text": b.text, "box": [round(v, 4) for v in b.box]}
                    for b in last.screen.truth_blocks
                ]
            handle.write(json.dumps(record) + "\n")
    return path
