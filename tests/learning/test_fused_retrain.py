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


def test_answer_retraining_and_training_files_give_the_model_the_same_turns(
    store, store_screenshot: Path, tmp_path: Path
) -> None:
    """One conversation builder (engine.fusion.graph.conversation_turns): the turns the fused
    model is shown at answer time (the store), when retrained (the export of that session) and
    when trained from a file of cases are the same; our own drafts are never among them."""
    from engine.cases.datasets import read_cases
    from engine.exchange.records import export_records
    from engine.fusion.graph import conversation_turns
    from engine.fusion.reader import MultimodalReader
    from engine.learning.logged_cases import read_exports
    from engine.types import Message, Reply

    session = store.new_session()
    typed = [("hi, my order 55123 hasn't arrived", "customer"),
             ("Sorry about that! Could you send the tracking page?", "agent"),
             ("Our draft: tracking shows it was delivered.", "assistant")]
    for text, role in typed:
        store.add_turn(session, Turn(text=text, role=role))
    pictured = store.add_turn(session, Turn(images=[store_screenshot], source="image"))
    reader = MultimodalReader(store)
    [(_, shot)] = reader.read_turn(pictured)
    store.set_turn_text(pictured, shot.text)  # as the Assistant keeps a screenshot-only turn
    last = store.add_turn(session, Turn(text="still nothing since the 3rd, order 55123"))
    reply_id = store.add_reply(last, Reply(intent="track_order", confidence=0.9, level="High",
                                           top=[("track_order", 0.9)]))
    store.add_feedback(reply_id, "accepted")

    def seen(turns) -> list[tuple]:
        return [(t.text, t.role, [s.text for s in t.screenshots],
                 [(e.type, e.value) for e in t.entities]) for t in turns]

    history = [Message.from_store(row) for row in store.turns(session)]
    served, _ = reader.conversation(history, last)
    export = tmp_path / "export.jsonl"
    export_records(store, export, redact=False)
    [logged], _ = read_exports([export])
    retrained = fused_retrain.conversation(logged, fused_retrain.Readings(store))
    assert seen(served) == seen(retrained)
    assert [t.role for t in served] == ["customer", "agent", "customer", "customer"]
    assert served[2].text == "" and served[2].screenshots[0].text == shot.text

    cases = tmp_path / "cases.jsonl"  # the same words as a training file (no screenshots)
    cases.write_text(json.dumps({"text": logged.text, "intent": "track_order", "history": [
        {"role": role, "text": text} for text, role in typed]}) + "\n", encoding="utf-8")
    [case] = read_cases(cases)
    from_file = conversation_turns([*case.history, Message("customer", case.text)])
    without_shot = [m for m in history if not m.attachments]
    assert seen(from_file) == seen(reader.conversation(without_shot, last)[0])
