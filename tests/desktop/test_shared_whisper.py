"""One Whisper process per window: the speech thread (files, recordings) and the Assistant (a
turn that is a recording alone) share it, through the app's own loaders. Each had its own, so a
recording-only turn loaded Whisper a second time, in a second process."""

from __future__ import annotations

from pathlib import Path

from desktop.loaders import SharedTranscriber, load_assistant, load_transcriber
from desktop.settings import DesktopSettings
from tests.desktop.drive import VOICE_CLIP


def test_the_speech_thread_and_the_assistant_share_one_whisper_process(tmp_path: Path) -> None:
    settings = DesktopSettings(device="cpu")
    speech = SharedTranscriber(tmp_path, settings)
    assistant = load_assistant(tmp_path, settings, speech)
    try:
        assert assistant.transcriber.pid is None  # not started by the Assistant's load
        transcriber = load_transcriber(tmp_path, settings, speech)
        assert transcriber is assistant.transcriber and transcriber.pid is not None
        first = transcriber.pid
        heard = assistant.transcriber.transcribe(VOICE_CLIP).text.lower()
        assert "charged twice" in heard and transcriber.pid == first  # no second process
    finally:
        assistant.close()
        speech.get().close()
