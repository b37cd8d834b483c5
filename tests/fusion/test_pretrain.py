"""Self-supervised pretraining (engine.fusion.pretrain) on a few real synthetic cases and MiniLM."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch

from engine.errors import ModelError
from engine.fusion.frozen_text import FrozenText
from engine.fusion.model import FusedModel, apply_pretrained
from engine.fusion.pools import load_pools, split_of
from engine.fusion.pretrain import (
    PretrainConfig,
    load_pretrained,
    pretrain,
    save_pretrained,
    unlabelled,
)
from engine.fusion.synthetic import labels
from engine.fusion.train import mode_config, train


@pytest.fixture(scope="module")
def text() -> FrozenText:
    return FrozenText()


@pytest.fixture(scope="module")
def unlabelled_items(shared_data: Path, text: FrozenText):
    return unlabelled(shared_data, text, shots=8, convs=8)


def test_unlabelled_data_is_training_side_without_labels(unlabelled_items, shared_data: Path):
    shots, convs = unlabelled_items
    assert len(shots) == 8 and len(convs) == 8
    for item in shots + convs:
        assert item.label == -1
        assert item.case.id.startswith("train-") and "-0-" not in item.case.id
    pool = {t for texts in load_pools(shared_data)["test"].values() for t in texts}
    said = [turn.text for item in convs for turn in item.case.turns]
    assert not pool & set(said)  # no held-out utterance
    stated = [item.case.turns[item.case.intent_turn].text for item in convs]
    assert all(split_of(t) == "train" for t in stated)


def test_pretraining_loss_decreases_and_moves_both_parts(unlabelled_items, text, shared_data):
    torch.set_num_threads(1)
    shots, convs = unlabelled_items
    fusion = mode_config("full", labels(shared_data))
    config = PretrainConfig(epochs=8, batch_size=8, lr=3e-3)
    state, history = pretrain(fusion, shots, convs, text, config, log=None)
    assert history[-1] < 0.7 * history[0], history
    fresh = FusedModel(fusion).state_dict()
    assert float(state["cross.attn_gate"].abs()) > 0  # starts at 0: the image path was trained
    assert not torch.equal(state["gnn.convs.0.lin_l.weight"], fresh["gnn.convs.0.lin_l.weight"])
    assert all(name.startswith(("cross.", "gnn.")) for name in state)


def test_pretrained_state_loads_into_the_fused_model(unlabelled_items, text, shared_data,
                                                     tmp_path: Path):
    torch.set_num_threads(1)
    shots, convs = unlabelled_items
    fusion = mode_config("full", labels(shared_data))
    config = PretrainConfig(epochs=1, batch_size=8)
    state, history = pretrain(fusion, shots, convs, text, config, log=None)
    save_pretrained(state, config, history, tmp_path)
    loaded = load_pretrained(tmp_path)
    model = apply_pretrained(FusedModel(fusion), loaded)
    for name, tensor in state.items():
        assert torch.equal(model.state_dict()[name], tensor), name
    # fine-tuning starts from it (a fresh head) with the intents the cases were drawn with
    names = fusion.labels
    labelled = [replace(item, label=names.index(item.case.intent)) for item in shots[:8]]
    tuned = train(fusion, labelled, epochs=1, log=None, initial=loaded)
    assert tuned.cross.attn_gate.item() != 0
    smaller = mode_config("full", labels(shared_data), gnn_dim=128)
    with pytest.raises(ModelError, match="do not fit"):
        apply_pretrained(FusedModel(smaller), loaded)
    with pytest.raises(ModelError):
        load_pretrained(tmp_path / "missing")
