"""Microphone capture without Qt: a sounddevice InputStream that keeps 16 kHz mono audio.

The `sounddevice` module is passed in (as Buzz does), so tests hand over a stand-in whose
InputStream plays a real file through the very same callback; the app passes nothing and gets the
real module. Every failure (no PortAudio, no microphone, a device that vanishes mid-recording) is
one clear sentence, and what was recorded before it is kept.

Callbacks (`on_level`, `on_chunk`, `on_error`) run on the audio thread: the window must hand them
to its own thread (a Qt signal does that) and return quickly.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from engine.errors import FrontdeskError
from engine.speech.audio import SAMPLE_RATE, StreamResampler
from engine.store.media import max_recording_s, spoken_length

log = logging.getLogger(__name__)

BLOCK_S = 0.05  # 50 ms blocks: a level meter that moves smoothly, little overhead
STALL_S = 2.0  # no audio for this long while recording means the device is gone
VANISHED = (
    "The microphone stopped sending audio (was it unplugged?); the part recorded so far is kept."
)


class DeviceError(FrontdeskError):
    """No usable microphone: PortAudio missing, no input device, or the device failed."""

    exit_code = 5


def import_sounddevice() -> Any:
    """The real sounddevice module, or a DeviceError when the PortAudio library is missing."""
    try:
        import sounddevice
    except OSError as err:  # sounddevice raises OSError('PortAudio library not found')
        raise DeviceError(
            "Recording needs the PortAudio library (libportaudio2), which is not installed; "
            "typing and audio files still work."
        ) from err
    return sounddevice


def level_of(block: np.ndarray) -> float:
    """Loudness for a meter: RMS in dBFS mapped from [-60, 0] dB onto [0, 1]."""
    if block.size == 0:
        return 0.0
    rms = float(np.sqrt(np.mean(np.square(block, dtype=np.float64))))
    decibels = 20.0 * np.log10(max(rms, 1e-6))
    return float(min(1.0, max(0.0, (decibels + 60.0) / 60.0)))


class Recorder:
    """Push-to-talk / toggle recording from one input device, 16 kHz mono float32 out."""

    def __init__(
        self,
        sd_module: Any = None,
        device: int | str | None = None,
        on_level: Callable[[float], None] | None = None,
        on_chunk: Callable[[np.ndarray], None] | None = None,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        self._sd = sd_module
        self.device = device
        self.on_level = on_level
        self.on_chunk = on_chunk
        self.on_error = on_error
        self.device_rate = SAMPLE_RATE
        self.error: str | None = None
        self._chunks: list[np.ndarray] = []
        self._kept = 0  # samples in _chunks
        self._max_samples = 0  # the recording limit (engine.store.media), set at start
        self._lock = threading.Lock()
        self._stream: Any = None
        self._resampler: StreamResampler | None = None
        self._stopping = threading.Event()
        self._last_audio = 0.0
        self._watchdog: threading.Thread | None = None

    @property
    def recording(self) -> bool:
        return self._stream is not None

    @staticmethod
    def list_input_devices(sd_module: Any = None) -> list[str]:
        """Names of the input devices, for the device picker (empty when there are none)."""
        sd = sd_module or import_sounddevice()
        return [device["name"] for _, device in _input_devices(sd)]

    def start(self) -> None:
        """Open the device and start keeping audio; a DeviceError says why it cannot."""
        if self.recording:
            return
        sd = self._sd or import_sounddevice()
        self._sd = sd
        index = self._pick_device(sd)
        self.device_rate = self._pick_rate(sd, index)
        self._resampler = StreamResampler(self.device_rate)
        with self._lock:
            self._chunks, self._kept = [], 0
        self._max_samples = int(max_recording_s() * SAMPLE_RATE)
        self.error = None
        self._stopping.clear()
        self._last_audio = time.monotonic()
        try:
            stream = sd.InputStream(
                device=index,
                samplerate=self.device_rate,
                channels=1,
                dtype="float32",
                blocksize=int(self.device_rate * BLOCK_S),
                callback=self._on_audio,
                finished_callback=self._on_finished,
            )
            stream.start()
        except (sd.PortAudioError, ValueError) as err:
            raise DeviceError(f"The microphone could not be opened ({err}).") from err
        self._stream = stream
        self._watchdog = threading.Thread(target=self._watch, name="recorder-watch", daemon=True)
        self._watchdog.start()

    def stop(self) -> np.ndarray:
        """Stop and return everything recorded (also after the device vanished)."""
        self._stopping.set()
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.stop()
                stream.close()
            except Exception as err:  # a vanished device fails here; the audio is already kept
                log.warning("closing the input stream failed: %s", err)
                self._report(VANISHED)
        if self._watchdog is not None:
            self._watchdog.join(timeout=1.0)
            self._watchdog = None
        if self._resampler is not None:
            tail = self._resampler.flush()
            with self._lock:
                tail = tail[:max(self._max_samples - self._kept, 0)]
                if tail.size:
                    self._chunks.append(tail)
                    self._kept += tail.size
        return self.audio()

    def toggle(self) -> np.ndarray | None:
        """Toggle mode: start when idle (returns None), stop when recording (returns the audio)."""
        if self.recording:
            return self.stop()
        self.start()
        return None

    def audio(self) -> np.ndarray:
        """A copy of the audio kept so far, 16 kHz mono float32."""
        with self._lock:
            if not self._chunks:
                return np.zeros(0, dtype=np.float32)
            return np.concatenate(self._chunks)

    def _pick_device(self, sd: Any) -> int:
        inputs = _input_devices(sd)
        if not inputs:
            raise DeviceError("No microphone was found; connect one and try again.")
        indices = [index for index, _ in inputs]
        if self.device is None:
            default = sd.default.device
            default_input = default[0] if isinstance(default, (list, tuple)) else default
            return default_input if default_input in indices else indices[0]
        if isinstance(self.device, int):
            if self.device not in indices:
                raise DeviceError(f"Input device {self.device} is not available.")
            return self.device
        for index, device in inputs:
            if device["name"] == self.device:
                return index
        for index, device in inputs:
            if str(self.device).lower() in device["name"].lower():
                return index
        raise DeviceError(f"The microphone {self.device!r} is not connected.")

    def _pick_rate(self, sd: Any, index: int) -> int:
        """16 kHz when the device takes it, else its own rate (resampled to 16 kHz as we go)."""
        try:
            sd.check_input_settings(
                device=index, channels=1, dtype="float32", samplerate=SAMPLE_RATE
            )
            return SAMPLE_RATE
        except (sd.PortAudioError, ValueError):
            rate = int(sd.query_devices(index)["default_samplerate"])
            log.info("device %s does not take 16 kHz; recording at %d Hz", index, rate)
            return rate

    def _on_audio(self, indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        """PortAudio's callback (audio thread): keep the block, then tell the listeners."""
        if status:
            log.debug("input status: %s", status)
        block = np.asarray(indata, dtype=np.float32)
        mono = block.mean(axis=1) if block.ndim == 2 else block.copy()
        resampler = self._resampler
        if resampler is None:
            return
        chunk = resampler.push(mono)
        self._last_audio = time.monotonic()
        with self._lock:  # past the recording limit the store would refuse it: keep no more
            room = self._max_samples - self._kept
            full = chunk.size >= room
            chunk = chunk[:max(room, 0)]
            self._chunks.append(chunk)
            self._kept += chunk.size
        if full:
            self._report(
                "The recording stopped at its limit of "
                f"{spoken_length(self._max_samples / SAMPLE_RATE)} "
                "(FRONTDESK_MAX_RECORDING_S); what was recorded is kept."
            )
        try:
            if self.on_level is not None:
                self.on_level(level_of(mono))
            if self.on_chunk is not None and chunk.size:
                self.on_chunk(chunk)
        except Exception:  # a listener's bug must not kill the stream
            log.exception("recorder listener failed")

    def _on_finished(self) -> None:
        if not self._stopping.is_set():
            self._report(VANISHED)

    def _watch(self) -> None:
        """Notice a device that died without telling us (no callbacks, stream inactive)."""
        while not self._stopping.wait(0.25):
            stream = self._stream
            if stream is None:
                return
            stalled = time.monotonic() - self._last_audio > STALL_S
            if stalled or not getattr(stream, "active", True):
                self._report(VANISHED)
                return

    def _report(self, message: str) -> None:
        if self.error is not None:
            return
        self.error = message
        if self.on_error is not None:
            try:
                self.on_error(message)
            except Exception:
                log.exception("recorder error listener failed")


def _input_devices(sd: Any) -> list[tuple[int, dict]]:
    try:
        devices = sd.query_devices()
    except sd.PortAudioError as err:
        raise DeviceError(f"The audio devices could not be listed ({err}).") from err
    return [
        (index, dict(device))
        for index, device in enumerate(devices)
        if device.get("max_input_channels", 0) > 0
    ]
