"""Widgets on their own: the "Why" graph from a reply's evidence, and the composer's keys."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage

from desktop.ops import reply_from_row
from desktop.widgets.composer import Composer
from desktop.widgets.graph_view import GraphView, build_graph
from engine.types import BoxEvidence, Entity, Evidence, FusedAnswer, Reply, Turn, TurnEvidence

TURNS = [
    {"id": 1, "role": "customer", "text": "I paid twice for order 48213", "attachments": []},
    {"id": 2, "role": "agent", "text": "Sorry! Can you send a screenshot?", "attachments": []},
    {"id": 3, "role": "customer", "text": "here", "attachments": [
        {"id": 7, "kind": "image", "width": 800, "height": 400, "ocr_text": "Charged twice"}]},
]


def reply_with_evidence() -> Reply:
    """Evidence as the engine writes it for a fused answer: attention on turns, one OCR box."""
    evidence = Evidence(
        turns=[TurnEvidence(3, "customer", "attention 0.52", 0.52),
               TurnEvidence(1, "customer", "attention 0.27", 0.27),
               TurnEvidence(3, "customer", "message")],
        boxes=[BoxEvidence(7, 3, 0, 1, "Charged twice  EUR 49.99", (0.10, 0.20, 0.60, 0.30),
                           0.61, 0.08)],
        model="fused", fused=FusedAnswer("payment_issue", 0.8))
    return Reply(intent="payment_issue", confidence=0.8, level="High",
                 top=[("payment_issue", 0.8)], evidence=evidence, turn_id=3, id=1,
                 entities=[Entity("order_number", "48213", 23, 28, turn_id=1)])


def test_graph_has_turns_screenshot_boxes_entities_and_attention_edges():
    graph = build_graph(TURNS, reply_with_evidence())
    kinds = sorted(node.kind for node in graph.nodes.values())
    assert kinds == ["agent", "box", "customer", "customer", "entity", "screenshot"]
    attends = {(e.source, e.target): e.weight for e in graph.edges if e.kind == "attends"}
    assert attends[("turn:1", "turn:3")] == 0.27  # the earlier turn that carried the intent
    box = next(n for n in graph.nodes.values() if n.kind == "box")
    assert attends[(box.key, "turn:3")] == 0.61 and box.box == (0.10, 0.20, 0.60, 0.30)
    assert ("shot:7", box.key) in {(e.source, e.target) for e in graph.edges}
    assert [e for e in graph.edges if e.kind == "order"][0].source == "turn:1"


def test_graph_reads_the_text_engine_evidence_too():
    reply = Reply(intent="track_order", confidence=0.9, level="High", top=[], turn_id=3,
                  evidence=Evidence([TurnEvidence(3, "customer", "message"),
                                     TurnEvidence(1, "customer", "order_number 48213")]))
    graph = build_graph(TURNS, reply)
    assert graph.nodes["turn:1"].weight > 0 and graph.nodes["turn:2"].weight == 0
    assert any(e.kind == "attends" and e.source == "turn:1" for e in graph.edges)


def test_why_view_lists_turns_with_bars_for_what_counted_and_outlines_boxes(qtbot):
    view = GraphView()
    qtbot.addWidget(view)
    view.show_graph(TURNS, reply_with_evidence())
    rows = [view.list.topLevelItem(i) for i in range(view.list.topLevelItemCount())]
    assert [r.text(0) for r in rows] == [
        "Customer: I paid twice for order 48213",
        "Agent: Sorry! Can you send a screenshot?",  # whole, not cropped
        "Customer (answered): here",
    ]
    assert rows[2].font(0).bold()

    def bar(item):
        widget = view.list.itemWidget(item, 1)
        return widget.value() if widget is not None else None

    assert (bar(rows[0]), bar(rows[1])) == (27, None)  # the earlier turn that carried it
    parts = {rows[2].child(i).text(0): bar(rows[2].child(i))
             for i in range(rows[2].childCount())}
    assert parts["Text on the screenshot: Charged twice EUR 49.99"] == 61
    assert "nodes" not in view.caption.text() and "counted" in view.caption.text()
    image = QImage(800, 400, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    assert view.show_screenshot(image) == 1
    assert view.show_screenshot(None) == 0


def test_a_reply_stored_before_evidence_was_typed_is_read_and_shown(store, store_screenshot):
    """Rows written by earlier versions (boxes with kind/label, stray items) stay readable:
    the store keeps evidence as JSON and the window reads it back as engine.types.Evidence."""
    session = store.new_session()
    first = store.add_turn(session, Turn(text="I paid twice for order 48213"))
    store.add_turn(session, Turn(text="Can you send a screenshot?", role="agent"))
    shot = store.add_turn(session, Turn(text="here", images=[store_screenshot]))
    [image] = store.attachments(shot)
    reply_id = store.add_reply(shot, Reply(intent="payment_issue", confidence=0.8,
                                           level="High", top=[("payment_issue", 0.8)]))
    old = {"turns": [{"turn_id": first, "role": "customer", "why": "attention 0.27",
                      "weight": 0.27}, {"turn_id": shot, "role": "customer", "why": "message"},
                     7, "junk"],
           "boxes": [{"kind": "block", "attachment_id": image["id"], "turn_id": shot,
                      "screenshot": 0, "block": 1, "text": "Charged twice", "label":
                      "Charged twice", "box": [0.1, 0.2, 0.6, 0.3], "weight": 0.61,
                      "graph_weight": 0.08}],
           "model": "fused", "fused": {"intent": "payment_issue", "confidence": 0.8123},
           "ocr_boxes": []}
    store.db.execute("UPDATE replies SET evidence = ? WHERE id = ?", [json.dumps(old), reply_id])
    turns = store.turns(session)
    reply = reply_from_row(turns[-1]["reply"], shot)
    assert reply.evidence == Evidence(
        [TurnEvidence(first, "customer", "attention 0.27", 0.27),
         TurnEvidence(shot, "customer", "message")],
        [BoxEvidence(image["id"], shot, 0, 1, "Charged twice", (0.1, 0.2, 0.6, 0.3), 0.61, 0.08)],
        "fused", FusedAnswer("payment_issue", 0.8123))
    rewritten = {key: old[key] for key in ("model", "fused")}  # what it is written as now
    rewritten["turns"] = old["turns"][:2]
    rewritten["boxes"] = [{k: v for k, v in old["boxes"][0].items() if k not in ("kind", "label")}]
    assert reply.evidence.to_dict() == rewritten
    graph = build_graph(turns, reply)
    assert graph.nodes[f"turn:{first}"].weight == 0.27
    box = next(node for node in graph.nodes.values() if node.kind == "box")
    assert (box.label, box.weight) == ("Charged twice", 0.61)
    assert (f"shot:{image['id']}", box.key) in {(e.source, e.target) for e in graph.edges}


def test_enter_sends_and_shift_enter_adds_a_line(qtbot, tmp_path: Path):
    composer = Composer(tmp_path)
    qtbot.addWidget(composer)
    sent = []
    composer.submitted.connect(
        lambda text, role, images, _voice: sent.append((text, role, images)))
    qtbot.keyClicks(composer.edit, "first line")
    qtbot.keyClick(composer.edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClicks(composer.edit, "second")
    assert sent == [] and composer.text() == "first line\nsecond"
    composer.agent_button.click()
    qtbot.keyClick(composer.edit, Qt.Key.Key_Return)
    assert sent == [("first line\nsecond", "agent", [])] and composer.text() == ""
    qtbot.keyClick(composer.edit, Qt.Key.Key_Return)  # nothing to send: nothing sent
    assert len(sent) == 1
    composer.restore("first line\nsecond")
    assert composer.text() == "first line\nsecond"


def test_stall_probe_catches_a_frozen_event_loop(qtbot):
    import time

    from PySide6.QtCore import QTimer

    from desktop.stall_probe import StallProbe

    reported = []
    probe = StallProbe(interval_ms=5, on_stall=reported.append, report_over_ms=100)
    probe.start()
    qtbot.wait(100)
    assert probe.ticks > 5
    QTimer.singleShot(0, lambda: time.sleep(0.25))  # a slot that blocks the UI thread
    qtbot.wait(100)
    probe.stop()
    assert probe.longest_ms >= 200 and max(reported) >= 200


def test_mic_button_toggles_on_click_and_talks_while_held(qtbot, tmp_path: Path):
    composer = Composer(tmp_path)
    qtbot.addWidget(composer)
    events = []
    composer.mic_pressed.connect(lambda: events.append("on"))
    composer.mic_released.connect(lambda: events.append("off"))
    button = composer.mic_button
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)  # click: on, and stays on
    assert events == ["on"] and composer.recording
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)  # second click: off
    assert events == ["on", "off"] and not composer.recording
    qtbot.mousePress(button, Qt.MouseButton.LeftButton)  # hold to talk
    qtbot.wait(500)
    assert composer.recording
    qtbot.mouseRelease(button, Qt.MouseButton.LeftButton)
    assert events == ["on", "off", "on", "off"] and not composer.recording
    composer.toggle_mic()  # the F9 shortcut
    assert composer.recording and events[-1] == "on"
