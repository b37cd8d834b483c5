"""The recipe of the shipped default model (assets/models/default), rerunnable end to end.

In scope: the 27 Bitext intents, from ONE file, `bitext_8k_customer_service_sample.csv`, split
80/10/10 (train/validation/test) per intent with seed 13. No other Bitext file is used anywhere.
Out of scope, an explicit class trained on negatives, split by source so that validation (where
the OOS threshold is fitted) and test hold kinds of message the training never saw:
- train: NLU++ hotels folds 0-13, Banking77 train.csv of `OOS_TRAIN_B77` categories, and
  assets/training/oos_written.txt (written by us);
- validation: NLU++ hotels folds 14-19, Banking77 train.csv of `OOS_VAL_B77` categories;
- test: Banking77 test.csv of `OOS_TEST_B77` categories, plus tests/data/default_eval.jsonl.
NLU++ messages that name an online-shop topic (refunds, payments, cancelling, ...) are dropped:
they would be in scope for a shop's agent.

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
from engine.train import TrainOptions, fine_tune, stratified_split
from engine.types import OUT_OF_SCOPE

BITEXT_FILE = "bitext/bitext_8k_customer_service_sample.csv"
SEED = 13
OOS_TRAIN_B77 = ("atm_support", "exchange_rate", "top_up_limits", "change_pin",
                 "lost_or_stolen_card", "card_swallowed", "country_support", "age_limit",
                 "getting_virtual_card", "transfer_timing", "cash_withdrawal_charge",
                 "fiat_currency_support", "automatic_top_up", "beneficiary_not_allowed")
OOS_VAL_B77 = ("exchange_via_app", "pin_blocked", "top_up_failed", "getting_spare_card",
               "receiving_money", "disposable_card_limits")
OOS_TEST_B77 = ("exchange_charge", "declined_cash_withdrawal", "lost_or_stolen_phone",
                "contactless_not_working", "top_up_by_cash_or_cheque", "card_about_to_expire",
                "wrong_exchange_rate_for_cash_withdrawal", "verify_source_of_funds")
SHOP_WORDS = re.compile(r"refund|pay|invoice|bill|cancel|password|account|complain|address|"
                        r"deliver|order|ship|subscri|newsletter|fee|charge", re.IGNORECASE)
WRITTEN_OOS = ASSETS / "training" / "oos_written.txt"
OPTIONS = TrainOptions(epochs=4, batch_size=32, lr=1.5e-4, head_lr=2e-3, seed=SEED,
                       trainable_layers=2, max_length=64)


def bitext_splits(shared: Path) -> tuple[list[Case], list[Case], list[Case]]:
    """(train, validation, test) of the Bitext 8k file: 80/10/10 per intent, seed 13."""
    cases = read_cases(shared / BITEXT_FILE)
    rest, test = stratified_split(cases, 0.1, SEED)
    train, val = stratified_split(rest, 1 / 9, SEED)
    return train, val, test


def oos_cases(shared: Path, part: str, per_category: int = 40) -> list[Case]:
    """Out-of-scope negatives for `part` in train | val | test (see the module docstring)."""
    b77_categories = {"train": OOS_TRAIN_B77, "val": OOS_VAL_B77, "test": OOS_TEST_B77}[part]
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


def train_default(shared: Path, out: Path, options: TrainOptions = OPTIONS):
    """Train the default model from the public data in `shared` into `out`."""
    train, val, test = bitext_splits(shared)
    notes = {
        "in_scope": f"{BITEXT_FILE}: 80/10/10 split per intent, seed {SEED}; "
                    f"{len(train)} train, {len(val)} validation, {len(test)} test",
        "out_of_scope": "explicit class; train: NLU++ hotels folds 0-13, Banking77 train.csv "
                        f"{', '.join(OOS_TRAIN_B77)}, assets/training/oos_written.txt; "
                        f"validation: NLU++ hotels folds 14-19, Banking77 train.csv "
                        f"{', '.join(OOS_VAL_B77)}",
    }
    return fine_tune(train + oos_cases(shared, "train"), out, options,
                     val_cases=val + oos_cases(shared, "val"), notes=notes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path,
                        default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--out", type=Path, default=ASSETS / "models" / "default")
    parser.add_argument("--epochs", type=int, default=OPTIONS.epochs)
    args = parser.parse_args()
    options = TrainOptions(**{**OPTIONS.__dict__, "epochs": args.epochs})
    model = train_default(args.shared, args.out, options)
    print(f"saved {model.version} to {args.out}")


if __name__ == "__main__":
    main()
