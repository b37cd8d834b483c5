"""A screenshot's OCR blocks as the fused model reads them: text, place and look of each.

`blocks_for_turns` turns each conversation turn's screenshots into one padded row of blocks;
`BlockEncoder` makes each block one vector (its text embedding + its 2-D box + the visual
feature of its region) for engine.fusion.model's cross-attention to attend over.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import torch
from torch import nn

from engine.fusion.graph import MAX_BLOCKS, ConversationTurn


class BlockSizes(Protocol):
    """The sizes blocks need (engine.fusion.model.FusionConfig has them)."""

    text_dim: int
    visual_dim: int


@dataclass
class Blocks:
    """OCR blocks of one screenshot per row: padded to K, `mask` marks the real ones."""

    text: torch.Tensor  # [B, K, text_dim] sentence embeddings of the block texts
    box: torch.Tensor  # [B, K, 4] (x0, y0, x1, y1) as fractions of the image
    visual: torch.Tensor  # [B, K, visual_dim] roi_align features (zeros when not computed)
    mask: torch.Tensor  # [B, K] bool

    @classmethod
    def empty(cls, rows: int, config: BlockSizes, device: torch.device | None = None) -> Blocks:
        """No screenshot on any of `rows` turns."""
        return cls(
            torch.zeros(rows, 1, config.text_dim, device=device),
            torch.zeros(rows, 1, 4, device=device),
            torch.zeros(rows, 1, config.visual_dim, device=device),
            torch.zeros(rows, 1, dtype=torch.bool, device=device),
        )

    def to(self, device: torch.device) -> Blocks:
        return Blocks(*(t.to(device) for t in (self.text, self.box, self.visual, self.mask)))


def blocks_for_turns(
    turns: list[ConversationTurn], embed, config: BlockSizes
) -> Blocks:
    """One `Blocks` row per turn: the OCR blocks of all its screenshots (up to MAX_BLOCKS).

    `embed(texts) -> [n, text_dim]` embeds the block texts in one call; visual features come
    from `turn.visuals` where the caller computed them (zeros otherwise).
    """
    rows = []
    for turn in turns:
        row = []
        for s, shot in enumerate(turn.screenshots):
            visual = turn.visuals[s] if s < len(turn.visuals) else None
            for b, block in enumerate(shot.blocks[:MAX_BLOCKS]):
                vector = None if visual is None else visual.box_vectors[b]
                row.append((block.text, block.box, vector))
        rows.append(row[:MAX_BLOCKS])
    width = max(1, max(len(row) for row in rows))
    out = Blocks(
        torch.zeros(len(turns), width, config.text_dim),
        torch.zeros(len(turns), width, 4),
        torch.zeros(len(turns), width, config.visual_dim),
        torch.zeros(len(turns), width, dtype=torch.bool),
    )
    texts = [text for row in rows for text, _, _ in row]
    vectors = embed(texts).float().cpu() if texts else None
    k = 0
    for r, row in enumerate(rows):
        for c, (_, box, visual) in enumerate(row):
            out.text[r, c] = vectors[k]
            out.box[r, c] = torch.tensor(box)
            if visual is not None:
                out.visual[r, c] = visual
            out.mask[r, c] = True
            k += 1
    return out


def box_features(box: torch.Tensor) -> torch.Tensor:
    """(x0, y0, x1, y1) -> centre, size and corners: 8 numbers a small MLP can place."""
    x0, y0, x1, y1 = box.unbind(-1)
    return torch.stack([x0, y0, x1, y1, (x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0], dim=-1)


class BlockEncoder(nn.Module):
    """Text embedding + 2-D position + visual feature of a block -> one vector of text_dim."""

    def __init__(self, config: BlockSizes) -> None:
        super().__init__()
        dim = config.text_dim
        self.text = nn.Linear(dim, dim)
        self.position = nn.Sequential(nn.Linear(8, 64), nn.GELU(), nn.Linear(64, dim))
        self.visual = nn.Sequential(
            nn.LayerNorm(config.visual_dim), nn.Linear(config.visual_dim, dim)
        )
        self.norm = nn.LayerNorm(dim)

    def forward(self, blocks: Blocks) -> torch.Tensor:
        out = self.text(blocks.text) + self.position(box_features(blocks.box))
        has_visual = blocks.mask & (blocks.visual.abs().sum(-1) > 0)
        if has_visual.any():  # only rows with features pay for the 1280-d projection
            visual = torch.zeros_like(out)
            visual[has_visual] = self.visual(blocks.visual[has_visual])
            out = out + visual
        return self.norm(out)
