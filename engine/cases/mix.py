"""Human-written training text for the 27 shop intents, read through reviewed label mappings.

Each public source in shared/data keeps its own labels; `assets/training/mappings/<source>.tsv`
says, per source label, which Frontdesk intent it means (or `out_of_scope`, a human negative)
and why. A label not in the mapping is not used at all: ambiguous categories stay out of both
sides. `intent_notes.tsv` says, per intent, where its human text comes from or that none exists.

Sources (each folder must hold its license file):
- banking77: `train.csv` (`text,category`); the label is the category.
- multidogo: `<domain>/train.tsv` customer turns with one label; the label is `domain/intent`.
- nlupp: `<domain>/fold*.json` multi-label records; a mapping label is `domain:a+b!c` (see
  `nlupp_rule`), the first matching row wins.
- abcd: `abcd_sample.json`; the customer's first turn that asks something, label
  `flow/subflow`.

Beside them, our own lines (`written_cases`): `assets/training/written/<intent>.txt`, messages
the team wrote the way customers type, for every intent (eleven have no public human text) and
for out_of_scope. They need no mapping; the file name is the intent.

Bad input is one sentence and nothing is written: a mapping naming an unknown intent, a source
with no rows, a source folder without a license file.
"""

from __future__ import annotations

import csv
import glob
import json
import random
import re
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from engine.cases.datasets import Case
from engine.cases.multidogo import DIALOGUE_ACTS
from engine.errors import InputError
from engine.paths import ASSETS
from engine.types import OUT_OF_SCOPE

MAPPINGS = ASSETS / "training" / "mappings"
WRITTEN = ASSETS / "training" / "written"
LICENSE_NAMES = ("LICENSE", "LICENSE.txt", "LICENSE.md")
# Negatives that name an online-shop topic are dropped: they would be in scope for a shop's agent.
SHOP_WORDS = re.compile(r"refund|pay|invoice|bill|cancel|password|account|complain|address|"
                        r"deliver|order|ship|subscri|newsletter|fee|charge", re.IGNORECASE)
Rows = Iterator[tuple[str, str]]  # (text, source label)


@dataclass(frozen=True)
class Mapping:
    """One reviewed row: a source label, the intent it means, and why."""

    label: str
    intent: str
    reason: str


def read_mapping(path: Path, intents: set[str]) -> list[Mapping]:
    """The rows of a mapping file (TSV: label, intent, reason; `#` lines are comments)."""
    if not path.is_file():
        raise InputError(f"No mapping file at {path}.")
    lines = [line for line in path.read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.startswith("#")]
    rows = list(csv.DictReader(lines, delimiter="\t"))
    if not rows or not {"label", "intent", "reason"} <= set(rows[0]):
        raise InputError(f"{path.name} needs a header `label, intent, reason` and rows under it.")
    out = []
    for row in rows:
        label, intent, reason = (row.get(k, "") or "" for k in ("label", "intent", "reason"))
        if intent not in intents | {OUT_OF_SCOPE}:
            raise InputError(f"{path.name} maps {label!r} to {intent!r}, which is not one of the "
                             "intents (see INTENTS.md) nor out_of_scope.")
        if not label.strip() or not reason.strip():
            raise InputError(f"{path.name} has a row without a label or a reason ({label!r}).")
        out.append(Mapping(label.strip(), intent, reason.strip()))
    return out


def nlupp_rule(label: str) -> Callable[[str, set[str]], bool]:
    """`domain:a+b!c` -> a test of (domain, intents): in `domain` (`*`: any), has a and b, not c.
    `domain:*` matches every record of the domain."""
    domain, _, expression = label.partition(":")
    parts = expression.split("!")
    needed = set() if parts[0] == "*" else set(parts[0].split("+"))
    banned = set(parts[1:])

    def matches(record_domain: str, intents: set[str]) -> bool:
        return (domain in ("*", record_domain) and needed <= intents and not banned & intents)

    return matches


