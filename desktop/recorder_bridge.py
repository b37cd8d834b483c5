"""The microphone as Qt signals: level, live partial text, final transcript, one-sentence errors.

`engine.speech.recorder.Recorder` captures on PortAudio's thread and calls back from there; this
bridge
turns those callbacks into signals (safe to emit from any thread) and feeds the audio to
`engine.speech.live.LiveTranscriber` on the speech worker's thread, one feed at a time: chunks that
arrive while a decode runs are joined into the next feed, so a slow CPU never queues minutes of
work. The audio backend is injectable (`sd_module`), so tests play a real file through it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from desktop.engine_worker import EngineWorker, Job
from engine.errors import FrontdeskError

log = logging.getLogger("frontdesk.desktop")


class RecorderBridge(QObject):
    """Start/stop recording; emits `level(float)`, `partial(str)`, `finished(str, Path|None)`,
    `error(str)`, `recording(bool)`."""

    level = Signal(float)
    partial = Signal(str)
    finished = Signal(str, object)
    error = Signal(str)
    recording = Signal(bool)
    _chunk = Signal(object)
    _failed = Signal(str)

    def __init__(
        self,
        speech: EngineWorker,
        voice_dir: Path,
        sd_module: Any = None,
        device: str | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._speech = speech
        self._voice_dir = voice_dir
        self._sd_module = sd_module
        self._device = device or None
        self._recorder: Any = None
        self._live: Any = None
        self._waiting: list[Any] = []
        self._feeding = False
        self._chunk.connect(self._on_chunk)
        self._failed.connect(self._on_device_error)

    @property
    def active(self) -> bool:
        return self._recorder is not None

    def set_device(self, device: str | None) -> None:
        self._device = device or None

    def start(self) -> bool:
        """Open the microphone; False (and one sentence on `error`) when it cannot."""
        if self._recorder is not None:
            return True
        from engine.speech.recorder import Recorder

        try:
            recorder = Recorder(
                sd_module=self._sd_module,
                device=self._device,
                on_level=self.level.emit,
                on_chunk=self._chunk.emit,
                on_error=lambda err: self._failed.emit(str(err)),
            )
            recorder.start()
        except FrontdeskError as err:
            self.error.emit(str(err))
            return False
        except Exception as err:  # PortAudio's own errors, reported plainly
            log.exception("microphone failed to start")
            self.error.emit(f"The microphone could not be started: {err}.")
            return False
        self._recorder = recorder
        self._waiting.clear()
        self._feeding = False
        self._live = None
        self.partial_text = ""
        self.started_at = time.monotonic()

        def make_live(transcriber, _job: Job):
            from engine.speech.live import LiveTranscriber

            # set here, on the speech thread, so a `finish` queued behind this op sees it
            self._live = LiveTranscriber(transcriber, on_partial=self._emit_partial)
            return self._live

        self._speech.run(
            make_live, label="live transcription", on_done=self._live_ready,
            on_error=self._speech_failed,
        )
        self.recording.emit(True)
        return True

    def stop(self) -> None:
        """Close the microphone and settle the transcript; the recording is kept as a WAV."""
        recorder, self._recorder = self._recorder, None
        if recorder is None:
            return
        try:
            audio = recorder.stop()
        except FrontdeskError as err:
            self.error.emit(str(err))
            audio = None
        self.recording.emit(False)
        waiting, self._waiting = self._waiting, []
        voice_dir = self._voice_dir
        holder = self

        def finish(_transcriber, _job: Job) -> tuple[str, Path | None]:
            import numpy as np

            from engine.speech.audio import save_wav

            live = holder._live
            if live is None:
                return "", None
            for chunk in waiting:
                live.feed(chunk)
            text = live.finish()
            wav = None
            if audio is not None and len(audio):
                voice_dir.mkdir(parents=True, exist_ok=True)
                wav = save_wav(np.asarray(audio), voice_dir / f"voice-{time.time_ns()}.wav")
            return text, wav

        self._speech.run(
            finish, label="the transcript", on_done=lambda r: self.finished.emit(*r),
            on_error=self._speech_failed,
        )

    def _emit_partial(self, text: str) -> None:
        self.partial_text = text
        self.partial.emit(text)

    def _live_ready(self, live: Any) -> None:
        self._live = live
        self._pump()

    @Slot(object)
    def _on_chunk(self, chunk: Any) -> None:
        if self._recorder is None:
            return
        self._waiting.append(chunk)
        self._pump()

    def _pump(self) -> None:
        """Send what arrived to the live transcriber, joined, when the last feed is done."""
        if self._feeding or self._live is None or not self._waiting or self._recorder is None:
            return
        import numpy as np

        chunk = np.concatenate([np.asarray(c, dtype=np.float32).reshape(-1) for c in self._waiting])
        self._waiting = []
        self._feeding = True
        live = self._live

        def feed(_transcriber, _job: Job) -> None:
            live.feed(chunk)

        self._speech.run(feed, label="live transcription", on_done=self._fed,
                         on_error=self._speech_failed)

    def _fed(self, _result: Any) -> None:
        self._feeding = False
        self._pump()

    def _speech_failed(self, message: str) -> None:
        self._feeding = False
        self.error.emit(message)

    @Slot(str)
    def _on_device_error(self, message: str) -> None:
        """The device vanished mid-recording: say so, keep and transcribe what was recorded."""
        self.error.emit(message)
        self.stop()

    def transcribe_file(
        self,
        path: Path,
        *,
        on_done: Callable[[str], None],
        on_error: Callable[[str], None],
        on_progress: Callable[[int, int], None] | None = None,
    ) -> Job:
        """Transcribe a dropped audio file on the speech thread: cancellable, and
        `on_progress(done, total)` tells the fraction of the audio decoded (in hundredths)."""

        def op(transcriber, job: Job) -> str:
            result = transcriber.transcribe(
                path, progress=lambda f: job.progress(int(f * 100), 100), cancel=job.cancel_event
            )
            return result.text

        return self._speech.run(op, label=f"transcribing {path.name}", on_done=on_done,
                                on_error=on_error, on_progress=on_progress)
