"""Synthetic sets: deterministic, test split disjoint from training, readable as eval files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.errors import InputError
from engine.fusion.pools import load_pools, split_of, written_pool
from engine.fusion.synthetic import (
    TEST_ONLY_FONTS,
    TRAIN_FONTS,
    conversation_cases,
    human_conversation_cases,
    labels,
    screenshot_cases,
    write_jsonl,
)
from engine.vision.render import LAYOUTS, Screen, draw_screen


def test_pools_are_disjoint_and_cover_every_intent(shared_data: Path):
    pools = load_pools(shared_data)
    train = {text for texts in pools["train"].values() for text in texts}
    test = {text for texts in pools["test"].values() for text in texts}
    assert not train & test
    assert 0.15 < len(test) / (len(train) + len(test)) < 0.25
    assert len(labels(shared_data)) == 27 and sorted(pools["test"]) == labels(shared_data)
    assert all(split_of(text) == "test" for text in list(test)[:50])


def test_same_arguments_same_cases(shared_data: Path):
    first = screenshot_cases(shared_data, "train", 6, seed=3)
    again = screenshot_cases(shared_data, "train", 6, seed=3)
    other = screenshot_cases(shared_data, "train", 6, seed=4)
    assert [c.turns[0].screen.image.tobytes() for c in first] == [
        c.turns[0].screen.image.tobytes() for c in again]
    assert [c.turns[0].text for c in first] != [c.turns[0].text for c in other] or [
        c.turns[0].screen.truth_blocks for c in first] != [
        c.turns[0].screen.truth_blocks for c in other]


def test_test_cases_use_only_test_utterances(shared_data: Path):
    train_pool = {t for texts in load_pools(shared_data)["train"].values() for t in texts}
    for case in conversation_cases(shared_data, "test", 54):
        for turn in case.turns:
            assert turn.text not in train_pool
        assert case.turns[-1].role == "customer"
        stated = case.turns[case.intent_turn].text
        assert stated in load_pools(shared_data)["test"][case.intent]
    test_pool = load_pools(shared_data)["test"]
    for case in screenshot_cases(shared_data, "test", 54):
        if case.note.startswith("message"):  # the customer's own message, drawn wrapped
            drawn = " ".join(" ".join(b.text for b in case.turns[0].screen.truth_blocks).split())
            assert any(" ".join(u.split()) in drawn for u in test_pool[case.intent])


def test_training_never_sees_the_test_font():
    assert not set(TEST_ONLY_FONTS) & set(TRAIN_FONTS)


def test_cases_write_as_eval_jsonl(shared_data: Path, tmp_path: Path):
    cases = screenshot_cases(shared_data, "test", 2) + conversation_cases(shared_data, "test", 2)
    path = write_jsonl(cases, tmp_path, "synthetic")
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["intent"] for r in records] == [c.intent for c in cases]
    shot = records[0]
    assert (tmp_path / shot["image"]).is_file() and shot["synthetic"]["truth_blocks"]
    assert records[2]["history"] and "image" not in records[2]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_layout_keeps_what_it_drew_as_truth_blocks(layout: str):
    """What a test pastes and what training reads come from one renderer: every line it drew is
    a truth block, wrapped to the screen and boxed inside it."""
    long = "I was charged twice for order 1234567 and the second payment never came back"
    screen = draw_screen(Screen(layout, "Payment declined", [long], (420, 640),
                                nav=[("Home", 24), ("Help", 24)]))
    texts = [block.text for block in screen.truth_blocks]
    assert "Payment declined" in texts and screen.layout == layout
    assert long not in texts and long in " ".join(texts)  # wrapped, nothing lost
    assert ("Home" in texts) == (layout in ("page", "email", "form"))
    assert ("OK" in texts) == (layout == "dialog")
    assert all(0 <= b.box[0] < b.box[2] <= 1 and 0 <= b.box[1] < b.box[3] <= 1
               for b in screen.truth_blocks)
    with pytest.raises(InputError, match="not 'popup'"):
        draw_screen(Screen("popup", "x", [], (100, 100)))


def test_varied_screens_keep_the_split(shared_data: Path):
    """Varied renders (engine.vision.render_styles) have seeds of their own and keep the
    split's meaning: a screen shows an utterance of its own split's pool (every word of it
    drawn; lines beside it in other columns may come between in reading order)."""
    pools = load_pools(shared_data)
    for split in ("train", "test"):
        cases = screenshot_cases(shared_data, split, 27, varied=True)
        assert all("-varied-" in case.id for case in cases)
        assert all(case.turns[0].screen.layout.startswith("varied-") for case in cases)
        for case in cases:
            if case.note.startswith("message"):
                drawn = {w for b in case.turns[0].screen.truth_blocks for w in b.text.split()}
                assert any(set(u.split()) <= drawn for u in pools[split][case.intent])
    classic = screenshot_cases(shared_data, "train", 2)
    assert classic[0].turns[0].screen.layout in LAYOUTS  # the classic screens are unchanged


def test_training_conversations_state_requests_in_our_written_lines_test_ones_never(
        shared_data: Path):
    """About a third of a training conversation's statements are the team's written lines (the
    way customers state a request), train side of `split_of` only; the test split has none."""
    written = {t for texts in written_pool(shared_data).values() for t in texts}
    assert written and all(split_of(t) == "train" for t in written)
    said = lambda cases: [t.text for c in cases for t in c.turns if t.role == "customer"]  # noqa: E731
    train = said(human_conversation_cases(shared_data, "train", 120))
    assert sum(t in written for t in train) >= 10
    assert not set(said(human_conversation_cases(shared_data, "test", 120))) & written