def banking77_rows(folder: Path) -> Rows:
    with open(folder / "train.csv", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            yield row["text"], row["category"]


def multidogo_rows(folder: Path) -> Rows:
    """Single-label customer turns, less bare replies (`bare_replies`); fast-food orders with
    their menu items swapped for shop products (`as_shop_order`)."""
    swap = ShopWords.read()
    rows = []
    for path in sorted(folder.glob("*/train.tsv")):
        with open(path, encoding="utf-8") as handle:
            rows += [(path.parent.name, row) for row in csv.DictReader(handle, delimiter="\t")]
    bare = bare_replies((row["utterance"], row["intent"]) for _, row in rows)
    for domain, row in rows:
        text = row["utterance"]
        if "<div>" in row["intent"] or plain_reply(text) in bare:
            continue
        if domain == "fastfood":
            text = swap.as_shop_order(text, row["slot-labels"] or "")
        yield text, f"{domain}/{row['intent']}"


REPLY_ACTS = DIALOGUE_ACTS - {"contentonly", "outofdomain"}  # a reply that names nothing


def bare_replies(turns: Iterable[tuple[str, str]]) -> set[str]:
    """Of MultiDoGO's (utterance, intent) turns, the texts it labels more often as a reply act
    alone (confirmation, rejection, a greeting, thanks) than as a task: "yes", "ok", "hi",
    "no". The same texts also carry the conversation's task label on some turns (a "yes" while
    ordering a pizza is labelled orderpizzaintent), and trained as place_order they made "yes"
    alone read place_order with High confidence; alone they name no request."""
    acts: Counter[str] = Counter()
    tasks: Counter[str] = Counter()
    for text, intent in turns:
        counts = acts if set(intent.split("<div>")) <= REPLY_ACTS else tasks
        counts[plain_reply(text)] += 1
    return {text for text, n in acts.items() if n > tasks[text]}


def plain_reply(text: str) -> str:
    """A turn as `bare_replies` compares it: lower case, no punctuation, single spaces."""
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def nlupp_records(folder: Path) -> Iterator[tuple[str, str, set[str]]]:
    for path in sorted(glob.glob(str(folder / "*" / "fold*.json"))):
        for record in json.loads(Path(path).read_text(encoding="utf-8")):
            yield record["text"], Path(path).parent.name, set(record.get("intents", []))


def abcd_rows(folder: Path) -> Rows:
    for convo in json.loads((folder / "abcd_sample.json").read_text(encoding="utf-8")):
        scenario = convo["scenario"]
        asks = [text for speaker, text in convo["original"]
                if speaker == "customer" and len(text.split()) >= 5]
        if asks:
            yield asks[0], f"{scenario['flow']}/{scenario['subflow']}"


@dataclass(frozen=True)
class ShopWords:
    """Shop products and their attributes (`assets/training/shop_*.txt`), for `as_shop_order`."""

    products: tuple[str, ...]
    attributes: tuple[str, ...]

    @classmethod
    def read(cls, folder: Path = ASSETS / "training") -> ShopWords:
        def lines(name: str) -> tuple[str, ...]:
            text = (folder / name).read_text(encoding="utf-8")
            return tuple(line.strip() for line in text.splitlines()
                         if line.strip() and not line.startswith("#"))
        return cls(lines("shop_products.txt"), lines("shop_attributes.txt"))

    def as_shop_order(self, text: str, slots: str) -> str:
        """A fast-food order as a shop order: each food or drink the turn's slot labels mark
        becomes a product, each ingredient an attribute ("one bacon burger with onion" -> "one
        desk lamp with wooden"), the rest of the customer's words kept. Without this the 1,533
        menu orders teach place_order that food is a purchase, and recipes, cooking and
        restaurant questions fall into place_order. Same text, same result (seeded by it);
        a turn whose labels do not line up with its words is kept as it is."""
        words, labels = text.split(), slots.split()
        if len(words) != len(labels):
            return text
        rng = random.Random(zlib.crc32(text.encode("utf-8")))
        out: list[str] = []
        previous = "O"
        for word, label in zip(words, labels, strict=True):
            pool = (self.products if label in ("food_item", "drink_item") else
                    self.attributes if label in ("ingredient", "excluded_ingredient") else None)
            if pool is None:
                out.append(word)
            elif label != previous:  # a span of one slot is one product or attribute
                out.append(rng.choice(pool))
            previous = label
        return " ".join(out)


READERS: dict[str, Callable[[Path], Rows]] = {
    "banking77": banking77_rows, "multidogo": multidogo_rows, "abcd": abcd_rows}
SOURCES = ("banking77", "multidogo", "nlupp", "abcd")


def check_license(folder: Path) -> None:
    """A source is used only with its license beside it (it travels with what we derive)."""
    if not folder.is_dir():
        raise InputError(f"No data folder at {folder}.")
    if not any((folder / name).is_file() for name in LICENSE_NAMES):
        raise InputError(f"{folder.name} has no license file ({' or '.join(LICENSE_NAMES)}), "
                         "so its text cannot be trained on.")


def human_cases(shared: Path, intents: set[str], sources: tuple[str, ...] = SOURCES,
                mappings: Path = MAPPINGS) -> list[Case]:
    """Every mapped row of `sources` as a Case (`id` = `source:label:n`), in a stable order."""
    out: list[Case] = []
    for source in sources:
        folder = shared / source
        check_license(folder)
        rules = read_mapping(mappings / f"{source}.tsv", intents)
        cases = (_nlupp_cases(folder, rules) if source == "nlupp"
                 else _mapped(READERS[source](folder), rules, source))
        if not cases:
            raise InputError(f"{source} gave no training rows through its mapping; check the "
                             f"folder {folder} and {source}.tsv.")
        out += cases
    return out


def written_cases(intents: set[str], folder: Path = WRITTEN) -> list[Case]:
    """Our own messages, `<intent>.txt` one per line (`#` lines are comments), as Cases with
    `id` = `written:intent:n`, so they split and cap by intent like a mapped source label."""
    out: list[Case] = []
    for path in sorted(folder.glob("*.txt")):
        intent = path.stem
        if intent not in intents | {OUT_OF_SCOPE}:
            raise InputError(f"{path.name} in {folder} is named after {intent!r}, which is not "
                             "one of the intents (see INTENTS.md) nor out_of_scope.")
        lines = [" ".join(line.split()) for line in path.read_text(encoding="utf-8").splitlines()
                 if line.strip() and not line.startswith("#")]
        if not lines:
            raise InputError(f"{path.name} in {folder} holds no messages.")
        out += [Case(text=text, intent=intent, id=f"written:{intent}:{n}")
                for n, text in enumerate(lines)]
    if not out:
        raise InputError(f"No written messages (<intent>.txt) in {folder}.")
    return out


def _mapped(rows: Rows, rules: list[Mapping], source: str) -> list[Case]:
    by_label = {rule.label: rule.intent for rule in rules}
    out = []
    for n, (text, label) in enumerate(rows):
        intent = by_label.get(label)
        if intent is not None and _usable(text, intent):
            out.append(Case(text=" ".join(text.split()), intent=intent,
                            id=f"{source}:{label}:{n}"))
    return out


def _nlupp_cases(folder: Path, rules: list[Mapping]) -> list[Case]:
    tests = [(nlupp_rule(rule.label), rule) for rule in rules]
    out = []
    for n, (text, domain, labels) in enumerate(nlupp_records(folder)):
        rule = next((rule for test, rule in tests if test(domain, labels)), None)
        if rule is not None and _usable(text, rule.intent):
            out.append(Case(text=" ".join(text.split()), intent=rule.intent,
                            id=f"nlupp:{rule.label}:{n}"))
    return out


def _usable(text: str, intent: str) -> bool:
    """Non-empty, and a negative that names no shop topic."""
    return bool(text.strip()) and not (intent == OUT_OF_SCOPE and SHOP_WORDS.search(text))


def source_label(case: Case) -> str:
    """`source:label` of a human case (its id is `source:label:n`)."""
    return ":".join(case.id.split(":")[:2])


def split_by_source_label(cases: list[Case], fraction: float,
                          seed: int) -> tuple[list[Case], list[Case]]:
    """(train, validation): `fraction` of every source label held out (labels with 3 rows or
    fewer stay in training), so validation holds every kind of human message training has."""
    rng = random.Random(seed)
    groups: dict[str, list[Case]] = {}
    for case in cases:
        groups.setdefault(source_label(case), []).append(case)
    train, val = [], []
    for key in sorted(groups):
        group = groups[key][:]
        rng.shuffle(group)
        n_val = max(1, round(len(group) * fraction)) if len(group) > 3 else 0
        val += group[:n_val]
        train += group[n_val:]
    return train, val


def capped(cases: list[Case], per_label: int | Callable[[str], int], seed: int,
           key: Callable[[Case], str] | None = None) -> list[Case]:
    """At most `per_label` rows of each source label (or of each `key`; a function of the label
    gives each its own cap), a seeded sample: no one big category (MultiDoGO's pizza orders,
    1,256 turns) drowns the rest."""
    rng = random.Random(seed)
    groups: dict[str, list[Case]] = {}
    for case in cases:
        groups.setdefault((key or source_label)(case), []).append(case)
    cap = per_label if callable(per_label) else lambda _: per_label
    out = []
    for key in sorted(groups):
        group = groups[key][:]
        rng.shuffle(group)
        out += group[:cap(key)]
    return out
