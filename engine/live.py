"""Live transcription while the agent holds the mic button.

Whisper has no streaming mode, so we re-decode a growing window of the newest audio every
`interval_s` and commit the segments that two passes in a row agree on (the "local agreement"
policy of Machácek et al., 2023, "Turning Whisper into Real-Time Transcription System"). Committed
text is final, moves the window's start forward and becomes the prompt for what follows.

Back-pressure: audio is appended to one buffer, never queued as work; each pass decodes whatever
is new, so a slow CPU makes passes less frequent, not a growing backlog. The window is capped
(`max_window_s`): past it, everything but the last segment is committed even without agreement,
so one pass never costs more than decoding `max_window_s` of audio.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from engine.audio import SAMPLE_RATE
from engine.speech import PROMPT_CHARS, Segment, Transcriber

log = logging.getLogger(__name__)

MIN_WINDOW_S = 0.3  # shorter than this is not worth a pass
SETTLED_S = 1.0  # a segment ending this close to the window's end may still change


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
        self._previous: list[Segment] = []  # last pass's uncommitted segments, for agreement
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
            window_s = window.size / SAMPLE_RATE
            started = time.perf_counter()
            transcript = self.transcriber.transcribe(window, prompt=self._prompt())
            self.stats.decode_s += time.perf_counter() - started
            self.stats.passes += 1
            self.stats.longest_window_s = max(self.stats.longest_window_s, window_s)
            segments = [s for s in transcript.segments if s.text]
            settled = self._settled_count(segments, window_s, final)
            if settled:
                self._committed.extend(s.text for s in segments[:settled])
                end_s = window_s if final else segments[settled - 1].end
                self._committed_at += int(min(end_s, window_s) * SAMPLE_RATE)
            elif not segments and window_s > self.max_window_s:
                # a long stretch without speech: move on, keep the last second for a new word
                self._committed_at += int((window_s - SETTLED_S) * SAMPLE_RATE)
            self._previous = segments[settled:]
            if final:
                return
            partial = " ".join(self._committed + [s.text for s in self._previous]).strip()
            if self.stats.first_partial_s is None and partial and self._first_fed_at:
                self.stats.first_partial_s = time.perf_counter() - self._first_fed_at
            with self._lock:  # audio that arrived while decoding is not in this partial
                self.stats.lags_s.append((self._fed - fed) / SAMPLE_RATE)
            self.on_partial(partial)

    def _settled_count(self, segments: list[Segment], window_s: float, final: bool) -> int:
        """How many leading segments to commit now."""
        if final:
            return len(segments)
        count = 0
        for index, segment in enumerate(segments[:-1]):  # the last one may still grow
            if segment.end > window_s - SETTLED_S:
                break
            agreed = index < len(self._previous) and self._previous[index].text == segment.text
            if not agreed:
                break
            count = index + 1
        if count == 0 and window_s > self.max_window_s and len(segments) > 1:
            count = len(segments) - 1  # the window is too long: commit without agreement
        elif count == 0 and window_s > self.max_window_s and segments:
            count = 1  # one endless segment: settle it to keep passes bounded
        return count

    def _prompt(self) -> str | None:
        text = " ".join([self.prompt or ""] + self._committed).strip()
        return text[-PROMPT_CHARS:] or None
