"""The recorder's capture code, fed real recorded speech through a sounddevice stand-in whose
InputStream calls the recorder's own callback block by block (this machine has no microphone)."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from engine.speech.audio import SAMPLE_RATE, load_audio
from engine.speech.recorder import VANISHED, DeviceError, Recorder, level_of
from tests.recordings import CROSS_CPU_WER, JFK_TEXT, FilePlaybackSoundDevice, wer


def _wait_for_playback(sd: FilePlaybackSoundDevice, seconds: float) -> None:
    """Block until the stand-in has played `seconds` of its file (or it vanished)."""
    stream = sd.streams[-1]
    done = threading.Event()
    for _ in range(int(60 / 0.02)):
        played = stream.blocks_delivered * stream.blocksize / sd.rate
        if played >= seconds or stream.vanished:
            done.set()
            break
        done.wait(0.02)
    assert done.is_set(), "the stand-in stream never played"


def _similarity(a: np.ndarray, b: np.ndarray) -> float:
    n = min(len(a), len(b))
    return float(np.corrcoef(a[:n], b[:n])[0, 1])


def test_records_16k_mono_with_levels_and_chunks(jfk: Path) -> None:
    sd = FilePlaybackSoundDevice(jfk, rate=16_000, speed=8.0)
    levels: list[float] = []
    chunks: list[np.ndarray] = []
    recorder = Recorder(sd, on_level=levels.append, on_chunk=chunks.append)
    recorder.start()
    assert recorder.recording
    _wait_for_playback(sd, 11.0)
    audio = recorder.stop()
    original = load_audio(jfk)
    assert abs(len(audio) - len(original)) < 0.05 * SAMPLE_RATE
    assert _similarity(audio, original) > 0.999
    assert sum(len(c) for c in chunks) == len(audio)
    assert len(levels) >= 200 and all(0.0 <= level <= 1.0 for level in levels)
    # the meter moves with the voice: loud blocks during the speech, quiet ones in its pauses
    assert max(levels) > 0.6 and min(levels) < max(levels) - 0.3
    assert recorder.error is None and not recorder.recording


def test_stereo_44k_device_is_resampled_and_transcribes(jfk, faster_transcriber, normalize):
    """A device that refuses 16 kHz records at its own rate; the words survive the trip."""
    sd = FilePlaybackSoundDevice(jfk, rate=44_100, channels=2, speed=8.0)
    recorder = Recorder(sd, device="Headset")
    recorder.start()
    assert recorder.device_rate == 44_100
    _wait_for_playback(sd, 11.0)
    audio = recorder.stop()
    assert _similarity(audio, load_audio(jfk)) > 0.99
    assert wer(normalize, JFK_TEXT, faster_transcriber.transcribe(audio).text) <= CROSS_CPU_WER


def test_device_vanishing_keeps_the_recorded_part(jfk: Path) -> None:
    sd = FilePlaybackSoundDevice(jfk, speed=8.0, vanish_after_s=3.0)
    errors: list[str] = []
    recorder = Recorder(sd, on_error=errors.append)
    recorder.start()
    _wait_for_playback(sd, 3.0)
    audio = recorder.stop()  # the dead stream fails to stop; the recorder must not
    assert errors == [VANISHED]
    assert recorder.error == VANISHED
    assert abs(len(audio) / SAMPLE_RATE - 3.0) < 0.1
    assert _similarity(audio, load_audio(jfk)[: len(audio)]) > 0.999


def test_no_input_device_is_one_sentence(jfk: Path) -> None:
    sd = FilePlaybackSoundDevice(jfk, has_input=False)
    assert Recorder.list_input_devices(sd) == []
    with pytest.raises(DeviceError, match="No microphone was found"):
        Recorder(sd).start()


def test_device_picker_lists_inputs_and_refuses_unknown_names(jfk: Path) -> None:
    sd = FilePlaybackSoundDevice(jfk)
    assert Recorder.list_input_devices(sd) == ["Headset Microphone (file playback)"]
    with pytest.raises(DeviceError, match="'USB mic' is not connected"):
        Recorder(sd, device="USB mic").start()
    with pytest.raises(DeviceError, match="Input device 0 is not available"):
        Recorder(sd, device=0).start()  # device 0 is the speakers


def test_device_that_fails_to_open(jfk: Path) -> None:
    recorder = Recorder(FilePlaybackSoundDevice(jfk, fail_open=True))
    with pytest.raises(DeviceError, match="could not be opened"):
        recorder.start()
    assert not recorder.recording and recorder.stop().size == 0


def test_toggle_starts_then_stops(jfk: Path) -> None:
    sd = FilePlaybackSoundDevice(jfk, speed=8.0)
    recorder = Recorder(sd)
    assert recorder.toggle() is None and recorder.recording
    _wait_for_playback(sd, 1.0)
    audio = recorder.toggle()
    assert audio is not None and audio.size >= SAMPLE_RATE and not recorder.recording


def test_the_real_module_fails_cleanly_without_a_microphone() -> None:
    """This machine has no PortAudio library or no input device: either way one sentence."""
    try:
        import sounddevice

        if any(d["max_input_channels"] > 0 for d in sounddevice.query_devices()):
            pytest.skip("this machine has a real microphone")
    except OSError:
        pass
    with pytest.raises(DeviceError) as caught:
        Recorder().start()
    assert "PortAudio" in str(caught.value) or "No microphone" in str(caught.value)


def test_level_meter_scale() -> None:
    assert level_of(np.zeros(800, dtype=np.float32)) == 0.0
    assert level_of(np.ones(800, dtype=np.float32)) == pytest.approx(1.0)
    assert level_of(np.full(800, 0.01, dtype=np.float32)) == pytest.approx(1 / 3, abs=0.01)
