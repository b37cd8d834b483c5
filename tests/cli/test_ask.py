"""`frontdesk ask`: the stable JSON shape, history files, and bad input as one sentence."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.cli import main
from engine.store.database import Store

ROOT = Path(__file__).resolve().parents[2]  # the repository (this file is two below it)


def ask(home: Path, *args: str) -> int:
    return main(["--home", str(home), "ask", *args])


@pytest.mark.slow
def test_json_output_with_a_jsonl_history(home: Path, tmp_path: Path, capsys) -> None:
    history = tmp_path / "history.jsonl"
    history.write_text(
        '{"role": "customer", "text": "hello, order #60606 arrived broken"}\n'
        '\n'
        '{"role": "agent", "text": "I am so sorry, let me help."}\n',
        encoding="utf-8",
    )
    text = "I want my money back, it cost $89.90"
    assert ask(home, "--json", "--history", str(history), text) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"intent", "confidence", "level", "top", "entities", "draft", "source"} <= set(out)
    assert out["intent"] == "get_refund" and out["source"] == "get_refund"
    assert 0 <= out["confidence"] <= 1 and out["level"] in {"High", "Medium", "Low"}
    assert [set(item) for item in out["top"]] == [{"intent", "score"}] * 3
    amount = next(e for e in out["entities"] if e["type"] == "amount")
    assert text[amount["start"] : amount["end"]] == "$89.90" and amount["value"] == "89.90 USD"
    assert "60606" in out["draft"]  # the order number came from the history file
    with Store.open(home) as store:
        (session,) = store.sessions()
        turns = store.turns(session["id"])
    assert [(t["role"], t["text"]) for t in turns] == [
        ("customer", "hello, order #60606 arrived broken"),
        ("agent", "I am so sorry, let me help."),
        ("customer", text),
    ]
    assert turns[-1]["reply"]["id"] == out["id"] and out["session"] == session["id"]


@pytest.mark.slow
def test_plain_output_adds_to_an_existing_session(
    home: Path, tmp_path: Path, capsys, monkeypatch
) -> None:
    with Store.open(home) as store:
        session = store.new_session(title="phone call")
    history = tmp_path / "history.json"
    history.write_text(json.dumps([{"role": "customer", "text": "my email is kim@shop.test"}]),
                       encoding="utf-8")
    code = ask(home, "--session", str(session), "--history", str(history),
               "how do I reset my password? I forgot it")
    assert code == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("intent    recover_password")
    assert f"(session {session}, turn " in out.splitlines()[-1]
    assert "kim@shop.test" in out  # filled into the draft from the history
    with Store.open(home) as store:
        assert len(store.turns(session)) == 2
    # The same session again, the message on stdin: the earlier email still fills the slot.
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(
        b"please close my account for good")))
    assert ask(home, "--session", str(session), "--json", "-") == 0
    out = json.loads(capsys.readouterr().out)
    assert out["intent"] == "delete_account" and "kim@shop.test" in out["draft"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'{"role": "boss", "text": "hi"}\n', "Entry 1 of bad.jsonl has role 'boss'"),
        (b'{"role": "customer"}\n', "Entry 1 of bad.jsonl needs a `text` string."),
        (b'{"text": "ok"}\n{oops\n', "Line 2 of bad.jsonl is not valid JSON."),
        (b'[{"text": "ok"},', "The history file bad.jsonl is not valid JSON."),
        ('{"text": "caf\xe9"}\n'.encode("latin-1"), "bad.jsonl is not UTF-8 text."),
    ],
)
def test_bad_history_file_is_one_sentence_and_exit_2(
    home: Path, tmp_path: Path, capsys, content: bytes, expected: str
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(content)
    assert ask(home, "--history", str(bad), "cancel my order") == 2
    err = capsys.readouterr().err.strip()
    assert expected in err and "\n" not in err and "Traceback" not in err


@pytest.mark.parametrize("text", ["", "   "])
def test_empty_message_is_refused(home: Path, capsys, text: str) -> None:
    assert ask(home, text) == 2
    assert capsys.readouterr().err.strip() == (
        "frontdesk: The message is empty; type or paste what the customer wrote.")


def test_non_utf8_bytes_on_the_command_line_and_stdin(home: Path) -> None:
    env = {**os.environ, "FRONTDESK_HOME": str(home), "LC_ALL": "C.UTF-8"}
    command = [sys.executable, "-m", "engine", "ask"]
    argv = subprocess.run([*command, b"caf\xe9 order"], capture_output=True, env=env, cwd=ROOT)
    assert argv.returncode == 2
    assert argv.stderr.decode().strip() == "frontdesk: The message is not UTF-8 text."
    stdin = subprocess.run([*command, "-"], input=b"\xff\xfe refund", capture_output=True,
                           env=env, cwd=ROOT)
    assert stdin.returncode == 2
    assert stdin.stderr.decode().strip() == "frontdesk: The message on stdin is not UTF-8 text."


def test_broken_knowledge_base_or_pickled_model_is_one_sentence(
    home: Path, tmp_path: Path, capsys
) -> None:
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "refunds.yaml").write_text("intents: [get_refund]\ntitle: Refunds\npolicy: p\n"
                                     "templates: ['Refunded {amount} to {iban}']\n",
                                     encoding="utf-8")
    assert ask(home, "--knowledge", str(kb), "refund me") == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("frontdesk: Knowledge-base file refunds.yaml: reply 1 needs 'iban'")
    model = tmp_path / "old_model"
    model.mkdir()
    (model / "pytorch_model.bin").write_bytes(b"\x80\x04not really a pickle")
    assert ask(home, "--model", str(model), "refund me") == 4
    err = capsys.readouterr().err.strip()
    assert "holds pickle weights (pytorch_model.bin)" in err and "\n" not in err
    with Store.open(home) as store:  # refused before anything was written
        assert store.sessions() == []
