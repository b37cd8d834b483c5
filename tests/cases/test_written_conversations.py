"""Our written conversations (assets/training/conversations/<intent>.jsonl): well formed, labelled
with their file's intent, and never a copy or near-copy of a message we score on."""

from __future__ import annotations

from pathlib import Path

from engine.cases.datasets import read_cases
from engine.paths import ASSETS
from engine.types import OUT_OF_SCOPE
from tests.cases.scored import near, scored_messages, words

FOLDER = ASSETS / "training" / "conversations"


def test_every_file_is_an_intent_and_every_case_is_a_conversation_labelled_with_it() -> None:
    intents = {path.stem for path in (ASSETS / "knowledge").glob("*.yaml")}
    files = sorted(FOLDER.glob("*.jsonl"))
    assert files
    ids = set()
    for path in files:
        assert path.stem in intents | {OUT_OF_SCOPE}, path.name
        cases = read_cases(path)
        assert cases, path.name
        for case in cases:
            assert case.intent == path.stem, (path.name, case.id)
            assert case.id not in ids, case.id
            ids.add(case.id)
            assert len(case.history) >= 1, case.id
            assert all(m.role in ("customer", "agent") and m.text.strip()
                       for m in case.history), case.id
            assert case.text.strip(), case.id


def test_no_turn_copies_or_nearly_copies_a_message_we_score_on(shared_data: Path) -> None:
    """Nothing we score on is trained on, not even reworded a little: our own test messages and
    every message of frontdesk-eval dev. Two texts of 4+ words sharing 65% of their words (or
    equal) are the same message for this purpose."""
    scored = scored_messages(shared_data)
    long = [s for s in scored if len(s) >= 4]
    copies = []
    for path in sorted(FOLDER.glob("*.jsonl")):
        for case in read_cases(path):
            for text in [m.text for m in case.history] + [case.text]:
                said = words(text)
                if said in scored and len(said) >= 3 or len(said) >= 4 and any(
                        near(said, s) for s in long):
                    copies.append(f"{case.id}: {text}")
    assert not copies


def test_each_chat_is_on_one_side_of_the_split_and_a_fifth_or_so_is_held_out() -> None:
    from engine.fusion.pools import written_conversations

    train, test = written_conversations("train"), written_conversations("test")
    every = [case.id for path in sorted(FOLDER.glob("*.jsonl")) for case in read_cases(path)]
    assert sorted(c.id for c in train + test) == sorted(every)
    assert not {c.id for c in train} & {c.id for c in test}
    assert 0.1 < len(test) / len(every) < 0.3
    assert {c.intent for c in test} >= {OUT_OF_SCOPE}  # endings off topic are held out too

