"""Export for retraining (JSONL/CSV, images beside, redaction) and import across desks."""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
from pathlib import Path

import pytest

from engine.errors import InputError, StoreError
from engine.exchange.merge import import_records
from engine.exchange.records import CSV_COLUMNS, export_records
from engine.store.database import Store
from engine.types import Turn
from tests.sessions import fill_conversation, reply_for


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_jsonl_record_per_reply_with_conversation_gold_label_and_images(
    store: Store, store_screenshot: Path, tmp_path: Path
) -> None:
    talk = fill_conversation(store, store_screenshot)
    out = tmp_path / "export" / "train.jsonl"
    seen: list[tuple[int, int]] = []
    assert export_records(store, out, progress=lambda done, total: seen.append((done, total))) == 3
    assert seen[-1] == (3, 3)
    corrected, accepted, unlabeled = read_jsonl(out)

    assert [r["id"] for r in (corrected, accepted, unlabeled)] == [
        f"{store.desk_id}:{reply.id}" for reply in talk.replies
    ]
    assert corrected["session"] == talk.session_id
    # conversation so far, customer -> user, agent -> assistant
    assert [m["speaker"] for m in accepted["messages"]] == ["customer", "agent", "customer"]
    assert [m["role"] for m in accepted["messages"]] == ["user", "assistant", "user"]
    assert len(corrected["messages"]) == 1 and len(unlabeled["messages"]) == 4
    assert accepted["messages"][1]["content"] == "Sorry to hear that, let me check."
    # gold label: the correction, else the accepted prediction, else nothing
    assert (corrected["intent"], corrected["predicted_intent"]) == ("refund", "track_order")
    assert (accepted["intent"], accepted["feedback"]) == ("refund", "accepted")
    assert (unlabeled["intent"], unlabeled["feedback"]) == (None, None)
    assert accepted["answer"] == talk.replies[1].draft  # accepted as drafted
    assert corrected["answer"] is None and unlabeled["answer"] is None
    assert accepted["confidence"] == pytest.approx(0.91)
    assert accepted["model_version"] == "test-1"
    # redacted by default
    text = out.read_text(encoding="utf-8")
    assert "jane.roe@example.org" not in text and "4111 1111 1111 1111" not in text
    assert "[EMAIL]" in corrected["messages"][0]["content"]
    assert accepted["messages"][2]["content"] == "Please just refund it to card [CARD]"
    assert "order 55231" in corrected["messages"][0]["content"]  # ordinary text kept
    # images copied beside the JSONL, named by content
    digest = hashlib.sha256(store_screenshot.read_bytes()).hexdigest()
    assert corrected["images"] == [f"images/{digest}.png"] == unlabeled["images"]
    assert corrected["messages"][0]["images"] == corrected["images"]
    assert corrected["image"] == corrected["images"][0] and accepted["image"] is None
    assert (out.parent / corrected["images"][0]).read_bytes() == store_screenshot.read_bytes()


def test_no_redact_keeps_the_text_as_typed(
    store: Store, store_screenshot: Path, tmp_path: Path
) -> None:
    fill_conversation(store, store_screenshot)
    out = tmp_path / "raw.jsonl"
    export_records(store, out, redact=False)
    first = read_jsonl(out)[0]
    assert first["messages"][0]["content"].endswith("jane.roe@example.org")


def test_edited_answer_and_rejection(store: Store, store_screenshot: Path, tmp_path: Path) -> None:
    talk = fill_conversation(store, store_screenshot)
    store.add_feedback(talk.replies[1].id, "edited", final_answer="Refunded, mail me at x@y.com")
    store.add_feedback(talk.replies[2].id, "rejected")
    _, edited, rejected = read_jsonl(_export(store, tmp_path / "a.jsonl"))
    assert (edited["intent"], edited["answer"]) == ("refund", "Refunded, mail me at [EMAIL]")
    assert (rejected["intent"], rejected["feedback"], rejected["answer"]) == (
        None, "rejected", None
    )


def _export(store: Store, out: Path, **kwargs) -> Path:
    export_records(store, out, **kwargs)
    return out


