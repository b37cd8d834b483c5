"""Audio in and out: any file -> 16 kHz mono float32, the one format every speech part uses.

Decoding goes through PyAV (a faster-whisper dependency with its own FFmpeg libraries), so no
ffmpeg binary is needed. Anything that is not decodable audio becomes one clear InputError.
"""

from __future__ import annotations

import os
import wave
from pathlib import Path

import numpy as np

from engine.errors import InputError

SAMPLE_RATE = 16_000


def load_audio(path: str | os.PathLike[str]) -> np.ndarray:
    """Decode an audio file (wav, flac, mp3, ogg, m4a, ...) to 16 kHz mono float32 in [-1, 1]."""
    import av

    file = Path(path)
    if not file.is_file():
        raise InputError(f"The audio file {file} does not exist.")
    if file.stat().st_size == 0:
        raise InputError(f"The audio file {file.name} is empty.")
    try:
        samples = decode_file(str(file))
    except (av.error.FFmpegError, IndexError, ValueError, StopIteration) as err:
        # IndexError / StreamNotFound: a valid container (e.g. an image) without an audio stream.
        raise InputError(f"{file.name} is not a readable audio file ({_reason(err)}).") from err
    samples = np.asarray(samples, dtype=np.float32)
    if samples.size == 0:
        raise InputError(f"{file.name} contains no audio samples.")
    return samples


def decode_file(path: str) -> np.ndarray:
    """The first audio stream of `path` as 16 kHz mono float32, through PyAV's FFmpeg: 16-bit
    samples scaled to [-1, 1) as faster-whisper's decode_audio gives them, frames FFmpeg calls
    invalid skipped as it skips them. PyAV directly, not faster_whisper.audio: importing that
    imports faster-whisper whole (CTranslate2, tokenizers), in the window's process when the
    agent plays a voice turn back."""
    import av

    resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
    chunks = []
    with av.open(path, mode="r", metadata_errors="ignore") as container:
        frames = container.decode(audio=0)
        while True:
            try:
                frame = next(frames)
            except StopIteration:
                break
            except av.error.InvalidDataError:  # a damaged frame mid-stream: the rest still plays
                continue
            chunks += [out.to_ndarray().reshape(-1) for out in resampler.resample(frame)]
        chunks += [out.to_ndarray().reshape(-1) for out in resampler.resample(None)]
    if not chunks:
        return np.zeros(0, dtype=np.float32)
    return np.concatenate(chunks).astype(np.float32) / 32768.0


def to_mono_16k(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Mix down (frames x channels) and resample to 16 kHz; used for arrays from a microphone."""
    audio = np.asarray(samples, dtype=np.float32)
    if audio.ndim == 2:
        audio = audio.mean(axis=1)
    if audio.ndim != 1:
        raise InputError("Audio must be one channel or frames x channels.")
    if sample_rate == SAMPLE_RATE or audio.size == 0:
        return audio.astype(np.float32, copy=False)
    return resample(audio, sample_rate, SAMPLE_RATE)


def resample(audio: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Band-limited resampling of a mono float32 array through PyAV's libswresample."""
    import av

    if rate_in == rate_out:
        return audio.astype(np.float32, copy=False)
    frame = av.AudioFrame.from_ndarray(
        np.ascontiguousarray(audio, dtype=np.float32)[None, :], format="flt", layout="mono"
    )
    frame.sample_rate = rate_in
    resampler = av.AudioResampler(format="flt", layout="mono", rate=rate_out)
    return _joined(resampler.resample(frame) + resampler.resample(None))


class StreamResampler:
    """Resample a stream of mono blocks to 16 kHz, keeping filter state between blocks."""

    def __init__(self, rate_in: int) -> None:
        import av

        self.rate_in = rate_in
        self._resampler = (
            None
            if rate_in == SAMPLE_RATE
            else av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        )

    def push(self, block: np.ndarray) -> np.ndarray:
        """16 kHz samples for this block (libswresample may hold a few back until `flush`)."""
        if self._resampler is None:
            return np.asarray(block, dtype=np.float32)
        import av

        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(block, dtype=np.float32)[None, :], format="flt", layout="mono"
        )
        frame.sample_rate = self.rate_in
        return _joined(self._resampler.resample(frame))

    def flush(self) -> np.ndarray:
        """The samples still inside the resampler's filter."""
        if self._resampler is None:
            return np.zeros(0, dtype=np.float32)
        return _joined(self._resampler.resample(None))


def _joined(frames: list) -> np.ndarray:
    if not frames:
        return np.zeros(0, dtype=np.float32)
    return np.concatenate([f.to_ndarray().reshape(-1) for f in frames]).astype(np.float32)


def as_audio_array(audio: np.ndarray | str | os.PathLike[str]) -> np.ndarray:
    """Accept a path or an array; check arrays are 16 kHz mono float samples the model can use."""
    if isinstance(audio, (str, os.PathLike)):
        return load_audio(audio)
    samples = np.asarray(audio)
    if samples.ndim != 1:
        raise InputError("Audio arrays must be mono (one dimension) at 16 kHz.")
    if samples.dtype.kind not in "fiu":
        raise InputError("Audio arrays must hold numbers.")
    if samples.dtype.kind in "iu":
        samples = samples.astype(np.float32) / float(np.iinfo(samples.dtype).max)
    samples = samples.astype(np.float32, copy=False)
    if not np.all(np.isfinite(samples)):
        raise InputError("The audio contains invalid (NaN or infinite) samples.")
    return samples


def save_wav(audio: np.ndarray, path: str | os.PathLike[str]) -> Path:
    """Write 16 kHz mono float audio as 16-bit PCM WAV (how recordings are kept as attachments)."""
    file = Path(path)
    pcm = (np.clip(np.asarray(audio, dtype=np.float32), -1.0, 1.0) * 32767.0).astype("<i2")
    with wave.open(str(file), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(pcm.tobytes())
    return file


def duration_s(audio: np.ndarray) -> float:
    """Seconds of 16 kHz audio."""
    return float(len(audio)) / SAMPLE_RATE


def _reason(err: Exception) -> str:
    """A short, path-free cause for the one-sentence message."""
    if isinstance(err, (IndexError, StopIteration)):
        return "it has no audio track"
    text = getattr(err, "strerror", None) or str(err).strip() or type(err).__name__
    return text.splitlines()[0][:120].lower().rstrip(".")
