"""Recorded audio for tests: WAV files, word error rate, and a sound device that
plays a file into the capture path (CI has no microphone)."""

from __future__ import annotations

import threading
import time
import wave
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

JFK_TEXT = (
    "And so my fellow Americans, ask not what your country can do for you, "
    "ask what you can do for your country."
)


# Whisper's int8 and float kernels differ between CPUs (AVX-512 here, AVX2 on many desks): the
# same audio can gain or lose a comma or, rarely, a word. Transcripts are compared after Whisper's
# English normaliser, within a word error rate, never character for character.
CROSS_CPU_WER = 0.05  # at most one word of the 22 in the JFK clip


def wer(normalize: Any, reference: str, hypothesis: str) -> float:
    """Word error rate of `hypothesis` against `reference`, both normalised (empty counts)."""
    import jiwer

    return jiwer.wer(normalize(reference), normalize(hypothesis) or "<empty>")


def write_wav(path: Path, frames: np.ndarray, rate: int) -> Path:
    """16-bit PCM WAV of float frames, shape (n,) or (n, channels)."""
    data = np.asarray(frames, dtype=np.float32)
    data = data[:, None] if data.ndim == 1 else data
    pcm = (np.clip(data, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(data.shape[1])
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())
    return path


def long_recording(clips: list[Path], path: Path, seconds: float = 65.0) -> Path:
    """`seconds` of real speech as one WAV: `clips` one after another, round again until long
    enough (as a tester's voice_long: long enough that cancelling it mid-way means something)."""
    from engine.speech.audio import SAMPLE_RATE, load_audio, save_wav

    parts, total, wanted = [], 0, int(seconds * SAMPLE_RATE)
    while total < wanted:
        for clip in clips:
            parts.append(load_audio(clip))
            total += len(parts[-1])
    return save_wav(np.concatenate(parts)[:wanted], path)


def decode_at(path: Path, rate: int, channels: int = 1) -> np.ndarray:
    """A real file decoded to (frames, channels) float32 at `rate`, as a sound card would give."""
    import av

    layout = "stereo" if channels == 2 else "mono"
    resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate)
    planes = []
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            planes += [f.to_ndarray() for f in resampler.resample(frame)]
    planes += [f.to_ndarray() for f in resampler.resample(None)]
    return np.concatenate(planes, axis=1).T.copy()


class FilePlaybackSoundDevice:
    """Has the parts of the `sounddevice` module the recorder uses; its one input device
    "hears" a real audio file, delivered block by block to the recorder's own callback from
    another thread, as PortAudio does. Knobs: the device's native rate and channels, the rates
    it accepts, playback speed, and a moment at which the device vanishes."""

    class PortAudioError(Exception):
        pass

    def __init__(
        self,
        path: Path,
        *,
        rate: int = 16_000,
        channels: int = 1,
        accepted_rates: tuple[int, ...] | None = None,
        speed: float = 4.0,
        vanish_after_s: float | None = None,
        has_input: bool = True,
        fail_open: bool = False,
    ) -> None:
        self.frames = decode_at(path, rate, channels)
        self.rate = rate
        self.channels = channels
        self.accepted_rates = accepted_rates or (rate,)
        self.speed = speed
        self.vanish_after_s = vanish_after_s
        self.has_input = has_input
        self.fail_open = fail_open
        self.default = SimpleNamespace(device=[1 if has_input else -1, 0])
        self.streams: list[PlaybackInputStream] = []

    def query_devices(self, device: int | None = None) -> Any:
        devices = [
            {"name": "Speakers", "max_input_channels": 0, "max_output_channels": 2,
             "default_samplerate": 48_000.0},
        ]
        if self.has_input:
            devices.append({"name": "Headset Microphone (file playback)",
                            "max_input_channels": self.channels, "max_output_channels": 0,
                            "default_samplerate": float(self.rate)})
        return devices if device is None else devices[device]

    def check_input_settings(self, device: int | None = None, channels: int | None = None,
                             dtype: str | None = None, samplerate: float | None = None) -> None:
        if samplerate is not None and int(samplerate) not in self.accepted_rates:
            raise self.PortAudioError("Invalid sample rate [PaErrorCode -9997]")

    def InputStream(self, **kwargs: Any) -> PlaybackInputStream:  # noqa: N802 (sounddevice's name)
        if self.fail_open:
            raise self.PortAudioError("Device unavailable [PaErrorCode -9985]")
        if int(kwargs["samplerate"]) not in self.accepted_rates:
            raise self.PortAudioError("Invalid sample rate [PaErrorCode -9997]")
        stream = PlaybackInputStream(self, **kwargs)
        self.streams.append(stream)
        return stream


class PlaybackInputStream:
    """sounddevice.InputStream's interface: start/stop/close/active, callback per block."""

    def __init__(self, owner: FilePlaybackSoundDevice, *, samplerate: float, channels: int,
                 blocksize: int, callback: Any, finished_callback: Any = None,
                 device: Any = None, dtype: str = "float32") -> None:
        self.owner = owner
        self.blocksize = blocksize
        self.callback = callback
        self.finished_callback = finished_callback
        self.active = False
        self.vanished = False
        self.blocks_delivered = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._play, daemon=True)

    def start(self) -> None:
        self.active = True
        self._thread.start()

    def _play(self) -> None:
        frames, rate = self.owner.frames, self.owner.rate
        limit = len(frames)
        if self.owner.vanish_after_s is not None:
            limit = min(limit, int(self.owner.vanish_after_s * rate))
        for begin in range(0, limit, self.blocksize):
            if self._stop.is_set():
                return
            block = frames[begin : begin + self.blocksize]
            self.callback(block, len(block), None, None)
            self.blocks_delivered += 1
            time.sleep(len(block) / rate / self.owner.speed)
        if self.owner.vanish_after_s is not None:  # unplugged: the stream dies by itself
            self.vanished = True
            self.active = False
            if self.finished_callback:
                self.finished_callback()
            return
        self._stop.wait()  # a real microphone keeps going; here it falls silent after the file

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        if self.vanished:
            raise self.owner.PortAudioError("Stream is stopped [PaErrorCode -9983]")
        self.active = False
        if self.finished_callback:
            self.finished_callback()

    def close(self) -> None:
        self.active = False
