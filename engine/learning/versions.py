"""Model versions in a data folder: which ones exist, which one is in use, switching back.

Layout under `engine.paths.models_dir(home)`:
  v001/, v002/ ...   one folder per retrained model (config.json, model.safetensors,
                     metrics.json, data_summary.json), written by engine.learning.retrain
  current.json       {"version": "v002", "since": "..."}: the pointer, replaced atomically
The shipped model (assets/models/default) is the version named "default"; with no pointer, or a
pointer to a folder that was deleted by hand or no longer loads, "default" is in use.

Only complete folders are offered: a name that is exactly `v<digits>` and holds a config and
weights that `engine.nlu.intent.read_config` accepts. A run killed halfway leaves at most a
`v003.partial` folder, which is never listed, never used, and is reused by the next run.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from engine import paths
from engine.clock import now_iso
from engine.errors import FrontdeskError, InputError, StoreError
from engine.model_folder import FUSED_FOLDER
from engine.nlu import intent

log = logging.getLogger(__name__)

DEFAULT = "default"
POINTER_FILE = "current.json"
METRICS_FILE = "metrics.json"
SUMMARY_FILE = "data_summary.json"
NAME = re.compile(r"^v(\d{3,})$")


@dataclass
class Version:
    """One model a data folder can use."""

    name: str  # "default", "v001", ...
    folder: Path
    model_version: str  # the weights' own id (config.version), what replies record
    intents: int
    created: str = ""
    metrics: dict = field(default_factory=dict)  # metrics.json ({} for the shipped model)
    current: bool = False


def list_versions(home: Path) -> list[Version]:
    """Every usable version, "default" first then oldest to newest; the one in use marked."""
    found = [v for v in (_default_version(), *(_read(f) for f in _numbered(home))) if v]
    in_use = current_name(home, found)
    for version in found:
        version.current = version.name == in_use
    return found


def current_name(home: Path, versions: list[Version] | None = None) -> str:
    """The name of the version in use ("default" when the pointer is missing or stale)."""
    wanted = _pointer(home)
    if wanted is None or wanted == DEFAULT:
        return DEFAULT
    usable = {v.name for v in versions} if versions is not None else (
        {wanted} if _read(models_root(home) / wanted) else set())
    if wanted not in usable:
        log.warning("model version %s is gone or damaged; using the default model", wanted)
        return DEFAULT
    return wanted


def current(home: Path) -> Path:
    """The folder of the model in use: what the Assistant loads when given no model."""
    name = current_name(home)
    return intent.DEFAULT_FOLDER if name == DEFAULT else models_root(home) / name


def use(home: Path, name: str) -> Version:
    """Switch to version `name` (an older one too: that is the rollback) and return it."""
    versions = {v.name: v for v in list_versions(home)}
    if name not in versions:
        known = ", ".join(versions) or "none"
        raise InputError(f"There is no usable model version named {name!r} (known: {known}).")
    _write_pointer(home, name)
    chosen = versions[name]
    for version in versions.values():
        version.current = version is chosen
    return chosen


def models_root(home: Path) -> Path:
    return paths.models_dir(Path(home))


def next_name(home: Path) -> str:
    """The name the next retrained version gets: one above any number seen, even a partial."""
    numbers = [int(m.group(1)) for p in _children(home)
               if (m := re.match(r"^v(\d{3,})", p.name))]
    return f"v{max(numbers, default=0) + 1:03d}"


# ---- internals ----------------------------------------------------------------------------


def _children(home: Path) -> list[Path]:
    root = models_root(home)
    return sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []


def _numbered(home: Path) -> list[Path]:
    folders = [p for p in _children(home) if NAME.match(p.name)]
    return sorted(folders, key=lambda p: int(NAME.match(p.name).group(1)))


def _default_version() -> Version | None:
    try:
        config = intent.read_config(intent.DEFAULT_FOLDER)
    except FrontdeskError:
        log.warning("the shipped default model is missing at %s", intent.DEFAULT_FOLDER)
        return None
    return Version(DEFAULT, intent.DEFAULT_FOLDER, config.version, len(config.labels),
                   metrics=dict(config.metrics))


def _read(folder: Path) -> Version | None:
    """The version in `folder`, or None when it is incomplete, damaged or not ours."""
    if not NAME.match(folder.name) or not (folder / intent.WEIGHTS_FILE).is_file():
        return None
    try:
        config = intent.read_config(folder)
    except FrontdeskError as err:
        log.warning("skipping model folder %s: %s", folder, err)
        return None
    if config.adapters:  # adapters are usable only beside the version they were trained on
        from engine.nlu.adapters import base_folder

        if not (base_folder(folder, config.adapters) / intent.CONFIG_FILE).is_file():
            log.warning("skipping model folder %s: the version its adapters were trained on "
                        "(%s) is gone", folder, config.adapters.get("base"))
            return None
    metrics = _json(folder / METRICS_FILE)
    return Version(folder.name, folder, config.version, len(config.labels),
                   created=str(metrics.get("created", "")), metrics=metrics)


def _json(path: Path) -> dict:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _pointer(home: Path) -> str | None:
    value = _json(models_root(home) / POINTER_FILE).get("version")
    return value if isinstance(value, str) else None


def _write_pointer(home: Path, name: str) -> None:
    """Replace current.json atomically: a reader sees the old pointer or the new, never half."""
    root = models_root(home)
    target = root / POINTER_FILE
    temporary = root / f".{POINTER_FILE}.{os.getpid()}.tmp"
    try:
        root.mkdir(parents=True, exist_ok=True)
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump({"version": name, "since": now_iso()}, handle)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except OSError as err:
        temporary.unlink(missing_ok=True)
        raise StoreError(f"Cannot record the model in use at {target}: "
                         f"{err.strerror or err}.") from err


def fused_folder(home: Path) -> Path:
    """The fused model of the version in use (its `fused/` folder), or the shipped one."""
    from engine.fusion.reader import DEFAULT_FOLDER

    folder = current(Path(home)) / FUSED_FOLDER
    return folder if (folder / "config.json").is_file() else DEFAULT_FOLDER
