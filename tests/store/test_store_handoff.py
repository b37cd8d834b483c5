"""A hand-off is its own feedback (`handoff`), not a plain "rejected": the store migration that
allows it on a file of the previous schema, and the value through export, import and retraining.

Real SQLite files: the old one is made by the frozen migrations up to schema 3, as a desk that
ran the previous version holds it.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from engine.errors import InputError
from engine.exchange.merge import import_records
from engine.exchange.records import export_records
from engine.learning import retrain
from engine.store.database import Store
from engine.store.schema import LATEST_VERSION, apply_migrations
from engine.types import Turn
from tests.sessions import reply_for

OLD_ACTIONS = ("accepted", "edited", "rejected", "corrected")


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line]


def _schema_3_file(path: Path) -> list[tuple]:
    """A file at the previous schema with one reply per feedback kind; its feedback rows."""
    conn = sqlite3.connect(path)
    assert apply_migrations(conn, upto=3) == 3
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("INSERT INTO sessions (id, started) VALUES (1, '2026-11-30T09:00:00.000+00:00')")
    for n, action in enumerate(OLD_ACTIONS, 1):
        conn.execute("INSERT INTO turns (id, session, seq, role, text, created) VALUES "
                     "(?, 1, ?, 'customer', ?, '2026-11-30')", (n, n, f"parcel question {n}"))
        conn.execute("INSERT INTO replies (id, turn, intent, created) VALUES "
                     "(?, ?, 'track_order', '2026-11-30')", (10 + n, n))
        conn.execute("INSERT INTO feedback (id, reply, action, corrected_intent, final_answer, "
                     "created) VALUES (?, ?, ?, ?, ?, '2026-11-30')",
                     (100 + n, 10 + n, action,
                      "get_refund" if action == "corrected" else None,
                      "Sent." if action == "edited" else None))
    with pytest.raises(sqlite3.IntegrityError):  # the old CHECK refuses the new value
        conn.execute("INSERT INTO feedback (reply, action, created) VALUES (11, 'handoff', 'x')")
    conn.commit()
    rows = conn.execute("SELECT * FROM feedback ORDER BY id").fetchall()
    conn.close()
    return rows


def test_a_schema_3_file_keeps_its_feedback_and_then_takes_a_handoff(tmp_path: Path) -> None:
    path = tmp_path / "desk.db"
    before = _schema_3_file(path)
    with Store(path) as store:
        assert store.schema_version == LATEST_VERSION >= 4
        conn = store.db.conn
        assert conn.execute("SELECT * FROM feedback ORDER BY id").fetchall() == before
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert [row[0] for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE name LIKE 'feedback%'")] == [
            "feedback", "feedback_reply"]  # nothing left of the rebuild
        fid = store.add_feedback(11, "handoff")
        assert conn.execute("SELECT reply, action FROM feedback WHERE id = ?",
                            [fid]).fetchone() == (11, "handoff")
        assert [h["id"] for h in store.search("parcel")] == [1, 2, 3, 4]  # search untouched
        store.delete_turn(1)  # the foreign key still cascades to the rebuilt table
        assert conn.execute("SELECT count(*) FROM feedback WHERE reply = 11").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM feedback").fetchone()[0] == 3
    with pytest.raises(sqlite3.IntegrityError):  # the CHECK still guards the column
        with sqlite3.connect(path) as raw:
            raw.execute("INSERT INTO feedback (reply, action, created) VALUES (12, 'maybe', 'x')")


def _reply(store: Store, session: int, text: str, intent: str = "track_order") -> int:
    turn = store.add_turn(session, Turn(text=text))
    return store.add_reply(turn, reply_for(intent, 0.4))


def test_a_handoff_travels_through_export_import_and_teaches_nothing(tmp_path: Path) -> None:
    with Store.open(tmp_path / "desk") as desk:
        first, second = desk.new_session(), desk.new_session()
        handed = _reply(desk, first, "I want to speak to your manager about my contract")
        desk.add_feedback(handed, "handoff")
        relabelled = _reply(desk, first, "money back for the blender please")
        desk.add_feedback(relabelled, "corrected", corrected_intent="get_refund")
        desk.add_feedback(relabelled, "handoff")  # handed on after correcting it
        desk.add_feedback(_reply(desk, second, "where is my parcel"), "accepted")
        desk.add_feedback(_reply(desk, second, "asdf"), "rejected")
        export_records(desk, tmp_path / "sent" / "desk.jsonl", redact=False)
    sent = read_jsonl(tmp_path / "sent" / "desk.jsonl")
    got = {r["messages"][-1]["content"]: (r["format"], r["feedback"], r["intent"]) for r in sent}
    assert got == {
        "I want to speak to your manager about my contract": (3, "handoff", None),
        "money back for the blender please": (2, "corrected", "get_refund"),
        "where is my parcel": (2, "accepted", "track_order"),
        "asdf": (2, "rejected", None),
    }

    with Store.open(tmp_path / "hub") as hub:
        assert import_records(hub, [tmp_path / "sent" / "desk.jsonl"]) == (4, 0)
        assert [tuple(r) for r in hub.db.conn.execute(
            "SELECT t.text, f.action FROM feedback f JOIN replies r ON r.id = f.reply "
            "JOIN turns t ON t.id = r.turn WHERE f.action = 'handoff'")] == [
            ("I want to speak to your manager about my contract", "handoff")]
        export_records(hub, tmp_path / "back" / "hub.jsonl", redact=False)
    back = read_jsonl(tmp_path / "back" / "hub.jsonl")
    assert [(r["id"], r["format"], r["feedback"]) for r in back] == [
        (r["id"], r["format"], r["feedback"]) for r in sent]

    cases, stats = retrain.read_exports([tmp_path / "back" / "hub.jsonl"])
    assert (stats.records, stats.handoffs, stats.rejected) == (4, 1, 1)
    assert sorted((c.text, c.intent) for c in cases) == [
        ("money back for the blender please", "get_refund"),
        ("where is my parcel", "track_order")]


def test_an_export_of_the_previous_version_still_imports(tmp_path: Path) -> None:
    """Format 2 records as the previous Frontdesk wrote them (a hand-off as "rejected")."""
    lines = []
    for n, (text, action, intent) in enumerate(
            (("where is my parcel", "accepted", "track_order"), ("asdf", "rejected", None)), 1):
        lines.append(json.dumps({
            "format": 2, "id": f"olddesk:{n}", "session": 3, "session_key": "olddesk:3",
            "created": "2026-11-02T10:00:00.000+00:00", "intent": intent,
            "predicted_intent": "track_order", "confidence": 0.4, "feedback": action,
            "answer": None, "draft": "About your order.", "images": [], "image": None,
            "model_version": "v1", "messages": [
                {"role": "user", "speaker": "customer", "content": text,
                 "turn": f"olddesk:turn:{n}"}]}))
    (tmp_path / "old.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with Store.open(tmp_path / "hub") as hub:
        assert import_records(hub, [tmp_path / "old.jsonl"]) == (2, 0)
        assert sorted(a for (a,) in hub.db.conn.execute("SELECT action FROM feedback")) == [
            "accepted", "rejected"]


def test_an_unknown_feedback_is_refused_in_a_sentence_naming_handoff(tmp_path: Path) -> None:
    with Store.open(tmp_path / "desk") as store:
        reply = _reply(store, store.new_session(), "hello")
        with pytest.raises(InputError, match="corrected, handoff, not 'handed'"):
            store.add_feedback(reply, "handed")