def test_csv_is_flat_with_the_last_customer_message(
    store: Store, store_screenshot: Path, tmp_path: Path
) -> None:
    talk = fill_conversation(store, store_screenshot)
    out = tmp_path / "train.csv"
    assert export_records(store, out, fmt="csv") == 3
    with open(out, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == CSV_COLUMNS
    assert [r["text"] for r in rows] == [
        "Hi, my jacket from order 55231 never came. Mail [EMAIL]",
        "Please just refund it to card [CARD]",
        "Thanks, bye",
    ]
    assert [r["intent"] for r in rows] == ["refund", "refund", ""]
    assert [r["feedback"] for r in rows] == ["corrected", "accepted", ""]
    assert rows[1]["answer"] == talk.replies[1].draft
    assert rows[0]["id"] == f"{store.desk_id}:{talk.replies[0].id}"


def test_filters_by_date_range_and_session(
    store: Store, store_screenshot: Path, tmp_path: Path
) -> None:
    old = fill_conversation(store, store_screenshot)
    new = fill_conversation(store, store_screenshot, agent="bob")
    old_ids = [r.id for r in old.replies]
    store.db.execute(
        f"UPDATE replies SET created = '2024-03-01T12:00:00.000+00:00' "
        f"WHERE id IN ({', '.join(map(str, old_ids))})"
    )
    out = tmp_path / "f.jsonl"
    assert export_records(store, out, until="2024-03-01") == 3  # the whole day is included
    assert {r["session"] for r in read_jsonl(out)} == {old.session_id}
    assert export_records(store, out, since="2024-03-02") == 3
    assert {r["session"] for r in read_jsonl(out)} == {new.session_id}
    assert export_records(store, out, since="2024-03-01T11:00", until="2024-03-01T13:00") == 3
    assert export_records(store, out, session_ids=[new.session_id]) == 3
    assert export_records(store, out, session_ids=[new.session_id], until="2024-03-01") == 0
    assert out.read_text() == ""
    with pytest.raises(InputError, match="not a date"):
        export_records(store, out, since="last tuesday")
    with pytest.raises(InputError, match="jsonl or csv"):
        export_records(store, out, fmt="xml")


def test_unwritable_export_target_is_reported(store: Store, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError, match="Cannot write the export"):
        export_records(store, blocker / "out.jsonl")


def _desk(folder: Path, screenshot: Path, agent: str, conversations: int) -> Store:
    folder.mkdir()
    desk = Store.open(folder)
    for _ in range(conversations):
        fill_conversation(desk, screenshot, agent=agent)
    return desk


def test_import_merges_desks_without_duplicates(tmp_path: Path, store_screenshot: Path) -> None:
    desk_a = _desk(tmp_path / "a", store_screenshot, "ann", 2)
    desk_b = _desk(tmp_path / "b", store_screenshot, "bob", 1)
    export_a = _export(desk_a, tmp_path / "out_a" / "a.jsonl")
    export_b = _export(desk_b, tmp_path / "out_b" / "b.jsonl")

    hub = _desk(tmp_path / "hub", store_screenshot, "lead", 0)
    assert import_records(hub, [export_a, export_b]) == (9, 0)
    assert import_records(hub, [export_b, export_a]) == (0, 9)
    # 3 conversations of 4 turns each (the agent turn is part of the next customer's context)
    assert hub.count("sessions") == 3 and hub.count("turns") == 12
    assert hub.count("replies") == 9 and hub.count("feedback") == 6
    assert import_records(desk_a, [export_a]) == (0, 6)  # a desk's own export

    # the same records travelling through another desk are still recognised
    assert import_records(desk_b, [export_a]) == (6, 0)
    via_b = _export(desk_b, tmp_path / "via_b" / "b.jsonl")
    assert import_records(hub, [via_b]) == (0, 9)
    assert hub.count("turns") == 12

    # what came in matches what went out
    again = _export(hub, tmp_path / "again" / "hub.jsonl")
    sent = {r["id"]: r for r in read_jsonl(export_a) + read_jsonl(export_b)}
    received = {r["id"]: r for r in read_jsonl(again)}
    assert received.keys() == sent.keys()
    for key, record in sent.items():
        for field in ("intent", "predicted_intent", "feedback", "answer", "images", "messages"):
            assert received[key][field] == record[field], field
    image = (tmp_path / "again" / received[next(iter(received))]["images"][0]).read_bytes()
    assert image == store_screenshot.read_bytes()
    for desk in (desk_a, desk_b, hub):
        desk.close()


def test_bad_import_changes_nothing(
    store: Store, store_screenshot: Path, tmp_path: Path
) -> None:
    source = _desk(tmp_path / "src", store_screenshot, "ann", 1)
    good = _export(source, tmp_path / "x" / "good.jsonl")
    lines = good.read_text().splitlines()
    broken = tmp_path / "x" / "broken.jsonl"
    broken.write_text(lines[0] + "\n{not json\n")
    with pytest.raises(InputError, match="Line 2 of .*broken.jsonl"):
        import_records(store, [good, broken])
    assert store.count("replies") == 0 and store.count("turns") == 0

    moved = tmp_path / "moved"
    moved.mkdir()
    shutil.copy(good, moved / "good.jsonl")  # images left behind
    with pytest.raises(InputError, match="missing beside the export"):
        import_records(store, [moved / "good.jsonl"])
    escaping = tmp_path / "x" / "escape.jsonl"
    record = json.loads(lines[0])
    record["messages"][0]["images"] = ["../../../etc/passwd"]
    escaping.write_text(json.dumps(record))
    with pytest.raises(InputError, match="missing beside the export"):
        import_records(store, [escaping])
    with pytest.raises(InputError, match="CSV export"):
        import_records(store, [tmp_path / "x" / "train.csv"])
    assert store.count("replies") == 0
    source.close()


def test_bulk_written_store_exports_in_session_order(store: Store, tmp_path: Path) -> None:
    sessions = [store.new_session() for _ in range(3)]
    rows = []
    for i in range(30):
        turn = Turn(text=f"message {i}", role="customer" if i % 2 == 0 else "agent")
        rows.append((sessions[i % 3], turn, reply_for("refund") if i % 2 == 0 else None))
    store.add_turns_bulk(rows)
    records = read_jsonl(_export(store, tmp_path / "bulk.jsonl"))
    assert len(records) == 15
    assert [r["session"] for r in records] == sorted(r["session"] for r in records)
    for record in records:
        assert record["messages"][-1]["speaker"] == "customer"
        numbers = [int(m["content"].split()[1]) for m in record["messages"]]
        assert numbers == sorted(numbers) and all(n % 3 == numbers[0] % 3 for n in numbers)


def test_jpeg_screenshot_travels_with_its_extension_and_size(
    store: Store, store_photo: Path, tmp_path: Path
) -> None:
    session = store.new_session()
    turn = Turn(text="", source="image", images=[store_photo])
    store.add_turn(session, turn)
    store.add_reply(turn.id, reply_for("track_order"))
    record = read_jsonl(_export(store, tmp_path / "out" / "x.jsonl"))[0]
    digest = hashlib.sha256(store_photo.read_bytes()).hexdigest()
    assert record["images"] == [f"images/{digest}.jpg"]

    with Store(tmp_path / "other.db") as other:
        assert import_records(other, [tmp_path / "out" / "x.jsonl"]) == (1, 0)
        imported = other.turns(other.sessions()[0]["id"])[0]
        assert imported["source"] == "image"
        kept = imported["attachments"][0]
        original = store.attachments(turn.id)[0]
        assert (kept["mime"], kept["width"], kept["height"], kept["sha256"]) == (
            "image/jpeg", original["width"], original["height"], digest
        )


def test_export_reads_back_as_labelled_training_cases(
    store: Store, store_screenshot: Path, tmp_path: Path
) -> None:
    from engine.cases.datasets import read_cases

    talk = fill_conversation(store, store_screenshot)
    cases = read_cases(_export(store, tmp_path / "out" / "train.jsonl"))
    assert [(c.intent, c.id) for c in cases] == [
        ("refund", f"{store.desk_id}:{talk.replies[0].id}"),
        ("refund", f"{store.desk_id}:{talk.replies[1].id}"),
    ]  # the unlabelled reply is left out
    assert cases[0].text.endswith("Mail [EMAIL]") and cases[0].image.read_bytes() == (
        store_screenshot.read_bytes()
    )
    assert cases[1].text == "Please just refund it to card [CARD]" and len(cases[1].history) == 2


def test_a_long_session_exports_only_recent_context(store, tmp_path: Path) -> None:
    from engine.exchange.records import CONTEXT_MESSAGES, export_records
    from engine.types import Reply, Turn

    session = store.new_session()
    turns = 3 * CONTEXT_MESSAGES
    store.add_turns_bulk(
        (session, Turn(text=f"message {n}"),
         Reply(intent="track_order", confidence=0.9, level="High", top=[("track_order", 0.9)]))
        for n in range(turns)
    )
    out = tmp_path / "long.jsonl"
    assert export_records(store, out, redact=False) == turns
    records = [json.loads(line) for line in out.read_text().splitlines()]
    last = records[-1]["messages"]
    assert len(last) == CONTEXT_MESSAGES
    assert last[-1]["content"] == f"message {turns - 1}"  # the replied message is kept
    assert last[0]["content"] == f"message {turns - CONTEXT_MESSAGES}"
    assert len(records[3]["messages"]) == 4
