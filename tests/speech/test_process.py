"""Whisper in a child process (engine.speech.process): the same words as in-process, the model
not in the caller's process, cancel within a second, and a child that dies is one sentence with
the next clip working again."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from engine.errors import ModelError
from engine.speech.audio import load_audio
from engine.speech.live import LiveTranscriber
from engine.speech.process import CANCEL_GRACE_S, SPEECH_PROCESS_ARG, ProcessTranscriber
from engine.speech.transcribe import Cancelled
from tests.recordings import CROSS_CPU_WER, JFK_TEXT, long_recording, wer

CANCEL_BOUND_S = CANCEL_GRACE_S + 1.0  # the grace, then the kill and a loaded machine's slack


@pytest.fixture(scope="module")
def remote(speech_home: Path) -> Iterator[ProcessTranscriber]:
    transcriber = ProcessTranscriber(home=speech_home, device="cpu")
    yield transcriber
    transcriber.close()


@pytest.fixture(scope="module")
def long_clip(speech_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    clips = sorted((speech_dir / "audio").glob("*.flac"))
    return long_recording(clips, tmp_path_factory.mktemp("long") / "voice_long.wav")


def mapped(pid: int) -> str:
    """The shared objects process `pid` has loaded (its /proc maps)."""
    return Path(f"/proc/{pid}/maps").read_text()


def test_whisper_runs_in_a_child_without_qt_and_gives_the_words(remote, jfk, normalize):
    fractions: list[float] = []
    result = remote.transcribe(jfk, progress=fractions.append)
    assert wer(normalize, JFK_TEXT, result.text) <= CROSS_CPU_WER, result.text
    assert fractions and fractions[-1] == 1.0 and fractions == sorted(fractions)
    assert (remote.backend, remote.model_name) == ("faster-whisper", "tiny.en")
    assert remote.pid is not None and remote.pid != os.getpid()
    child = mapped(remote.pid)
    assert "ctranslate2" in child  # Whisper is there ...
    assert "Qt6" not in child and "PySide6" not in child  # ... and nothing of the window


def test_a_recording_array_and_the_live_pauses_go_through_the_child(remote, jfk,
                                                                    faster_transcriber, normalize):
    """Live transcription asks the transcriber where the pauses are (Silero VAD): the child
    answers as the in-process model does, and a 12.5 s window settles through it."""
    audio = np.concatenate([load_audio(jfk), np.zeros(24_000, dtype=np.float32)])
    options = {"min_silence_duration_ms": 300, "speech_pad_ms": 100}
    here = faster_transcriber.speech_timestamps(audio, **options)
    there = remote.speech_timestamps(audio, **options)
    assert len(there) == len(here) > 1
    assert all(abs(a["start"] - b["start"]) <= 1600 for a, b in zip(here, there, strict=True))

    live = LiveTranscriber(remote, lambda _text: None, background=False)
    live.feed(audio)
    live.step()  # 14 s in the window: settled at a pause the child found
    assert live.text()  # the words before the pause are committed
    assert wer(normalize, JFK_TEXT, live.finish()) <= 0.1


def test_cancel_takes_effect_within_a_second_and_the_next_clip_works(remote, long_clip, jfk,
                                                                     normalize):
    cancel = threading.Event()
    cancelled_at: list[float] = []

    def progress(_fraction: float) -> None:  # the agent presses Esc once decoding is under way
        if not cancel.is_set():
            cancel.set()
            cancelled_at.append(time.monotonic())

    with pytest.raises(Cancelled):
        remote.transcribe(long_clip, progress=progress, cancel=cancel)
    assert time.monotonic() - cancelled_at[0] < CANCEL_BOUND_S
    assert wer(normalize, JFK_TEXT, remote.transcribe(jfk).text) <= CROSS_CPU_WER


def test_a_killed_child_is_one_sentence_and_the_next_clip_starts_a_new_one(remote, long_clip,
                                                                           jfk, normalize):
    remote.start()
    first = remote.pid

    def progress(_fraction: float) -> None:
        if remote.pid == first:
            os.kill(first, signal.SIGKILL)  # as the OOM killer or a crash would

    with pytest.raises(ModelError) as failed:
        remote.transcribe(long_clip, progress=progress)
    message = str(failed.value)
    assert message.startswith("The speech model stopped unexpectedly") and "signal 9" in message
    assert message.endswith(".") and ". " not in message  # one sentence
    assert wer(normalize, JFK_TEXT, remote.transcribe(jfk).text) <= CROSS_CPU_WER
    assert remote.pid not in (None, first)


def test_a_model_that_cannot_load_is_one_sentence(tmp_path):
    with pytest.raises(ModelError, match="is not a speech model"):
        ProcessTranscriber(model=tmp_path / "no-model-here", device="cpu")


def test_a_frozen_app_starts_the_child_through_its_own_entry_point(frozen_app, jfk, normalize):
    """In PyInstaller's bundle sys.executable is the app itself: the child is the app started
    with SPEECH_PROCESS_ARG, which packaging/frontdesk_entry.py hands to the speech process
    (here the app is the entry script behind a one-line launcher, as the bundle's binary)."""
    remote = ProcessTranscriber(device="cpu")
    try:
        assert wer(normalize, JFK_TEXT, remote.transcribe(jfk).text) <= CROSS_CPU_WER
        assert f"frontdesk_entry.py {SPEECH_PROCESS_ARG}" in Path(
            f"/proc/{remote.pid}/cmdline").read_text().replace("\0", " ")
    finally:
        remote.close()
