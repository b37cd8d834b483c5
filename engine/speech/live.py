"""Live transcription while the agent holds the mic button.

Whisper has no streaming mode, so every `interval_s` we re-decode the window of audio not yet
settled and show committed text + that decode as the partial. The window settles at pauses: once
it holds 10 s and a pause in it (found by faster-whisper's Silero VAD) has a second of audio
after it, the audio before the pause is decoded on its own and committed. Committed text never
changes, the window starts after it, and it becomes Whisper's prompt for what follows. Cutting
in silence, not at Whisper's segment timestamps (whole seconds with tiny.en), keeps words from
being lost or doubled.

Back-pressure: audio is appended to one buffer, never queued as work; each pass decodes whatever
is new, so a slow CPU makes passes less frequent, not a growing backlog. The window is capped
(`max_window_s`): past it without a pause, it is cut at its quietest 100 ms, so one pass never
costs more than decoding about `max_window_s` of audio.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from engine.speech.audio import SAMPLE_RATE
from engine.speech.transcribe import PROMPT_CHARS, Transcriber

log = logging.getLogger(__name__)

MIN_WINDOW_S = 0.3  # shorter than this is not worth a pass
SETTLED_S = 1.0  # audio this close to the window's end may still change meaning
PAUSE_MS = 300  # a silence this long between words is a place to settle the text
SETTLE_AFTER_S = 10.0  # shorter windows stay open: Whisper needs context to get phrases right


@dataclass
class LiveStats:
    """Figures for the benchmark and the UI's debug panel."""

    passes: int = 0
    first_partial_s: float | None = None  # wall time from the first fed chunk to the first text
    lags_s: list[float] = field(default_factory=list)  # audio fed but not yet in the partial
    longest_window_s: float = 0.0
    decode_s: float = 0.0


