"""Token states and sentence vectors from a frozen text encoder, each distinct text once.

The fused model reads MiniLM frozen: its training (engine.fusion.train), its retraining from the
logs and every screenshot or conversation turn at answer time (engine.fusion.reader) get their
text features here. Plain MiniLM packs the texts into rows (engine.nlu.encoder.packed_states); an
IntentModel folder as encoder runs padded batches through its frozen and tuned layers.
"""

from __future__ import annotations

from pathlib import Path

import torch

from engine.nlu import encoder


class FrozenText:
    """Token states and sentence vectors from a frozen encoder (MiniLM or an IntentModel)."""

    def __init__(self, intent_folder: Path | None = None, device: str = "cpu") -> None:
        self.device = torch.device(device)
        if intent_folder is not None:
            from engine.nlu.intent import IntentModel

            model = IntentModel.load(intent_folder, device=device)
            self.tokenizer = model.tokenizer
            self.forward = lambda ids, mask: model.upper(model.lower(ids, mask), mask)
            self.bert = None  # its frozen and tuned layers run apart: padded batches
            self.name = f"IntentModel {model.version}"
        else:
            bert = encoder.load_encoder().to(self.device)
            self.tokenizer = encoder.load_tokenizer()
            self.forward = lambda ids, mask: bert(input_ids=ids, attention_mask=mask)[0]
            self.bert = bert  # plain MiniLM: texts are packed into rows (encoder.packed_states)
            self.name = encoder.BASE_NAME
        self._memo: dict[tuple[str, int, bool], torch.Tensor] = {}

    @torch.inference_mode()
    def token_states(
        self, texts: list[str], max_length: int = 64, from_left: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor]:
        self.tokenizer.truncation_side = "left" if from_left else "right"
        batch = self.tokenizer([t or " " for t in texts], padding=True, truncation=True,
                               max_length=max_length, return_tensors="pt")
        self.tokenizer.truncation_side = "right"
        ids, mask = batch["input_ids"].to(self.device), batch["attention_mask"].to(self.device)
        return self.forward(ids, mask).float().cpu(), mask.cpu()

    def states(
        self, texts: list[str], max_length: int = 64, from_left: bool = False
    ) -> list[torch.Tensor]:
        """Unpadded token states [T_i, 384] per text; each distinct text is encoded once."""
        missing = sorted({t for t in texts if (t, max_length, from_left) not in self._memo},
                         key=len)
        if self.bert is not None:
            for start in range(0, len(missing), 512):
                chunk = missing[start : start + 512]
                with torch.inference_mode():
                    found = encoder.packed_states(self.bert, self.tokenizer, chunk,
                                                  max_length, from_left)
                for text, state in zip(chunk, found, strict=True):
                    self._memo[(text, max_length, from_left)] = state
            return [self._memo[(t, max_length, from_left)] for t in texts]
        for start in range(0, len(missing), 128):
            chunk = missing[start : start + 128]
            hidden, mask = self.token_states(chunk, max_length, from_left)
            for text, h, m in zip(chunk, hidden, mask, strict=True):
                self._memo[(text, max_length, from_left)] = h[m.bool()].clone()
        return [self._memo[(t, max_length, from_left)] for t in texts]

    def embed(self, texts: list[str], keep: bool = True) -> torch.Tensor:
        """L2-normalised mean of the token states [n, 384]. `keep=False`: the token states of
        texts not cached before are dropped again (a recipe's tens of thousands of texts)."""
        if not texts:
            return torch.zeros(0, 384)
        known = set() if keep else set(self._memo)
        pooled = torch.stack([state.mean(0) for state in self.states(texts)])
        if not keep:
            for key in set(self._memo) - known:
                del self._memo[key]
        return torch.nn.functional.normalize(pooled, dim=-1)
