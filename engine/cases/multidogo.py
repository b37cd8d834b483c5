"""MultiDoGO (Peskov et al. 2019): human-human customer-service chats, read as conversations.

`../shared/data/multidogo/<domain>/{train,dev}.tsv` (README there): customer turns only, tab
separated, `conversationId, turnNumber, utteranceId, utterance, slot-labels, intent`; an intent
is a task (`bookflight`) or a dialogue act (`contentonly`, `confirmation`, ...), several joined
by `<div>`. The agent's turns are not in the files: `turnNumber` gaps are where they were.

"The customer's task at this turn" (the MultiDoGO README's rule, used by bench.multidogo and by
training): the turn's own task intent, else the latest task intent the customer stated earlier
in the conversation. Greetings, thanks and turns before any task have none. A follow-up is a
turn whose own labels are all dialogue acts.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from engine.cases.case import Case
from engine.types import Message

DOMAINS = ("airline", "fastfood", "finance", "insurance", "media", "software")
DIALOGUE_ACTS = frozenset({"contentonly", "confirmation", "rejection", "openinggreeting",
                           "closinggreeting", "thankyou", "outofdomain"})
NO_TASK = frozenset({"openinggreeting", "closinggreeting", "thankyou"})  # left out of scoring


@dataclass
class DialogueTurn:
    """One customer turn: its text, its own labels and the task it serves (None: none yet)."""

    number: int  # MultiDoGO's turnNumber (both speakers counted)
    text: str
    labels: list[str]
    task: str | None = None

    @property
    def follow_up(self) -> bool:
        """Only dialogue acts on this turn: its task comes from earlier."""
        return bool(self.labels) and all(label in DIALOGUE_ACTS for label in self.labels)

    @property
    def scored(self) -> bool:
        """A turn with a task that is not a greeting or thanks."""
        return self.task is not None and not set(self.labels) <= NO_TASK


@dataclass
class Dialogue:
    id: str
    domain: str
    turns: list[DialogueTurn] = field(default_factory=list)


def read_tsv(path: Path, domain: str = "") -> list[Dialogue]:
    """Conversations of one MultiDoGO TSV, turns in order, each with its task at that turn."""
    rows: dict[str, list[DialogueTurn]] = {}
    with Path(path).open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        for row in reader:
            text = (row.get("utterance") or "").strip()
            number = _turn_number(row.get("turnNumber"))
            if not text or not row.get("conversationId") or number is None:
                continue  # a few utterances hold a line break: their tails are not turns
            labels = [x.strip() for x in (row.get("intent") or "").split("<div>") if x.strip()]
            if any(" " in label for label in labels):
                continue  # a row shifted by a stray tab: its "intent" is slot labels
            turn = DialogueTurn(number, text, labels)
            rows.setdefault(row["conversationId"], []).append(turn)
    dialogues = []
    for conversation_id, turns in rows.items():
        turns.sort(key=lambda t: t.number)
        task = None
        for turn in turns:
            own = [label for label in turn.labels if label not in DIALOGUE_ACTS]
            if own:
                task = own[-1]
            turn.task = None if set(turn.labels) <= NO_TASK else task
        dialogues.append(Dialogue(conversation_id, domain, turns))
    return dialogues


def is_multidogo(path: Path) -> bool:
    """A MultiDoGO TSV: its header names conversationId, turnNumber, utterance and intent."""
    with Path(path).open(encoding="utf-8-sig") as handle:
        header = handle.readline().strip().split("\t")
    return {"conversationId", "turnNumber", "utterance", "intent"} <= set(header)


def read_cases(path: Path) -> list:
    """Training/eval cases of a MultiDoGO TSV (engine.cases.datasets.Case): one per scored customer
    turn, its earlier customer turns as `history`, its label the customer's task at the turn."""
    cases = []
    for dialogue in read_tsv(path):
        for index, turn in enumerate(dialogue.turns):
            if turn.scored:
                history = [Message("customer", t.text) for t in dialogue.turns[:index]]
                cases.append(Case(text=turn.text, intent=turn.task, history=history,
                                  id=f"{dialogue.id}:{turn.number}"))
    return cases


@lru_cache(maxsize=16)
def load(data_dir: Path, domain: str, split: str) -> tuple[Dialogue, ...]:
    """One domain's split from `data_dir/multidogo` (cached)."""
    return tuple(read_tsv(Path(data_dir) / "multidogo" / domain / f"{split}.tsv", domain))


def follow_up_texts(data_dir: Path, acts: tuple[str, ...] = ("contentonly", "confirmation"),
                    max_words: int = 10) -> dict[str, list[str]]:
    """Short human follow-up turns of the train splits by dialogue act ({act: [texts]}),
    each distinct text once: "yes please", "the 5th of march", "it's under my wife's name"."""
    out: dict[str, set[str]] = {act: set() for act in acts}
    for domain in DOMAINS:
        for dialogue in load(Path(data_dir), domain, "train"):
            for turn in dialogue.turns:
                if len(turn.labels) == 1 and turn.labels[0] in out \
                        and len(turn.text.split()) <= max_words:
                    out[turn.labels[0]].add(turn.text)
    return {act: sorted(texts) for act, texts in out.items()}


def _turn_number(value: str | None) -> int | None:
    """turnNumber as an int ("4" or finance's "4.0"); None for a broken row."""
    try:
        return int(float(value or ""))
    except ValueError:
        return None