class LiveTranscriber:
    """Feed 16 kHz mono chunks as they arrive; `on_partial` gets the running text on a worker
    thread (hand it to the UI thread); `finish` returns the settled transcript."""

    def __init__(
        self,
        transcriber: Transcriber,
        on_partial: Callable[[str], None],
        interval_s: float = 0.8,
        max_window_s: float = 20.0,
        prompt: str | None = None,
        background: bool = True,
    ) -> None:
        """`background=False` runs no worker thread: the caller drives passes with `step()`."""
        self.transcriber = transcriber
        self.on_partial = on_partial
        self.interval_s = interval_s
        self.max_window_s = max_window_s
        self.prompt = prompt
        self.background = background
        self.stats = LiveStats()
        self._chunks: list[np.ndarray] = []
        self._fed = 0  # samples received
        self._committed_at = 0  # samples before this are settled into `_committed`
        self._base = 0  # sample index of the first sample still in `_chunks`
        self._committed: list[str] = []
        self._decoded_until = 0  # `_fed` at the start of the last pass
        self._lock = threading.Lock()  # guards the buffer and the fed count
        self._decode_lock = threading.Lock()  # one pass at a time (worker or finish)
        self._closing = threading.Event()
        self._worker: threading.Thread | None = None
        self._first_fed_at: float | None = None
        self._error: Exception | None = None

    def feed(self, chunk: np.ndarray) -> None:
        """Add audio (any length, 16 kHz mono float32). Cheap: decoding happens elsewhere."""
        samples = np.asarray(chunk, dtype=np.float32).reshape(-1)
        if samples.size == 0 or self._closing.is_set():
            return
        with self._lock:
            self._chunks.append(samples)
            self._fed += samples.size
            if self._first_fed_at is None:
                self._first_fed_at = time.perf_counter()
        if self._worker is None and self.background:
            self._worker = threading.Thread(target=self._run, name="live-transcriber", daemon=True)
            self._worker.start()

    def finish(self) -> str:
        """Stop the passes, decode what is left and return the whole transcript."""
        self._closing.set()
        if self._worker is not None:
            self._worker.join()
        if self._error is not None:
            raise self._error
        if self._fed - self._committed_at >= MIN_WINDOW_S * SAMPLE_RATE:
            self._pass(final=True)
        text = self.text()
        if text:
            self.on_partial(text)
        return text

    def step(self) -> None:
        """One decoding pass over the uncommitted audio, now (what the worker does each tick)."""
        self._pass(final=False)

    def text(self) -> str:
        """The committed text so far."""
        return " ".join(self._committed).strip()

    def _run(self) -> None:
        next_pass = time.perf_counter() + self.interval_s
        while not self._closing.wait(max(0.0, next_pass - time.perf_counter())):
            next_pass = time.perf_counter() + self.interval_s
            if self._fed == self._decoded_until:
                continue
            try:
                self._pass(final=False)
            except Exception as err:  # surfaced by finish(); the recording itself goes on
                log.exception("live transcription pass failed")
                self._error = err
                return

    def _window(self) -> tuple[np.ndarray, int]:
        """The uncommitted audio and the fed count it ends at; drops committed audio."""
        with self._lock:
            audio = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.float32)
            window = audio[self._committed_at - self._base :]
            self._chunks = [window]
            self._base = self._committed_at
            return window, self._fed

    def _pass(self, final: bool) -> None:
        with self._decode_lock:
            window, fed = self._window()
            self._decoded_until = fed
            if window.size < MIN_WINDOW_S * SAMPLE_RATE and not final:
                return
            self.stats.passes += 1
            window_s = window.size / SAMPLE_RATE
            self.stats.longest_window_s = max(self.stats.longest_window_s, window_s)
            started = time.perf_counter()
            if final:
                self._commit(self._decode(window))
                self._committed_at += window.size
                return
            cut, spoken = self._settled_cut(window)
            if cut:
                if spoken:
                    self._commit(self._decode(window[:cut]))
                self._committed_at += cut
                window = window[cut:]
            tail = self._decode(window) if window.size >= MIN_WINDOW_S * SAMPLE_RATE else ""
            self.stats.decode_s += time.perf_counter() - started
            partial = " ".join([self.text(), tail]).strip()
            if self.stats.first_partial_s is None and partial and self._first_fed_at:
                self.stats.first_partial_s = time.perf_counter() - self._first_fed_at
            with self._lock:  # audio that arrived while decoding is not in this partial
                self.stats.lags_s.append((self._fed - fed) / SAMPLE_RATE)
            self.on_partial(partial)

    def _decode(self, audio: np.ndarray) -> str:
        return self.transcriber.transcribe(audio, prompt=self._prompt()).text.strip()

    def _commit(self, text: str) -> None:
        if text:
            self._committed.append(text)

    def _settled_cut(self, window: np.ndarray) -> tuple[int, bool]:
        """Where to settle the window (0: not yet) and whether speech comes before that point.

        Once the window holds SETTLE_AFTER_S: the middle of the latest pause with at least
        SETTLED_S of audio after it, so the words before it can no longer change and the cut falls
        in silence. Past `max_window_s` without a pause, the quietest 100 ms will do."""
        limit = window.size - int(SETTLED_S * SAMPLE_RATE)
        if window.size < min(SETTLE_AFTER_S, self.max_window_s) * SAMPLE_RATE:
            return 0, False
        speech = self.transcriber.speech_timestamps(
            window, min_silence_duration_ms=PAUSE_MS, speech_pad_ms=100
        )
        if not speech:  # silence so far: keep only its end, where a word may be starting
            return limit, False
        pauses = [(a["end"] + b["start"]) // 2 for a, b in zip(speech, speech[1:], strict=False)]
        pauses.append((speech[-1]["end"] + window.size) // 2)
        settled = [p for p in pauses if p <= limit and p > speech[0]["start"]]
        if settled:
            return settled[-1], True
        if window.size <= self.max_window_s * SAMPLE_RATE:
            return 0, False
        frame = SAMPLE_RATE // 10  # no pause in a long window: cut at its quietest moment
        lower = window.size // 2
        frames = window[lower : lower + (limit - lower) // frame * frame].reshape(-1, frame)
        quietest = int(np.argmin(np.square(frames).mean(axis=1)))
        return lower + quietest * frame + frame // 2, True

    def _prompt(self) -> str | None:
        text = " ".join([self.prompt or ""] + self._committed).strip()
        return text[-PROMPT_CHARS:] or None
