"""Labelled cases from the logs: which replies teach what (engine.learning.retrain trains on them).

From each reply's latest feedback (exports of several desks merge; a reply seen twice counts
once, by its `<desk>:<reply>` id): accepted -> the predicted intent is confirmed; edited -> the
intent stands (the agent only changed the wording); corrected -> the intent the agent chose;
rejected without a correction, handed off, or no feedback -> skipped. An agent hands off what
cannot be settled at the desk, whatever it is about, and the panel offers it when the model is
unsure or out of scope, so a hand-off confirms no intent and refutes none (after a correction
the export keeps the correction: engine.exchange.records). The answer the agent finally sent stays
with
the case as the answer-selection target; the message's screenshots stay with it too
(engine.learning.fused_retrain reads them).
"""

from __future__ import annotations

import json
import random
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine import paths
from engine.cases.datasets import Case
from engine.errors import InputError
from engine.exchange.format import LABELS
from engine.types import Message


@dataclass
class LoggedCase:
    """One reply with feedback, turned into a training example."""

    text: str  # the customer's message the reply answered
    intent: str  # the label the agent's feedback gives
    session: str  # conversation key (desk-qualified): the unit of the held-out split
    action: str  # accepted | edited | corrected
    predicted: str  # what the model had said
    answer: str | None = None  # the answer the agent sent: the answer-selection target
    id: str = ""
    history: list[Message] = field(default_factory=list)  # the exported messages before `text`
    images: list[str] = field(default_factory=list)  # the message's screenshots, as exported
    folder: Path | None = None  # where the export lies (its images/ are beside it)

    def as_case(self) -> Case:
        return Case(text=self.text, intent=self.intent, id=self.id, history=self.history)


@dataclass
class LabelStats:
    """What the logs held and what became of it."""

    records: int = 0
    duplicates: int = 0
    no_feedback: int = 0
    rejected: int = 0
    handoffs: int = 0
    actions: dict[str, int] = field(default_factory=dict)
    answers: int = 0



def read_exports(files: list[Path]) -> tuple[list[LoggedCase], LabelStats]:
    """Labelled cases from JSONL exports of one or several desks, duplicates dropped."""
    if not files:
        raise InputError("Name at least one export file to retrain from.")
    stats, seen, cases = LabelStats(), set(), []
    for file in map(Path, files):
        for number, record in _records(file):
            stats.records += 1
            if record["id"] in seen:
                stats.duplicates += 1
                continue
            seen.add(record["id"])
            case = label(record, stats, f"{file.name} line {number}")
            if case is not None:
                case.folder = file.parent
                cases.append(case)
    return cases, stats


def from_store(home: Path) -> tuple[list[LoggedCase], LabelStats]:
    """Labelled cases from the data folder's store, read through a (redacted) export so the
    store and export files give the same training text."""
    from engine.exchange.records import export_records
    from engine.store.database import Store

    with tempfile.TemporaryDirectory(dir=paths.cache_dir(Path(home))) as tmp:
        file = Path(tmp) / "store.jsonl"
        with Store.open(Path(home)) as store:
            export_records(store, file)
        return read_exports([file])


def label(record: dict[str, Any], stats: LabelStats, where: str) -> LoggedCase | None:
    """The training case one export record gives, or None (no feedback, rejected, handed off)."""
    action = record.get("feedback")
    if action is None:
        stats.no_feedback += 1
        return None
    if action == "rejected":
        stats.rejected += 1
        return None
    if action == "handoff":
        stats.handoffs += 1
        return None
    if action not in LABELS:
        raise InputError(f"{where} has an unknown feedback {action!r}.")
    predicted = record.get("predicted_intent")
    intent = record.get("intent") if action == "corrected" else predicted
    if not isinstance(intent, str) or not intent.strip():
        raise InputError(f"{where} has feedback {action!r} but no intent.")
    messages = record.get("messages")
    customer = [m for m in messages or [] if isinstance(m, dict)
                and m.get("speaker", "customer") == "customer"]
    if not isinstance(messages, list) or not customer:
        raise InputError(f"{where} has no customer message.")
    text = customer[-1].get("content")
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"{where} has an empty customer message.")
    stats.actions[action] = stats.actions.get(action, 0) + 1
    answer = record.get("answer") if isinstance(record.get("answer"), str) else None
    stats.answers += answer is not None
    desk = record["id"].rpartition(":")[0]
    session = record.get("session_key") or f"{desk}:{record.get('session')}"
    return LoggedCase(text=text.strip(), intent=intent.strip(), session=str(session),
                      action=action, predicted=str(predicted), answer=answer, id=record["id"],
                      history=[Message.from_file(m) for m in messages
                               if isinstance(m, dict) and m is not customer[-1]],
                      images=[str(i) for i in customer[-1].get("images") or []])


def _records(file: Path):
    """(line number, record) for every non-blank line; a bad line is one clear sentence."""
    try:
        lines = file.read_text(encoding="utf-8").split("\n")  # not splitlines(): see merge
    except OSError as err:
        raise InputError(f"Cannot read {file}: {err.strerror or err}.") from err
    except UnicodeDecodeError as err:
        raise InputError(f"{file.name} is not UTF-8 text; is it a Frontdesk export?") from err
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise InputError(f"{file.name} line {number} is not valid JSON; the file may be "
                             "cut short or edited by hand.") from err
        if not isinstance(record, dict) or not isinstance(record.get("id"), str) \
                or "messages" not in record or "predicted_intent" not in record:
            raise InputError(f"{file.name} line {number} is not a Frontdesk export record.")
        yield number, record


def check_learnable(cases: list[LoggedCase], stats: LabelStats) -> None:
    """Refuse logs nothing can be learned from, in one sentence."""
    if stats.records == 0:
        raise InputError("The logs hold no replies at all; retrain once agents have used "
                         "Frontdesk and given feedback.")
    if not cases:
        raise InputError(
            f"The logs hold {stats.records} replies but none that an agent accepted, edited or "
            "corrected; there is nothing to learn from yet.")
    intents = Counter(case.intent for case in cases)
    if len(intents) < 2:
        raise InputError(
            f"All {len(cases)} labelled replies have the same intent ({next(iter(intents))}); "
            "retraining needs feedback on at least two intents.")
    if len({case.session for case in cases}) < 2:
        raise InputError("The labelled replies all come from one conversation; retraining "
                         "needs at least two so one can be held out to check the new model.")


def split_by_session(cases: list[LoggedCase], fraction: float,
                     seed: int) -> tuple[list[LoggedCase], list[LoggedCase]]:
    """(train, held out): whole sessions go to one side; `fraction` of them (at least one)."""
    sessions = sorted({case.session for case in cases})
    random.Random(seed).shuffle(sessions)
    held = set(sessions[: max(1, round(len(sessions) * fraction))])
    return ([c for c in cases if c.session not in held], [c for c in cases if c.session in held])
