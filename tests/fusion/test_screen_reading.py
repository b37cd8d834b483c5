"""A screenshot turn read by the text model too (engine.fusion.screen_reading), through
`respond` on real RapidOCR, the shipped text and fused models and a real SQLite file.

The screens are ours: a page whose one telling sentence sits among menu words and product
names, the way real shop pages look (the fused model's training templates are mostly telling
lines).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.assistant import Assistant
from engine.fusion.screen_reading import MIN_WORDS, read_screen, telling_lines
from engine.nlu.intent import IntentModel
from engine.types import OUT_OF_SCOPE, Turn
from engine.vision.ocr import OcrBlock, Screenshot
from engine.vision.render import Screen, draw_screen

NAV = [("Home", 32), ("Shop", 32), ("Account", 32)]
# (intent, heading, lines): one sentence says it, the rest is what pages are full of
PAGES = [
    ("track_refund", "Wallet", ["Cards", "Home", "Offers",
                                "Your refund of 18.40 is still being processed", "Shop"]),
    ("delete_account", "Settings", ["Profile", "Orders", "Wishlist", "Notifications",
                                    "Close your account for good",
                                    "Download your data before you leave", "Language"]),
]


def _page(folder: Path, heading: str, lines: list[str]) -> Path:
    path = folder / f"{heading.lower()}.png"
    draw_screen(Screen("page", heading, lines, (900, 520), text_px=20, nav=NAV)).image.save(path)
    return path


def _shot(lines: list[str]) -> Screenshot:
    blocks = tuple(OcrBlock(line, (0.1, i / 20, 0.9, (i + 1) / 20), 0.99)
                   for i, line in enumerate(lines))
    return Screenshot("0" * 64, 900, 520, blocks, "\n".join(lines))


pytestmark = pytest.mark.slow  # the text, fused and OCR models load here


@pytest.mark.parametrize(("intent", "heading", "lines"), PAGES)
def test_a_page_is_named_by_its_telling_line_among_menu_words(
    multimodal_assistant: Assistant, tmp_path: Path, intent: str, heading: str,
    lines: list[str],
) -> None:
    assistant = multimodal_assistant
    session = assistant.new_session(channel="test")
    reply = assistant.respond(session, Turn(text="help", images=[_page(tmp_path, heading, lines)]))
    assert reply.intent == intent  # the fused model alone said otherwise or was unsure
    assert reply.evidence.model == "fused" and reply.evidence.fused is not None
    boxes = reply.evidence.boxes
    telling = next(line for line in lines if len(line.split()) >= 4)
    assert boxes[0].text.lower() == telling.lower()  # the line that drove it, first
    weights = [box.weight for box in boxes]
    assert weights == sorted(weights, reverse=True) and 0.99 <= sum(weights) <= 1.0001
    attachment = assistant.store.attachments(reply.turn_id)[0]
    assert all(box.attachment_id == attachment["id"] and box.turn_id == reply.turn_id
               and box.box is not None for box in boxes)
    assert all(len(box.text.split()) >= MIN_WORDS for box in boxes)


def test_a_football_score_is_out_of_scope(multimodal_assistant: Assistant,
                                          tmp_path: Path) -> None:
    assistant = multimodal_assistant
    page = _page(tmp_path, "Scores", ["Football scores", "Arsenal 2 - 1 Chelsea",
                                      "Kick off 20:00"])
    reply = assistant.respond(assistant.new_session(channel="test"),
                              Turn(text="should i?", images=[page]))
    assert reply.intent == OUT_OF_SCOPE
    assert reply.evidence.fused is not None and reply.evidence.fused.intent != OUT_OF_SCOPE
    assert reply.evidence.boxes and reply.draft  # the hand-off article, with its lines shown


def test_only_lines_of_words_are_read_and_they_stay_in_screen_order(
    default_intent_model: IntentModel,
) -> None:
    lines = ["Orders", "Your parcel is waiting at the depot", "Help", "Track parcel",
             "Qty 1", "Tea"]
    chosen, probs = telling_lines(default_intent_model, lines, keep=2)
    assert chosen == sorted(chosen) and len(chosen) == 2
    assert all(len(lines[i].split()) >= MIN_WORDS for i in chosen)
    assert probs[0].sum() == 0 and abs(float(probs[1].sum()) - 1) < 1e-4  # one word: unread


def test_nothing_to_combine_is_left_to_the_fused_model(default_intent_model: IntentModel) -> None:
    model = default_intent_model
    in_scope = [label for label in model.labels if label != OUT_OF_SCOPE]
    fused = {label: 1 / len(in_scope) for label in in_scope}
    # a team's fused model with other intents: no product of experts over unknown labels
    shot = [(1, _shot(["Payment declined by your bank"]))]
    assert read_screen(model, "help", shot, {"billing": 1.0}) is None
    # one retrained on the team's corrections knows an intent the text model does not
    assert read_screen(model, "help", shot, fused | {"warranty_claim": 0.0}) is None
    # no message and no line of two words: the text model has nothing to read
    assert read_screen(model, "", [(1, _shot(["Home", "Tea"]))], fused) is None


def test_an_off_topic_screen_is_out_of_scope_unless_the_fused_model_is_sure(
    default_intent_model: IntentModel,
) -> None:
    model = default_intent_model
    in_scope = [label for label in model.labels if label != OUT_OF_SCOPE]
    news = [(7, _shot(["Breaking news", "Parliament votes on the new budget today",
                       "Read more"]))]
    unsure = {label: 1 / len(in_scope) for label in in_scope}
    read = read_screen(model, "is this true", news, unsure, turn_id=3)
    assert read is not None and read.prediction.intent == OUT_OF_SCOPE
    assert read.boxes[0].text == "Parliament votes on the new budget today"
    assert read.boxes[0].attachment_id == 7 and read.boxes[0].turn_id == 3
    # a sure fused model lets the product name an intent; the text model's own threshold still
    # applies to it (a fused model barely past fused_sure may leave the product below it)
    sure = {label: 0.3 / 26 for label in in_scope} | {"track_order": 0.7}
    read = read_screen(model, "is this true", news, sure, fused_sure=0.4)
    assert read is not None and read.prediction.intent == "track_order"
    read = read_screen(model, "is this true", news, sure, fused_sure=0.8)
    assert read is not None and read.prediction.intent == OUT_OF_SCOPE


def test_the_fused_model_takes_part(default_intent_model: IntentModel) -> None:
    model = default_intent_model
    in_scope = [label for label in model.labels if label != OUT_OF_SCOPE]
    shot = [(1, _shot(["Order 5521", "Where is my parcel", "Home"]))]
    even = read_screen(model, "?", shot, {label: 1 / len(in_scope) for label in in_scope})
    assert even is not None and even.prediction.intent == "track_order"
    sure = {label: 1e-6 for label in in_scope} | {"cancel_order": 1 - 1e-6 * 26}
    leaning = read_screen(model, "?", shot, sure)  # a fused model sure of something else
    assert leaning is not None and leaning.prediction.intent == "cancel_order"
    assert leaning.prediction.confidence < 0.99 < sure["cancel_order"]  # a mean, not a veto


def test_a_screenshot_turn_reads_its_attachment_once_and_the_message_alone_never(
    multimodal_assistant: Assistant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The reading OCR gave is handed on (reader -> fused model -> screen reading), not read
    from the store again, and the text model does not read the message alone when the message
    with the screen's lines answers (it used to, twice and once more)."""
    assistant = multimodal_assistant
    intent, heading, lines = PAGES[0]
    page = _page(tmp_path, heading, lines)
    store, model = assistant.store, assistant.model
    asked: list[int] = []
    alone: list[list[str]] = []
    real_attachments, real_predict = store.attachments, model.predict
    monkeypatch.setattr(store, "attachments",
                        lambda turn_id: asked.append(turn_id) or real_attachments(turn_id))
    monkeypatch.setattr(model, "predict", lambda texts: alone.append(texts) or real_predict(texts))
    reply = assistant.respond(assistant.new_session(channel="test"),
                              Turn(text="help", images=[page]))
    assert reply.intent == intent and reply.evidence.boxes
    assert asked.count(reply.turn_id) == 1 and alone == []
    assert reply.evidence.boxes[0].attachment_id == real_attachments(reply.turn_id)[0]["id"]
