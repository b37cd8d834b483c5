"""One Whisper process per window: the speech thread (files, recordings) and the Assistant's
process (a turn that is a recording alone) share it, through the app's own loaders. Each had its
own, so a recording-only turn loaded Whisper a second time, in a second process."""

from __future__ import annotations

import os
from pathlib import Path

from desktop.loaders import AssistantProcess, SharedTranscriber, load_transcriber
from desktop.settings import DesktopSettings
from engine.types import Turn
from tests.desktop.drive import VOICE_CLIP


def whisper_processes() -> list[int]:
    """The Whisper children (`python -m engine.speech.process`) of this process and of its
    children (the Assistant's)."""
    parents, found = {os.getpid()}, []
    for proc in sorted(Path("/proc").glob("[0-9]*"), key=lambda p: int(p.name)):
        try:
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
            parent = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if parent in parents:
            parents.add(int(proc.name))
            if b"engine.speech.process" in cmdline:
                found.append(int(proc.name))
    return found


def test_the_speech_thread_and_the_assistant_share_one_whisper_process(tmp_path: Path) -> None:
    settings = DesktopSettings(device="cpu")
    speech = SharedTranscriber(tmp_path, settings)
    loader = AssistantProcess(tmp_path, settings, speech)
    assistant = loader.load()
    try:
        assert speech.get().pid is None  # not started by the Assistant's load
        transcriber = load_transcriber(tmp_path, settings, speech)
        assert transcriber is speech.get() and transcriber.pid is not None
        first = transcriber.pid
        spoken = Turn(audio=VOICE_CLIP)
        assistant.respond(assistant.new_session(), spoken)  # heard by the window's Whisper
        assert "charged twice" in spoken.text.lower() and transcriber.pid == first
        assert whisper_processes() == [first]  # no second one, here or in the Assistant's
        assert "ctranslate2" not in Path(f"/proc/{assistant.pid}/maps").read_text()
    finally:
        loader.close()
        speech.get().close()
