"""Retraining with LoRA adapters: a small version (head + adapters only) that loads back through
IntentModel.load and predicts what the model predicted right after training; its base is needed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from engine.errors import ModelError
from engine.learning import versions
from engine.learning.train import TrainOptions, fine_tune
from engine.nlu import adapters
from engine.nlu.intent import IntentModel
from tests.model_versions import NEW_INTENT, install_version, warranty_messages


@pytest.mark.slow
def test_adapters_round_trip_small_and_tied_to_their_base(home: Path, team_base_model: Path,
                                                         bitext_pools):
    _, team_rows = bitext_pools
    base = install_version(home, team_base_model, "v001")
    cases = team_rows[:40] + [type(team_rows[0])(text=t, intent=NEW_INTENT, id=f"w{i}")
                              for i, t in enumerate(warranty_messages()[:20])]
    out = home / "models" / "v002"
    options = TrainOptions(epochs=2, trainable_layers=1, adapters=True, adapter_base="v001",
                           lr=1e-3, head_lr=5e-3, seed=5)
    trained = fine_tune(cases, out, options, start_from=base)
    texts = [c.text for c in team_rows[40:52]] + warranty_messages()[-4:]
    right_after = trained.probabilities(texts)

    files = {p.name: p.stat().st_size for p in out.iterdir()}
    assert set(files) == {"config.json", "model.safetensors", adapters.ADAPTERS_FILE}
    assert files[adapters.ADAPTERS_FILE] < 100_000 and files["model.safetensors"] < 20_000
    assert (base / "model.safetensors").stat().st_size > 10 * files[adapters.ADAPTERS_FILE]
    config = json.loads((out / "config.json").read_text())
    assert config["adapters"]["base"] == "v001" and config["adapters"]["layers"] == [5]
    assert config["adapters"]["base_version"] == IntentModel.load(base).version

    loaded = IntentModel.load(out)
    assert loaded.version == trained.version and NEW_INTENT in loaded.labels
    assert torch.allclose(loaded.probabilities(texts), right_after, atol=1e-4)
    assert [p.intent for p in loaded.predict(texts)] == [p.intent for p in trained.predict(texts)]
    assert not adapters.lora_parameters(loaded)  # merged into the weights: no wrappers left
    old = IntentModel.load(base)  # the adapters changed the encoder's attention, nothing else
    query = "encoder.layer.5.attention.self.query.weight"
    assert not torch.equal(loaded.bert.state_dict()[query], old.bert.state_dict()[query])
    key = "encoder.layer.5.attention.self.key.weight"
    assert torch.equal(loaded.bert.state_dict()[key], old.bert.state_dict()[key])

    # heads only on top of an adapter version keeps its adapters and base
    again = fine_tune(cases[:30] + cases[-10:], home / "models" / "v003",
                      TrainOptions(epochs=1, heads_only=True, seed=5), start_from=out)
    assert json.loads((again.folder / "config.json").read_text())["adapters"]["base"] == "v001"
    reloaded = IntentModel.load(again.folder)
    assert torch.allclose(reloaded.probabilities(texts), again.probabilities(texts), atol=1e-4)

    shutil.rmtree(base)  # the base deleted by hand: the adapter versions go with it
    with pytest.raises(ModelError, match="trained on v001"):
        IntentModel.load(out)
    assert [v.name for v in versions.list_versions(home)] == ["default"]
