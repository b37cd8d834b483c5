"""Import of exports: sessions of any length round-trip, and a bad record is refused whole.

Real SQLite stores in temporary data folders; the exports are real files written by
engine.exchange.records, edited where a test needs a bad record.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.cli import main
from engine.errors import InputError
from engine.exchange.format import FORMAT
from engine.exchange.merge import import_records
from engine.exchange.records import CONTEXT_MESSAGES, export_records
from engine.store.database import Store
from engine.types import Turn
from tests.sessions import reply_for

INTENTS = ("track_order", "get_refund", "recover_password")
FEEDBACK = (None, "accepted", "edited", "corrected", "rejected", "handoff")


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line]


def fill(store: Store, sessions: list[list[tuple]]) -> None:
    """Write each session's (role, text, intent, confidence, feedback) turns; customer turns get
    a reply and the feedback given."""
    rows, feedback = [], []
    for turns in sessions:
        session = store.new_session()
        for role, text, intent, confidence, action in turns:
            reply = reply_for(intent, confidence) if role == "customer" else None
            rows.append((session, Turn(text=text, role=role), reply))
            if reply is not None and action is not None:
                feedback.append((reply, action))
    store.add_turns_bulk(rows)
    for reply, action in feedback:
        store.add_feedback(reply.id, action, corrected_intent="get_refund"
                           if action == "corrected" else None,
                           final_answer="Sent: " + reply.draft if action == "edited" else None)


def round_trip(tmp_path: Path, sessions: list[list[tuple]]) -> tuple[list[dict], list[dict], Store]:
    """(records exported by a desk, records the hub exports after importing them, the hub)."""
    with Store.open(tmp_path / "desk") as desk:
        fill(desk, sessions)
        export_records(desk, tmp_path / "sent" / "desk.jsonl", redact=False)
    hub = Store.open(tmp_path / "hub")
    import_records(hub, [tmp_path / "sent" / "desk.jsonl"])
    export_records(hub, tmp_path / "back" / "hub.jsonl", redact=False)
    return read_jsonl(tmp_path / "sent" / "desk.jsonl"), read_jsonl(
        tmp_path / "back" / "hub.jsonl"), hub


def _without_local_ids(records: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "session"} for r in records]


TEXT = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=20)
TURN = st.tuples(st.sampled_from(("customer", "agent")), TEXT, st.sampled_from(INTENTS),
                 st.floats(0, 1), st.sampled_from(FEEDBACK))
SESSION = st.integers(1, 2 * CONTEXT_MESSAGES + 30).flatmap(
    lambda n: st.lists(TURN, min_size=n, max_size=n))


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.data_too_large, HealthCheck.too_slow])
@given(sessions=st.lists(SESSION, min_size=1, max_size=3))
def test_export_import_export_is_the_same_for_sessions_of_any_length(
    tmp_path_factory, sessions
) -> None:
    tmp_path = tmp_path_factory.mktemp("roundtrip")
    sent, back, hub = round_trip(tmp_path, sessions)
    with hub:
        assert _without_local_ids(back) == _without_local_ids(sent)
        customer_turns = sum(role == "customer" for turns in sessions for role, *_ in turns)
        assert hub.count("replies") == customer_turns == len(sent)
        # every turn up to a session's last reply came over once (none lost, none doubled)
        expected = 0
        for turns in sessions:
            roles = [role for role, *_ in turns]
            if "customer" in roles:
                expected += len(roles) - roles[::-1].index("customer")
        assert hub.count("turns") == expected
        assert import_records(hub, [tmp_path / "sent" / "desk.jsonl"]) == (0, len(sent))
        assert hub.count("turns") == expected


def test_a_60_turn_session_comes_back_whole_with_each_reply_on_its_turn(tmp_path: Path) -> None:
    turns = [("customer", f"message {n}", INTENTS[n % 3], 0.5, "accepted") for n in range(60)]
    sent, back, hub = round_trip(tmp_path, [turns])
    with hub:
        assert hub.count("turns") == 60 and hub.count("replies") == 60
        session = hub.sessions()[0]["id"]
        stored = hub.turns(session)
        assert [t["text"] for t in stored] == [f"message {n}" for n in range(60)]
        # each reply hangs on the turn it answered (was: 10 replies on turn 50)
        on_turn = dict(hub.db.conn.execute("SELECT r.origin, t.text FROM replies r "
                                           "JOIN turns t ON t.id = r.turn"))
        assert {record["id"]: record["messages"][-1]["content"] for record in sent} == on_turn
        assert back[-1]["messages"][-1]["content"] == "message 59"
        assert len(back[-1]["messages"]) == CONTEXT_MESSAGES
        assert _without_local_ids(back) == _without_local_ids(sent)


# ---- a bad record is refused, the store is unchanged, export still works ---------------------


@pytest.fixture
def good_export(tmp_path: Path) -> Path:
    turns = [("customer", "where is my order?", "track_order", 0.9, "accepted"),
             ("agent", "Let me look.", "track_order", 0.9, None),
             ("customer", "I want a refund", "get_refund", 0.4, "corrected")]
    with Store.open(tmp_path / "desk") as desk:
        fill(desk, [turns, turns])
        export_records(desk, tmp_path / "x" / "good.jsonl", redact=False)
    return tmp_path / "x" / "good.jsonl"


def _bad_copy(good: Path, name: str, line: int, edit) -> Path:
    """`good` with record `line` (1-based) changed by `edit(record)` (or replaced by its str)."""
    lines = good.read_text(encoding="utf-8").split("\n")[:-1]
    record = json.loads(lines[line - 1])
    changed = edit(record)
    lines[line - 1] = changed if isinstance(changed, str) else json.dumps(record)
    bad = good.with_name(name)
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return bad


BAD_RECORDS = [
    ("confidence", lambda r: r.update(confidence="high"), "confidence must be a number"),
    ("confidence_range", lambda r: r.update(confidence=7.5), "from 0 to 1"),
    ("surrogate", lambda r: json.dumps(r).replace("where is", "where \\ud800is"),
     "lone surrogate"),
    ("surrogate_intent", lambda r: r.update(predicted_intent="track\udfff"), "lone surrogate"),
    ("newer", lambda r: r.update(format=FORMAT + 1), "newer Frontdesk"),
    ("unknown_field", lambda r: r.update(sentiment="angry"), "(sentiment)"),
    ("unknown_message_field", lambda r: r["messages"][0].update(mood=1), "(mood)"),
    ("feedback", lambda r: r.update(feedback="loved"), "feedback must be one of"),
    ("created", lambda r: r.update(created="yesterday"), "not an ISO date"),
    ("content", lambda r: r["messages"][0].update(content=["a"]), "content must be text"),
    ("messages", lambda r: r.update(messages={}), "messages must be a non-empty list"),
    ("intent", lambda r: r.update(intent=3), "intent must be text"),
    ("no_turn", lambda r: r["messages"][0].pop("turn") and None,
     "does not name its turn"),
    ("not_object", lambda r: "[1, 2]", "not a JSON object"),
    ("nested", lambda r: "[" * 100_000 + "]" * 100_000, "nested too deeply"),
]


@pytest.mark.parametrize("name, edit, message", BAD_RECORDS, ids=[b[0] for b in BAD_RECORDS])
def test_a_bad_record_is_refused_with_its_line_and_nothing_is_written(
    good_export: Path, tmp_path: Path, name: str, edit, message: str
) -> None:
    bad = _bad_copy(good_export, f"{name}.jsonl", 2, edit)
    with Store.open(tmp_path / "hub") as hub:
        import_records(hub, [good_export.with_name("good.jsonl")])
        counts = {t: hub.count(t) for t in ("sessions", "turns", "replies", "feedback")}
        with pytest.raises(InputError, match=rf"Line 2 of .*{name}\.jsonl.*") as refused:
            import_records(hub, [bad])
        assert message in str(refused.value) and "\n" not in str(refused.value)
        assert {t: hub.count(t) for t in counts} == counts
        assert export_records(hub, tmp_path / "after.jsonl") == counts["replies"]


def test_import_cli_refuses_a_bad_record_in_one_sentence_and_export_still_works(
    good_export: Path, tmp_path: Path, capsys
) -> None:
    bad = _bad_copy(good_export, "high.jsonl", 3, lambda r: r.update(confidence="high"))
    home = tmp_path / "home"
    assert main(["--home", str(home), "import", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("frontdesk: Line 3 of") and "confidence" in err and "\n" not in err
    assert main(["--home", str(home), "export", str(tmp_path / "out.jsonl")]) == 0
    assert "Exported 0 records" in capsys.readouterr().out


def test_a_format_1_record_imports_unless_its_window_was_cut(good_export: Path,
                                                             tmp_path: Path) -> None:
    """Exports made before messages named their turns: placed by position when the record's
    conversation starts at the session's first turn; refused when it was cut."""
    def old(record: dict) -> None:
        record.pop("format")
        for message in record["messages"]:
            message.pop("turn")

    lines = read_jsonl(good_export)
    for record in lines:
        old(record)
    legacy = good_export.with_name("legacy.jsonl")
    legacy.write_text("".join(json.dumps(r) + "\n" for r in lines))
    with Store.open(tmp_path / "hub") as hub:
        assert import_records(hub, [legacy]) == (4, 0)
        assert hub.count("turns") == 6
        # the same records in today's format add nothing twice (the position keys match)
        assert import_records(hub, [good_export]) == (0, 4) and hub.count("turns") == 6
        cut = lines[0] | {"id": "olddesk:1",
                          "messages": [lines[0]["messages"][0]] * CONTEXT_MESSAGES}
        legacy.write_text(json.dumps(cut) + "\n")
        with pytest.raises(InputError, match="export it again"):
            import_records(hub, [legacy])
