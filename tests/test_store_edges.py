"""The store at its edges, on real files: a read-only file, damaged pages, a large import beside
another writer, first turns that fail, recordings over the size limit."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from engine.cli import main as cli
from engine.errors import StoreError
from engine.store import Store
from engine.types import Turn
from tests.fixtures_store import file_digest, fill_conversation


def _one_sentence(message: str) -> bool:
    return "\n" not in message and message.endswith(".") and message.count(". ") == 0


def test_read_only_file_is_read_never_made_writable(
    home: Path, store_screenshot: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Store.open(home) as store:
        talk = fill_conversation(store, store_screenshot)
    path = home / "frontdesk.db"
    os.chmod(path, 0o444)
    before = file_digest(path)

    with Store.open(home) as store:
        assert stat.S_IMODE(path.stat().st_mode) == 0o444  # not made 0600 behind the user
        assert store.read_only
        assert [t["text"] for t in store.turns(talk.session_id)] == [t.text for t in talk.turns]
        assert store.search("jacket")[0]["session"] == talk.session_id
        with pytest.raises(StoreError) as caught:
            store.add_turn(talk.session_id, Turn(text="one more"))
        assert "read-only" in str(caught.value) and _one_sentence(str(caught.value))
        with pytest.raises(StoreError, match="read-only"):
            store.new_session()

    assert cli(["--home", str(home), "sessions", "jacket"]) == 0
    assert "Jacket never arrived" in capsys.readouterr().out
    out = tmp_path / "out" / "export.jsonl"
    assert cli(["--home", str(home), "export", str(out)]) == 0
    assert len(out.read_text().splitlines()) == 3
    assert cli(["--home", str(home), "import", str(out)]) == 3  # a write: one sentence, rc 3
    assert "read-only" in capsys.readouterr().err

    assert stat.S_IMODE(path.stat().st_mode) == 0o444  # the user's choice stands
    assert file_digest(path) == before
    with Store.open(home) as store:
        assert store.count("turns") == len(talk.turns) and store.count("replies") == 3
