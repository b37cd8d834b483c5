"""Model versions for the retraining tests: the warranty-claim messages (an intent
no shipped model knows) and installing a version into a data folder."""

from __future__ import annotations

import shutil
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"


BASE_INTENTS = ("track_order", "cancel_order", "get_refund", "change_shipping_address")


NEW_INTENT = "warranty_claim"


def warranty_messages() -> list[str]:
    lines = (DATA / "warranty_claim.txt").read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


def install_version(home: Path, source: Path, name: str) -> Path:
    """Copy a model folder into the data folder as version `name`, as retraining leaves it."""
    target = home / "models" / name
    shutil.copytree(source, target)
    return target
