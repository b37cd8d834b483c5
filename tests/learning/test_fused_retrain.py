"""Retraining the fused model from the logs: screenshot turns the agent corrected become a new
fused model inside the next version, and the Assistant answers screenshots with it."""

from __future__ import annotations

import json
import random
from pathlib import Path
from types import SimpleNamespace

import pytest

from engine.assistant import Assistant
from engine.cli.models_cmds import fused_line
from engine.fusion.model import FusedModel
from engine.fusion.reader import DEFAULT_FOLDER
from engine.fusion.synthetic import TEST_ONLY_FONTS, render_screen
from engine.learning import fused_retrain, retrain, versions
from engine.model_folder import FUSED_FOLDER
from engine.types import Turn
from tests.model_versions import NEW_INTENT, warranty_messages

TYPED = [  # typed messages of intents both models know (the text model's part of the logs)
    ("where is my parcel, it should have arrived by now", "track_order"),
    ("I want to cancel the order I placed this morning", "cancel_order"),
    ("how do I get my money back for the broken lamp", "get_refund"),
    ("please send my package to my new address instead", "change_shipping_address"),
    ("track my order please", "track_order"),
    ("cancel my order", "cancel_order"),
]


def screenshot(folder: Path, index: int, message: str) -> Path:
    """A customer's screenshot of their own warranty message, in a font training never saw."""
    path = folder / f"warranty-{index}.png"
    render_screen(random.Random(index), NEW_INTENT, message, TEST_ONLY_FONTS).image.save(path)
    return path


@pytest.mark.slow
def give_typed_feedback(engine: Assistant) -> None:
    """The agent's verdict on each typed message of TYPED: accepted when right, else corrected."""
    for text, intent in TYPED:
        reply = engine.respond(engine.new_session(), Turn(text=text))
        action = "accepted" if reply.intent == intent else "corrected"
        engine.feedback(reply.id, action, corrected_intent=intent)


def test_screenshot_corrections_retrain_the_fused_model(
    tmp_path: Path, default_intent_model, shipped_knowledge, screen_reader
) -> None:
    home = tmp_path / "home"
    with Assistant(home, model=default_intent_model, knowledge=shipped_knowledge) as engine:
        engine.screen_reader = screen_reader
        for index, message in enumerate(warranty_messages()[:20]):
            path = screenshot(tmp_path, index, message)
            reply = engine.respond(engine.new_session(), Turn(text="see attached", images=[path]))
            assert reply.intent != NEW_INTENT  # neither model knows it yet
            engine.feedback(reply.id, "corrected", corrected_intent=NEW_INTENT)
        give_typed_feedback(engine)
        shipped_version = engine.multimodal.version

    calls: list[tuple[int, int]] = []
    result = retrain.retrain_from_store(
        home, retrain.RetrainOptions(heads_only=True, eval_fraction=0.3),
        progress=lambda done, total: calls.append((done, total)))
    fused_steps = calls[-1][1]  # the fused model trains last, and its bar runs to the end
    assert calls[-1] == (fused_steps, fused_steps) and (1, fused_steps) in calls
    fused = json.loads((result.folder / versions.METRICS_FILE).read_text())["fused"]
    # every screenshot was read from the store's own readings: nothing OCRed twice, none lost
    assert fused["images_read_now"] == 0 and fused["images_missing"] == 0
    assert fused["train_cases"] >= fused_retrain.MIN_CASES and fused["heldout_cases"] >= 3
    assert fused["before"]["new_intent_recall"][NEW_INTENT] == 0.0
    assert fused["after"]["new_intent_recall"][NEW_INTENT] >= 0.5
    assert fused["new_intents"] == [NEW_INTENT]
    assert fused_line(fused).startswith(f"fused model retrained on {fused['train_cases']} turns")
    model = FusedModel.load(result.folder / FUSED_FOLDER)
    assert model.labels[-1] == NEW_INTENT and model.labels[:-1] == FusedModel.load(
        DEFAULT_FOLDER).labels  # the known intents keep their rows, in order

    assert versions.fused_folder(home) == DEFAULT_FOLDER  # not switched to by itself
    with Assistant(home, knowledge=shipped_knowledge) as engine:
        engine.screen_reader = screen_reader
        assert engine.multimodal.version == shipped_version
        engine.use_version(result.version)  # as the Train dialog's "Use" does
        assert versions.fused_folder(home) == result.folder / FUSED_FOLDER
        assert engine.multimodal.version != shipped_version
        assert NEW_INTENT in engine.multimodal.labels
        assert engine.multimodal.screen_reader is screen_reader  # OCR not loaded again
    assert screen_reader.ocr_for_sha256 is None  # a closed Assistant's store is asked no more


def test_too_few_screenshot_turns_keep_the_fused_model(tmp_path: Path) -> None:
    """Logs without screenshots: no fused folder is written and the metrics say why."""
    cases = [SimpleNamespace(text="where is my order", intent="track_order", history=[],
                             images=[], folder=None)] * 30
    out = tmp_path / "fused"
    report = fused_retrain.retrain_fused(cases, [], tmp_path / "home", out)
    assert report["train_cases"] == 0 and "fewer than" in report["kept"]
    assert fused_line(report).startswith("fused model kept (fewer than")
    assert not out.exists()


def test_an_exported_image_that_is_gone_is_counted_not_fatal(tmp_path: Path) -> None:
    readings = fused_retrain.Readings()
    case = SimpleNamespace(text="see attached", history=[], images=["images/" + "0" * 64 + ".png"],
                           folder=tmp_path)
    assert fused_retrain.conversation(case, readings) is None  # no screenshot left to read
    assert readings.missing == 1


@pytest.mark.slow
def test_multi_turn_corrections_reach_the_fused_model(
    tmp_path: Path, default_intent_model, shipped_knowledge
) -> None:
    """Issue 13: a team's follow-ups without screenshots ("any news on that?" after a warranty
    request) train the conversation model too, not only the text model."""
    home = tmp_path / "home"
    with Assistant(home, model=default_intent_model, knowledge=shipped_knowledge) as engine:
        for message in warranty_messages()[:20]:
            session = engine.new_session()
            engine.add_turn(session, Turn(text=message))
            engine.add_turn(session, Turn(text="Let me look into that.", role="agent"))
            reply = engine.respond(session, Turn(text="any news on that?"))
            assert reply.intent != NEW_INTENT  # neither model knows it yet
            engine.feedback(reply.id, "corrected", corrected_intent=NEW_INTENT)
        give_typed_feedback(engine)
    result = retrain.retrain_from_store(home, retrain.RetrainOptions(heads_only=True,
                                                                     eval_fraction=0.3))
    fused = json.loads((result.folder / versions.METRICS_FILE).read_text())["fused"]
    assert fused["train_cases"] >= fused_retrain.MIN_CASES and fused["heldout_cases"] >= 3
    assert fused["new_intents"] == [NEW_INTENT]
    assert fused["after"]["new_intent_recall"][NEW_INTENT] >= 0.5
