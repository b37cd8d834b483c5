"""Readers for the files people train and evaluate on; each bad file gets one clear sentence.

Accepted:
- CSV with a text column (`text`, `utterance` or `instruction`) and a label column (`intent`,
  else `category`): our own `text,intent`, Banking77's `text,category`, Bitext's files.
- JSONL of our exports (engine.exchange.records): records with `messages` ([{role, speaker,
content}])
  and `intent`; the text is the last customer message; records without an intent are skipped.
- MultiDoGO TSV (`conversationId, turnNumber, ..., utterance, ..., intent`): one case per
  customer turn with a task, earlier customer turns as its history (engine.cases.multidogo).
- JSONL eval cases (shared/DESIGN.md): `{"id", "text", "history", "image", "audio", "intent"}`,
  every key but `intent` optional, paths relative to the file.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from pathlib import Path
from typing import Any

from engine.cases import multidogo
from engine.cases.case import Case
from engine.errors import InputError
from engine.types import Message

TEXT_COLUMNS = ("text", "utterance", "instruction")
LABEL_COLUMNS = ("intent", "category")  # `intent` wins where a file has both (Bitext)


def read_cases(path: Path) -> list[Case]:
    """Read a CSV or JSONL file of labelled examples (format chosen by the file's suffix)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"No data file at {path}.")
    suffix = path.suffix.lower()
    if suffix == ".tsv" and multidogo.is_multidogo(path):  # conversations: cases with history
        cases = multidogo.read_cases(path)
    elif suffix in (".csv", ".tsv"):
        cases = _read_csv(path, delimiter="\t" if suffix == ".tsv" else ",")
    elif suffix in (".jsonl", ".json", ".ndjson"):
        cases = _read_jsonl(path)
    else:
        raise InputError(f"{path.name} is neither CSV nor JSONL; use a .csv or .jsonl file.")
    if not cases:
        raise InputError(f"{path.name} holds no labelled examples.")
    return cases


def read_many(paths: list[Path]) -> list[Case]:
    """All examples of several files, in order."""
    return [case for path in paths for case in read_cases(path)]


def check_trainable(cases: list[Case]) -> Counter:
    """Refuse training sets a classifier cannot learn from; return the label counts."""
    counts = Counter(case.intent for case in cases)
    if len(counts) < 2:
        only = next(iter(counts), "nothing")
        raise InputError(f"The training data has a single intent ({only}); "
                         "a classifier needs at least two.")
    return counts


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise InputError(f"{path.name} is not UTF-8 text (byte {err.start} is invalid).") from err


def _read_csv(path: Path, delimiter: str) -> list[Case]:
    rows = csv.DictReader(io.StringIO(_read_text(path), newline=""), delimiter=delimiter)
    columns = [name.strip() for name in rows.fieldnames or []]
    text_col = next((name for name in TEXT_COLUMNS if name in columns), None)
    label_col = next((name for name in LABEL_COLUMNS if name in columns), None)
    if text_col is None or label_col is None:
        raise InputError(f"{path.name} has columns ({', '.join(columns) or 'none'}); it needs a "
                         "text column (text/utterance) and a label column (intent/category).")
    rows.fieldnames = columns
    cases = []
    for number, row in enumerate(rows, start=2):
        text, label = (row.get(text_col) or "").strip(), (row.get(label_col) or "").strip()
        if not text or not label:
            raise InputError(f"{path.name} line {number} has an empty text or label.")
        cases.append(Case(text=text, intent=label, id=f"{path.stem}:{number}"))
    return cases


def _read_jsonl(path: Path) -> list[Case]:
    cases = []
    # "\n" alone ends a record: str.splitlines() would also cut at U+2028 or U+0085 inside one
    for number, line in enumerate(_read_text(path).split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise InputError(f"{path.name} line {number} is not valid JSON.") from err
        except RecursionError as err:
            raise InputError(f"{path.name} line {number} is nested too deeply to be a case.") \
                from err
        if not isinstance(record, dict):
            raise InputError(f"{path.name} line {number} is not a JSON object.")
        case = _case_from_record(record, path, number)
        if case is not None:
            cases.append(case)
    return cases


def _is_customer(message: object) -> bool:
    """Our exports say role "user" + speaker "customer"; eval histories say role "customer"."""
    return isinstance(message, dict) and Message.from_file(message).role == "customer"


def _case_from_record(record: dict[str, Any], path: Path, number: int) -> Case | None:
    where = f"{path.name} line {number}"
    intent = record.get("intent")
    if intent is None and "messages" in record:
        return None  # an exported reply nobody labelled: nothing to learn from
    if not isinstance(intent, str) or not intent.strip():
        raise InputError(f"{where} has no intent label.")
    if "messages" in record:  # one of our exports
        messages = record["messages"] if isinstance(record["messages"], list) else []
        customer = [m for m in messages if _is_customer(m)]
        if not customer:
            raise InputError(f"{where} has no customer message.")
        text = customer[-1].get("content") or customer[-1].get("text") or ""
        history = [m for m in messages if m is not customer[-1]]
    elif "text" in record or "image" in record or "audio" in record:
        text, history = record.get("text") or "", record.get("history") or []
    else:
        raise InputError(f"{where} has neither `text` nor `messages`.")
    if not isinstance(text, str) or not isinstance(history, list):
        raise InputError(f"{where} has a text or history of the wrong type.")
    for entry, earlier in enumerate(history, 1):
        said = earlier.get("content", earlier.get("text")) if isinstance(earlier, dict) else None
        if not isinstance(said, str):
            raise InputError(f"{where}: history entry {entry} is not an object with a `text`.")
    if any(record.get(key) and not isinstance(record[key], str) for key in ("image", "audio")):
        raise InputError(f"{where} has an image or audio that is not a file name.")
    media = {key: (path.parent / record[key]) if record.get(key) else None
             for key in ("image", "audio")}
    if not text.strip() and media["image"] is None and media["audio"] is None:
        raise InputError(f"{where} has an empty text and no image or audio.")
    case_id = str(record.get("id", f"{path.stem}:{number}"))
    return Case(text=text.strip(), intent=intent.strip(), id=case_id,
                history=[Message.from_file(earlier) for earlier in history],
                image=media["image"], audio=media["audio"])
