"""Plain all-MiniLM-L6-v2 sentence embeddings, for ranking knowledge-base articles by meaning.

Not the intent model's `embed`: fine-tuning for intents pulls every message of one intent
together, which is exactly the difference retrieval needs when several articles answer the same
intent ("parcel lost" vs "parcel damaged"). The pretrained encoder keeps it. It loads on first
use, so a knowledge base with one article per intent never pays for it.
"""

from __future__ import annotations

import threading

import torch

from engine.nlu import encoder as text_encoder


class SentenceEncoder:
    """texts -> L2-normalised mean-pooled [N, 384] embeddings (sentence-transformers' recipe)."""

    def __init__(self, device: str = "cpu", tokenizer=None) -> None:
        self.device = device
        self._tokenizer = tokenizer
        self._model: torch.nn.Module | None = None
        self._lock = threading.Lock()

    def _loaded(self) -> torch.nn.Module:
        with self._lock:
            if self._model is None:
                if self._tokenizer is None:
                    self._tokenizer = text_encoder.load_tokenizer()
                self._model = text_encoder.load_encoder().to(self.device)
        return self._model

    @torch.inference_mode()
    def __call__(self, texts: list[str]) -> torch.Tensor:
        model = self._loaded()
        batch = self._tokenizer(texts, padding=True, truncation=True, return_tensors="pt",
                                max_length=text_encoder.MAX_LENGTH * 4).to(self.device)
        hidden = model(**batch).last_hidden_state
        pooled = text_encoder.mean_pool(hidden, batch["attention_mask"])
        return torch.nn.functional.normalize(pooled, dim=-1).cpu()
