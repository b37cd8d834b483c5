"""Where the synthetic cases' text comes from: the Bitext 8k pools split by `split_of`, and
for training conversations the looser Bitext files, our written lines, human follow-ups and
out-of-scope text, and our agent offers (engine.fusion.synthetic draws from them)."""

from __future__ import annotations

import csv
import hashlib
import random
import re
from collections import defaultdict
from functools import lru_cache
from pathlib import Path

from engine.cases.datasets import Case, read_cases
from engine.cases.default_mix import LABEL_SPELLINGS
from engine.paths import ASSETS
from engine.types import OUT_OF_SCOPE

BITEXT_FILE = Path("bitext") / "bitext_8k_customer_service_sample.csv"
SPLITS = ("train", "test")
AGENT_OFFERS = ASSETS / "training" / "agent_offers.tsv"
WRITTEN_CONVERSATIONS = ASSETS / "training" / "conversations"  # <intent>.jsonl, eval-case format
COLLOQUIAL_FILES = ("bitext_20k_utterances_sample.csv",
                    "bitext_llm_4514_with_responses_2023-08-18.csv")
COLLOQUIAL_PER_INTENT = 200


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().lower())


def split_of(utterance: str) -> str:
    """'test' for about 20% of utterances (sha1 of the normalised text), else 'train'."""
    digest = hashlib.sha1(_normalise(utterance).encode("utf-8")).hexdigest()
    return "test" if int(digest[:8], 16) % 5 == 0 else "train"


@lru_cache(maxsize=4)
def load_pools(data_dir: Path) -> dict[str, dict[str, list[str]]]:
    """{split: {intent: [utterances]}} from the Bitext 8k file."""
    pools: dict[str, dict[str, list[str]]] = {s: defaultdict(list) for s in SPLITS}
    with open(Path(data_dir) / BITEXT_FILE, encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            text = row["utterance"].strip()
            pools[split_of(text)][row["intent"]].append(text)
    return {s: dict(sorted(p.items())) for s, p in pools.items()}


@lru_cache(maxsize=1)
def agent_offers() -> dict[str, list[str]]:
    """{intent: [agent turns that offer it]} from assets/training/agent_offers.tsv (ours)."""
    out: dict[str, list[str]] = defaultdict(list)
    for line in AGENT_OFFERS.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            intent, text = line.split("\t", 1)
            out[intent].append(text.strip())
    return dict(out)


@lru_cache(maxsize=4)
def human_pools(data_dir: Path, split: str) -> dict[str, list[str]]:
    """Pools a conversation is drawn from besides Bitext, split by `split_of` like Bitext:
    `out_of_scope` (the text model's own training negatives: NLU++ hotels folds 0-13 and our
    written list) and MultiDoGO train-split follow-ups (`contentonly`, `confirmation`)."""
    from engine.cases.default_mix import oos_cases
    from engine.cases.multidogo import follow_up_texts

    data_dir = Path(data_dir)
    out = {OUT_OF_SCOPE: [c.text for c in oos_cases(data_dir, "train")]}
    out.update(follow_up_texts(data_dir))
    return {key: [t for t in texts if split_of(t) == split] for key, texts in out.items()}


@lru_cache(maxsize=2)
def colloquial_pool(data_dir: Path) -> dict[str, list[str]]:
    """{intent: [texts]} of the two other Bitext files (looser, typo'd phrasings), train side of
    `split_of` only, at most COLLOQUIAL_PER_INTENT per intent: a statement in a training
    conversation is drawn from here half the time, so "natural wording" is not a cue for
    out_of_scope (whose negatives are human text)."""
    from engine.cases.datasets import read_cases

    out: dict[str, list[str]] = defaultdict(list)
    for name in COLLOQUIAL_FILES:
        for case in read_cases(Path(data_dir) / "bitext" / name):
            if split_of(case.text) == "train" and "{{" not in case.text:
                out[LABEL_SPELLINGS.get(case.intent, case.intent)].append(case.text)
    rng = random.Random("colloquial")
    return {intent: rng.sample(texts, min(len(texts), COLLOQUIAL_PER_INTENT))
            for intent, texts in sorted(out.items())}


@lru_cache(maxsize=2)
def written_pool(data_dir: Path) -> dict[str, list[str]]:
    """{intent: [texts]} of our own written lines (engine.cases.mix.written_cases), train side of
    `split_of` only: the way customers state a request, for the statements of training
    conversations (Bitext alone taught the model that a person's own first turn is off topic)."""
    from engine.cases.default_mix import taxonomy
    from engine.cases.mix import written_cases

    out: dict[str, list[str]] = defaultdict(list)
    for case in written_cases(taxonomy(Path(data_dir))):
        if case.intent != OUT_OF_SCOPE and split_of(case.text) == "train":
            out[case.intent].append(case.text)
    return dict(out)


@lru_cache(maxsize=2)
def written_conversations(split: str) -> tuple[Case, ...]:
    """Our written chats (`WRITTEN_CONVERSATIONS`: customer and agent turns in people's voices,
    each labelled with the intent at its last message, as cases with a history), the `split`
    side of `split_of(id)`."""
    return tuple(case for path in sorted(WRITTEN_CONVERSATIONS.glob("*.jsonl"))
                 for case in read_cases(path) if split_of(case.id) == split)
