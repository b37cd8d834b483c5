"""Bad input through the command line is one clear sentence, never a traceback (issue 15 item 6).

Each case writes a real file a person could hand the command by mistake and runs the real
`frontdesk` entry point; the shipped model answers where a model is needed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.cli import main

DEEP = "[" * 100_000 + "]" * 100_000  # json.loads raises RecursionError on this


def one_sentence(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("frontdesk: ") and "\n" not in err and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("line", [
    DEEP,
    json.dumps({"text": "x", "intent": "track_order", "history": []}).replace("[]", DEEP),
], ids=["deep-line", "deep-history"])
def test_eval_on_deeply_nested_json_is_one_sentence(tmp_path: Path, capsys, line: str) -> None:
    cases = tmp_path / "cases.jsonl"
    cases.write_text(line + "\n")
    assert main(["eval", str(cases)]) == 2
    assert "cases.jsonl line 1 is nested too deeply" in one_sentence(capsys)


@pytest.mark.parametrize("history", [["hello"], [3], [{"role": "agent"}], [None]])
def test_eval_history_entry_that_is_not_an_object_is_one_sentence(
    tmp_path: Path, capsys, history: list
) -> None:
    cases = tmp_path / "cases.jsonl"
    cases.write_text(json.dumps({"text": "where is my order", "intent": "track_order",
                                 "history": history}) + "\n")
    assert main(["eval", str(cases)]) == 2
    assert "history entry 1 is not an object with a `text`" in one_sentence(capsys)


def test_ask_with_a_deeply_nested_history_is_one_sentence(home: Path, tmp_path: Path,
                                                           capsys) -> None:
    for name, content in (("h.json", DEEP), ("h.jsonl", '{"text": "hi"}\n' + DEEP + "\n")):
        history = tmp_path / name
        history.write_text(content)
        assert main(["ask", "where is my order", "--history", str(history)]) == 2
        assert "nested too deeply" in one_sentence(capsys)


def test_home_pointing_at_a_file_is_one_sentence(tmp_path: Path, capsys) -> None:
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine")
    for home in (a_file, a_file / "inside"):
        assert main(["--home", str(home), "sessions"]) == 2
        assert "is a file (or lies inside one), not a folder" in one_sentence(capsys)
    assert a_file.read_text() == "mine"


def test_eval_warns_about_and_counts_intents_the_model_does_not_know(
    tmp_path: Path, capsys
) -> None:
    cases = tmp_path / "cases.jsonl"
    rows = [("where is my order 5521?", "track_order"), ("can I pay in bitcoin", "pay_crypto"),
            ("pay with dogecoin?", "pay_crypto"), ("what is the weather", "out_of_scope")]
    cases.write_text("".join(json.dumps({"text": t, "intent": i}) + "\n" for t, i in rows))
    assert main(["eval", str(cases), "--json"]) == 0
    captured = capsys.readouterr()
    metrics = json.loads(captured.out)
    assert metrics["cases"] == 4 and metrics["unknown_intent_cases"] == 2
    warning = captured.err.strip()
    assert warning == ("frontdesk: warning: 2 of 4 cases have an intent the model does not know "
                       "(pay_crypto (2)); they count as errors.")
