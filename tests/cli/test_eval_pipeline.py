"""`frontdesk eval` runs cases with history and recordings through the whole Assistant."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.cli import main
from engine.store.database import Store

pytestmark = pytest.mark.slow

RECORDING = Path(__file__).parent.parent / "data" / "audio" / "refund_order.wav"


def test_eval_runs_audio_and_history_cases(home: Path, tmp_path: Path) -> None:
    (tmp_path / "clips").mkdir()
    (tmp_path / "clips" / "call.wav").write_bytes(RECORDING.read_bytes())
    cases = [
        # no text: only a transcript of the recording can give the Assistant a message
        {"id": "voice-1", "audio": "clips/call.wav", "intent": "get_refund"},
        {"id": "multi-1", "text": "I need to change the delivery address on order 55123",
         "history": [{"role": "customer", "text": "hello"},
                     {"role": "agent", "text": "Hi! How can I help?"}],
         "intent": "change_shipping_address"},
        # not a food question: intent-750afd8f5b reads those as place_order (its human
        # place_order text is mostly MultiDoGO's food orders; see its MODEL_CARD weaknesses)
        {"id": "oos-1", "text": "what's the weather going to be like in Oslo this weekend?",
         "history": [{"role": "customer", "text": "random question"}],
         "intent": "out_of_scope"},
    ]
    file = tmp_path / "cases.jsonl"
    file.write_text("".join(json.dumps(case) + "\n" for case in cases))
    report = tmp_path / "report"

    assert main(["--home", str(home), "eval", str(file), "--report", str(report), "--json"]) == 0

    lines = (report / "predictions.jsonl").read_text().splitlines()
    predictions = {p["id"]: p for p in map(json.loads, lines)}
    assert set(predictions) == {"voice-1", "multi-1", "oos-1"}
    assert predictions["oos-1"]["predicted"] == "out_of_scope"
    metrics = json.loads((report / "metrics.json").read_text())
    assert {"accuracy", "macro_f1", "oos_precision", "oos_recall", "latency_ms_p50"} <= set(metrics)
    # eval sessions live in a scratch folder, never in the agent's own store
    if (home / "frontdesk.db").exists():
        with Store.open(home) as store:
            assert store.sessions() == []
