"""Writing a model folder without ever deleting a person's files.

A command told to write a model to `--out DIR` may replace DIR only when DIR is empty or is a
model folder we wrote (recognised by its config.json and weights, and by holding nothing else):
pointed at a data folder by mistake it refuses in one sentence instead of deleting the session
store beside it. The new model is written into a temporary folder beside DIR and renamed into
place when complete, so a cancelled or killed run leaves the old model (or nothing) at DIR.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from engine.errors import InputError

CONFIG_FILE = "config.json"
# What our model writers put in a model folder (engine.nlu.intent, engine.nlu.adapters,
# engine.fusion.model, engine.nlu.acts, engine.recipes.default_model's card,
# engine.learning.retrain's notes); a folder holding anything else is not one.
WEIGHTS_FILES = frozenset({"model.safetensors", "adapters.safetensors", "fusion.safetensors",
                           "acts.safetensors"})
MODEL_FILES = WEIGHTS_FILES | {CONFIG_FILE, "MODEL_CARD.md", "metrics.json",
                               "data_summary.json", "replay.jsonl"}
# A version's fused model, itself a model folder (engine.learning.fused_retrain writes it).
FUSED_FOLDER = "fused"


def is_model_folder(folder: Path) -> bool:
    """True when `folder` holds a model we wrote and nothing else (so replacing it loses
    nothing of the person's)."""
    folder = Path(folder)
    try:
        names = {entry.name for entry in folder.iterdir()}
        config = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if FUSED_FOLDER in names:
        if not (folder / FUSED_FOLDER).is_dir() or not is_model_folder(folder / FUSED_FOLDER):
            return False
        names.remove(FUSED_FOLDER)
    return (names <= MODEL_FILES and bool(names & WEIGHTS_FILES)
            and isinstance(config, dict) and isinstance(config.get("labels"), list))


def check_output(out: Path) -> None:
    """Refuse, in one sentence, an output folder whose replacement would delete files."""
    out = Path(out)
    if out.is_dir():
        if any(out.iterdir()) and not is_model_folder(out):
            raise InputError(f"{out} already holds files that are not a Frontdesk model; "
                             "choose a new or empty folder for --out (nothing was deleted).")
    elif out.exists() or out.is_symlink():
        raise InputError(f"{out} is a file, not a folder; choose a new or empty folder for "
                         "--out.")


def write_model_folder(out: Path, write: Callable[[Path], None]) -> None:
    """Run `write(folder)` into a temporary folder beside `out`, then put it at `out` (an
    empty folder or an older model we wrote there is replaced; anything else is refused)."""
    out = Path(out)
    check_output(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f"{out.name}.partial-", dir=out.parent))
    except OSError as err:
        raise InputError(f"Cannot write a model beside {out}: {err.strerror or err}.") from err
    old = None
    try:
        write(staging)
        check_output(out)  # again: something may have been put there while training ran
        if out.is_dir():
            old = out.with_name(f"{staging.name}.old")
            os.rename(out, old)
        os.rename(staging, out)
    except BaseException:
        if old is not None and not out.exists():
            os.rename(old, out)  # put the previous model back
            old = None
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def weights_version(prefix: str, *files: Path) -> str:
    """`prefix-<first 10 hex of the sha256 of the files' bytes>`: the name a model's replies
    carry, the same wherever the model is loaded from (intent-, conv-, fused-)."""
    digest = hashlib.sha256()
    for file in files:
        digest.update(Path(file).read_bytes())
    return f"{prefix}-{digest.hexdigest()[:10]}"
