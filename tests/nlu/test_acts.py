"""Dialogue acts (engine.nlu.acts): the shipped head on real MiniLM vectors, its recipe, and
the refusals of a folder that is not one."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import torch

from engine.errors import InputError
from engine.nlu.acts import (
    ACTS,
    DETAIL,
    REQUEST,
    SOCIAL,
    YES,
    DialogueActs,
    fit,
    is_detail,
    is_reply,
    multidogo_act,
)
from engine.recipes import dialogue_acts as recipe


@pytest.mark.parametrize(("text", "act"), [
    ("can I get my money back for the kettle?", REQUEST),
    ("my parcel never turned up", REQUEST),
    ("how do I change the email on my account", REQUEST),
    ("91837", DETAIL),
    ("sam.holt@example.net", DETAIL),
    ("size large", DETAIL),
    ("yes please do", YES),
    ("no thats everything thanks", "no"),
    ("good morning", SOCIAL),
])
def test_the_shipped_head_reads_what_a_message_does(shipped_acts, frozen_minilm, text: str,
                                                    act: str) -> None:
    read = shipped_acts.read(frozen_minilm.embed([text])[0])
    assert max(read, key=read.get) == act
    assert sum(read.values()) == pytest.approx(1.0, abs=1e-5)
    assert is_reply(read) == (act != REQUEST)
    assert is_detail(read) == (act == DETAIL)


def test_it_tells_requests_from_replies_on_multidogo_dev(shipped_acts, frozen_minilm,
                                                         shared_data: Path) -> None:
    """Held-out human turns (MultiDoGO dev, every domain; the recipe trains on train): the
    shipped head read 0.953 of 11,062 right as request or reply; 400 drawn here."""
    turns = random.Random(0).sample(recipe.multidogo_turns(shared_data, "dev"), 400)
    probs = shipped_acts.probabilities(frozen_minilm.embed([t for t, _ in turns]))
    said = [ACTS[i] == REQUEST for i in probs.argmax(-1).tolist()]
    right = sum(s == (act == REQUEST) for s, (_, act) in zip(said, turns, strict=True))
    assert right / len(turns) >= 0.9


def test_multidogo_labels_map_to_acts() -> None:
    assert multidogo_act(["bookflight"]) == REQUEST
    assert multidogo_act(["contentonly", "bookflight"]) == REQUEST
    assert multidogo_act(["contentonly"]) == DETAIL
    assert multidogo_act(["confirmation"]) == YES
    assert multidogo_act(["openinggreeting", "thankyou"]) == SOCIAL
    assert multidogo_act(["confirmation", "contentonly"]) is None  # two kinds of reply
    assert multidogo_act(["outofdomain"]) is None and multidogo_act([]) is None


def test_a_folder_that_is_not_an_act_model_is_refused_in_one_sentence(tmp_path: Path,
                                                                      shipped_acts) -> None:
    with pytest.raises(InputError, match="not a dialogue-act model"):
        DialogueActs.load(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"labels": list(ACTS)}))
    (tmp_path / "acts.safetensors").write_bytes(b"\x00garbage")
    with pytest.raises(InputError, match="not a dialogue-act model"):
        DialogueActs.load(tmp_path)
    other = DialogueActs(torch.zeros(len(ACTS), 768), torch.zeros(len(ACTS)))
    other.save(tmp_path)
    with pytest.raises(InputError, match="another shape"):
        DialogueActs.load(tmp_path)
    shipped_acts.save(tmp_path)
    again = DialogueActs.load(tmp_path)
    assert torch.equal(again.weight, shipped_acts.weight)


def test_too_little_training_data_is_refused() -> None:
    vectors = torch.randn(6, 384)
    with pytest.raises(InputError, match="no examples of"):
        fit(vectors, torch.tensor([0, 0, 1, 1, 2, 2]))


def _tsv(rows: list[tuple[str, int, str, str]]) -> str:
    head = "conversationId\tturnNumber\tutteranceId\tutterance\tslot-labels\tintent\n"
    return head + "".join(f"{c}\t{n}\t{c}-{n}\t{text}\tO\t{label}\n"
                          for c, n, text, label in rows)


@pytest.mark.slow
def test_the_recipe_writes_a_model_that_loads(tmp_path: Path) -> None:
    """The recipe end to end on a small MultiDoGO-shaped folder (every act present), with our
    written lines as requests: a folder the app loads, its dev figures in config.json."""
    rows = [("a", 1, "hello there", "openinggreeting"), ("a", 3, "i want to book a flight",
            "bookflight"), ("a", 5, "4471", "contentonly"), ("a", 7, "yes", "confirmation"),
            ("a", 9, "no thats all", "rejection"), ("a", 11, "thanks bye", "thankyou")]
    for domain in recipe.DOMAINS:
        (tmp_path / "multidogo" / domain).mkdir(parents=True)
        for split in ("train", "dev"):
            (tmp_path / "multidogo" / domain / f"{split}.tsv").write_text(_tsv(rows))
    out = tmp_path / "acts"
    assert recipe.main(["--data", str(tmp_path), "--out", str(out), "--per-act", "3"]) == 0
    acts = DialogueActs.load(out)
    config = json.loads((out / "config.json").read_text())
    assert config["multidogo_dev"]["turns"] == 6 * len(rows)
    assert config["trained_on"]["written_lines_as_request"] > 1000
    assert acts.probabilities(torch.randn(2, 384)).shape == (2, len(ACTS))
    with pytest.raises(InputError, match="finance/train.tsv is missing"):
        (tmp_path / "multidogo" / "finance" / "train.tsv").unlink()
        recipe.main(["--data", str(tmp_path), "--out", str(tmp_path / "again")])


def test_a_recipe_embeds_without_keeping_token_states(frozen_minilm) -> None:
    """`FrozenText.embed(keep=False)` (the recipe's tens of thousands of texts): the same vectors,
    and the encoder's cache holds no more than before."""
    texts = ["my parcel is late", "91837", "a text this test alone embeds"]
    cached = len(frozen_minilm._memo)
    dropped = frozen_minilm.embed(texts, keep=False)
    assert len(frozen_minilm._memo) == cached
    assert torch.allclose(dropped, frozen_minilm.embed(texts), atol=1e-6)
