"""Live mode with the real model: partial text while audio arrives, settled text on release, and
a window that stays bounded however much audio piles up."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from engine.speech.audio import SAMPLE_RATE, load_audio
from engine.speech.live import LiveTranscriber
from engine.speech.recorder import Recorder
from tests.recordings import JFK_TEXT, FilePlaybackSoundDevice, write_wav
from tests.recordings import wer as _wer

STEW = (
    "He hoped there would be stew for dinner, turnips and carrots and bruised potatoes and fat "
    "mutton pieces to be ladled out in thick peppered flour fattened sauce"
)


@pytest.fixture(scope="module")
def two_clips(speech_dir: Path) -> np.ndarray:
    """21.5 s: the JFK clip, half a second of silence, a LibriSpeech sentence."""
    return np.concatenate([
        load_audio(speech_dir / "audio" / "whisper_jfk.flac"),
        np.zeros(SAMPLE_RATE // 2, dtype=np.float32),
        load_audio(speech_dir / "audio" / "librispeech_1089-134686-0000.flac"),
    ])


@pytest.mark.slow
def test_microphone_to_live_text(two_clips, tmp_path: Path, faster_transcriber, normalize):
    """The recorder's chunks go straight into live mode, as in the window; partials come while
    the audio plays, the committed part only ever grows, and the final text is right."""
    wav = write_wav(tmp_path / "call.wav", two_clips, SAMPLE_RATE)
    sd = FilePlaybackSoundDevice(wav, speed=2.0)
    seen: list[tuple[str, str]] = []
    live = LiveTranscriber(
        faster_transcriber, on_partial=lambda text: seen.append((text, live.text()))
    )
    recorder = Recorder(sd, on_chunk=live.feed)
    recorder.start()
    stream, tick = sd.streams[-1], threading.Event()
    while stream.blocks_delivered * stream.blocksize < len(two_clips):
        tick.wait(0.1)
    partials_while_speaking = len(seen)
    recorder.stop()
    final = live.finish()
    assert partials_while_speaking >= 3
    committed = [c for _, c in seen]
    assert all(a == b[: len(a)] for a, b in zip(committed, committed[1:], strict=False))
    assert all(text.startswith(c) for text, c in seen)
    assert _wer(normalize, f"{JFK_TEXT} {STEW}", final) <= 0.1
    assert seen[-1][0] == final
    assert live.stats.first_partial_s is not None


def test_window_stays_bounded_when_audio_piles_up(speech_dir, faster_transcriber, normalize):
    """A slow CPU: 4 s arrive between passes. The decoded window never grows past the cap plus
    one burst, every pass covers the newest audio, and nothing is lost."""
    clip = load_audio(speech_dir / "audio" / "whisper_jfk.flac")
    audio = np.concatenate([clip, np.zeros(SAMPLE_RATE, dtype=np.float32), clip])
    partials: list[str] = []
    live = LiveTranscriber(faster_transcriber, partials.append, max_window_s=8.0, background=False)
    burst = 4 * SAMPLE_RATE
    for begin in range(0, len(audio), burst):
        live.feed(audio[begin : begin + burst])
        live.step()
    final = live.finish()
    assert live.stats.longest_window_s <= 8.0 + 4.0 + 1e-6
    assert live.stats.passes == len(range(0, len(audio), burst)) + 1
    assert max(live.stats.lags_s) == 0.0  # nothing arrived during a pass: no backlog
    assert _wer(normalize, " ".join([JFK_TEXT] * 2), final) <= 0.15
    assert len(partials) == live.stats.passes  # one partial per pass, then the final text


def test_nothing_fed_gives_nothing(faster_transcriber) -> None:
    partials: list[str] = []
    live = LiveTranscriber(faster_transcriber, partials.append)
    live.feed(np.zeros(0, dtype=np.float32))
    assert live.finish() == "" and partials == []


def test_too_short_to_decode_is_empty(faster_transcriber) -> None:
    live = LiveTranscriber(faster_transcriber, lambda _: None, background=False)
    live.feed(np.zeros(SAMPLE_RATE // 10, dtype=np.float32))
    live.step()
    assert live.finish() == "" and live.stats.passes == 0
