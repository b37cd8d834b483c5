"""A spoken turn goes through the same path as a typed one: stored first, transcribed, answered."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import numpy as np
import pytest

from engine.assistant import Assistant
from engine.cli import main
from engine.errors import InputError
from engine.types import Turn

pytestmark = pytest.mark.slow

RECORDING = Path(__file__).parent / "data" / "audio" / "refund_order.wav"


@pytest.fixture
def voice_assistant(assistant: Assistant, faster_transcriber) -> Assistant:
    assistant._transcriber = faster_transcriber  # share the session's loaded Whisper
    return assistant


def test_spoken_turn_is_transcribed_stored_and_answered(voice_assistant: Assistant) -> None:
    session = voice_assistant.new_session(title="call")
    reply = voice_assistant.respond(session, Turn(audio=RECORDING))

    heard = reply.evidence.transcript.lower()
    assert "charged twice" in heard and "refund" in heard
    (turn,) = voice_assistant.store.turns(session)
    assert turn["source"] == "voice" and turn["text"].lower() == heard
    (audio,) = turn["attachments"]
    assert audio["kind"] == "audio" and audio["duration"] == pytest.approx(7.35, abs=0.1)
    assert voice_assistant.store.attachment_bytes(audio["id"]) == RECORDING.read_bytes()
    assert turn["reply"]["intent"] == reply.intent
    assert voice_assistant.store.search("charged twice")[0]["id"] == turn["id"]


def test_silent_recording_is_refused_but_kept(voice_assistant: Assistant, tmp_path: Path) -> None:
    silence = tmp_path / "silence.wav"
    with wave.open(str(silence), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(np.zeros(32000, dtype=np.int16).tobytes())
    session = voice_assistant.new_session()
    with pytest.raises(InputError, match="No speech"):
        voice_assistant.respond(session, Turn(audio=silence))
    (turn,) = voice_assistant.store.turns(session)  # the recording is not lost
    assert turn["source"] == "voice" and turn["attachments"][0]["kind"] == "audio"
    assert turn["reply"] is None


def test_ask_audio_cli(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--home", str(home), "ask", "--audio", str(RECORDING), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert "refund" in out["evidence"]["transcript"].lower()
    assert out["intent"] and "draft" in out


def test_ask_without_text_or_audio_is_one_sentence(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--home", str(home), "ask"]) == 2
    assert "--audio" in capsys.readouterr().err
