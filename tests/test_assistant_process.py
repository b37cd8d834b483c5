"""The Assistant in a child process (engine.assistant_process), as the window runs it: a frozen
app starts it through its own entry point; what the child answers and writes is in the store
and the caller's turn gets its id, on an error too (a screenshot with no text: the turn is
kept); a recording alone is heard by the caller's Whisper, not one loaded in the child; the
screenshot models load beside a typed turn; the child's log lines reach the caller's log; a
model that cannot load is one sentence."""

from __future__ import annotations

import logging
import os
import signal
import threading
from pathlib import Path

import pytest
from PIL import Image

from engine.assistant_process import ASSISTANT_PROCESS_ARG, ProcessAssistant
from engine.errors import FrontdeskError, InputError
from engine.store.database import Store
from engine.types import Turn

VOICE_CLIP = Path(__file__).parent / "data" / "audio" / "refund_order.wav"  # "charged twice"


def test_a_frozen_apps_assistant_process_answers_stores_and_hears_through_the_caller(
    tmp_path, frozen_app, caplog, faster_transcriber
):
    heard: list[str] = []

    class Caller:  # the window's Whisper: the one the caller hands in
        def transcribe(self, audio, **options):
            heard.append(str(audio))
            return faster_transcriber.transcribe(audio, **options)

    home = tmp_path / "home"
    with caplog.at_level(logging.INFO):
        assistant = ProcessAssistant(home, device="cpu", transcriber=Caller)
    try:
        # the child's log lines are in the caller's log (the app's file): its store's migration
        assert any(r.getMessage().startswith("(assistant process) migrating")
                   for r in caplog.records), [r.getMessage() for r in caplog.records]
        cmdline = Path(f"/proc/{assistant.pid}/cmdline").read_text().replace("\0", " ")
        assert f"frontdesk_entry.py {ASSISTANT_PROCESS_ARG}" in cmdline
        assert "track_order" in assistant.labels and assistant.device == "cpu"
        session = assistant.new_session()
        typed = Turn(text="where is my parcel? order 48213")
        loading = threading.Thread(target=assistant.load_screenshot_models)
        loading.start()  # beside the typed turn, as the window does after launch
        reply = assistant.respond(session, typed)
        loading.join(120)
        assert reply.intent == "track_order" and typed.id == reply.turn_id is not None

        spoken = Turn(audio=VOICE_CLIP)
        reply = assistant.respond(session, spoken)
        assert heard == [str(VOICE_CLIP)] and "charged twice" in spoken.text.lower()
        assert spoken.source == "voice" and reply.evidence.transcript == spoken.text
        maps = Path(f"/proc/{assistant.pid}/maps").read_text()
        assert "ctranslate2" not in maps  # no Whisper of its own in the child

        blank = tmp_path / "blank.png"
        Image.new("RGB", (480, 240), "white").save(blank)
        empty = Turn(images=[blank])
        with pytest.raises(InputError, match="it is kept in the session"):
            assistant.respond(session, empty)
        assert empty.id is not None  # stored before it was read: the window will not resend it
    finally:
        assistant.close()
    with Store.open(home) as store:
        rows = store.turns(session)
    assert [row["id"] for row in rows] == [typed.id, spoken.id, empty.id]
    assert rows[0]["reply"]["intent"] == "track_order" and rows[1]["source"] == "voice"


def test_models_that_cannot_load_are_one_sentence(tmp_path):
    with pytest.raises(FrontdeskError) as failed:
        ProcessAssistant(tmp_path, knowledge=tmp_path / "no-knowledge-here", device="cpu")
    message = str(failed.value)
    assert "no-knowledge-here" in message and message.endswith(".")


def test_a_turn_stored_before_the_child_dies_is_known_as_kept(tmp_path):
    """The child dies while reading a turn it has already stored (here: waiting for the
    window's Whisper to hear a recording): the caller learns of the death in one sentence, and
    its turn already carries the stored id, so the window keeps it and the agent does not send
    it a second time."""
    asked, hold = threading.Event(), threading.Event()

    class Caller:  # the window's Whisper, holding on to the clip until the child is gone
        def transcribe(self, audio, **options):
            asked.set()
            hold.wait(60)
            raise InputError("no longer wanted")

    home = tmp_path / "home"
    assistant = ProcessAssistant(home, device="cpu", transcriber=Caller)
    try:
        session = assistant.new_session()
        spoken = Turn(audio=VOICE_CLIP)
        failure: list[BaseException] = []

        def respond() -> None:
            try:
                assistant.respond(session, spoken)
            except FrontdeskError as err:
                failure.append(err)

        answering = threading.Thread(target=respond)
        answering.start()
        assert asked.wait(120)  # the turn is committed: the recording is kept before it is heard
        os.kill(assistant.pid, signal.SIGKILL)
        answering.join(60)
        hold.set()
        assert failure and "stopped unexpectedly" in str(failure[0])
        assert spoken.id is not None and spoken.source == "voice"
    finally:
        assistant.close()
    with Store.open(home) as store:
        assert [row["id"] for row in store.turns(session)] == [spoken.id]
