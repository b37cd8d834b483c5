"""Attachment bytes and what the store records about them (mime, size, duration).

Headers only: Pillow for images, `wave` or PyAV (faster-whisper's decoder) for audio. A file
that is neither is refused with one sentence before anything is written.
"""

from __future__ import annotations

import logging
import mimetypes
import os
from pathlib import Path
from typing import Any

from engine.errors import InputError

log = logging.getLogger(__name__)

# A customer's voice message rarely runs past a minute or two; a 10-minute one is 19 MB as
# 16 kHz WAV (more at 48 kHz) and keeps Whisper busy for minutes. Longer ones are refused.
MAX_RECORDING_S = 300.0  # the default of $FRONTDESK_MAX_RECORDING_S
MAX_AUDIO_BYTES = 200 * 2**20  # never read a bigger audio file into memory, whatever its length


def max_recording_s() -> float:
    """The longest recording kept with a turn, in seconds: $FRONTDESK_MAX_RECORDING_S, else
    `MAX_RECORDING_S` (5 minutes)."""
    chosen = os.environ.get("FRONTDESK_MAX_RECORDING_S", "").strip()
    if chosen:
        try:
            seconds = float(chosen)
            if seconds > 0:
                return seconds
        except ValueError:
            pass
        log.warning("FRONTDESK_MAX_RECORDING_S=%r is not a number of seconds; using %g",
                    chosen, MAX_RECORDING_S)
    return MAX_RECORDING_S


def spoken_length(seconds: float) -> str:
    """'5 minutes', '90 seconds': a length as people say it."""
    if seconds >= 60 and seconds % 60 == 0:
        minutes = int(seconds // 60)
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    if seconds >= 60:
        return f"{seconds / 60:.1f} minutes"
    return f"{seconds:.0f} seconds"


def read_media(kind: str, file: Path) -> tuple[bytes, dict[str, Any]]:
    """Bytes and metadata of an image/audio file; InputError if it is missing, unreadable or
    (audio) longer than the recording limit."""
    try:
        if kind == "audio" and file.stat().st_size > MAX_AUDIO_BYTES:
            raise InputError(f"The recording {file.name} is larger than "
                             f"{MAX_AUDIO_BYTES // 2**20} MB; send a shorter one.")
        data = file.read_bytes()
    except OSError as err:
        raise InputError(f"Cannot read {kind} file {file}: {err.strerror or err}.") from err
    if kind == "image":
        return data, image_meta(data, file)
    meta = audio_meta(data, file)
    limit = max_recording_s()
    if meta.get("duration") and meta["duration"] > limit:
        raise InputError(
            f"The recording {file.name} is {spoken_length(meta['duration'])} long and Frontdesk "
            f"keeps recordings of up to {spoken_length(limit)} (FRONTDESK_MAX_RECORDING_S); "
            "send a shorter one."
        )
    return data, meta


def image_meta(data: bytes, file: Path | None = None) -> dict[str, Any]:
    """mime, width, height of image bytes (Pillow reads the header only)."""
    import io

    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            return {"mime": Image.MIME.get(image.format or "", "image/octet-stream"),
                    "width": image.width, "height": image.height}
    except (UnidentifiedImageError, OSError, ValueError) as err:
        raise InputError(f"{file or 'The attachment'} is not an image Frontdesk can read.") from err


def audio_meta(data: bytes, file: Path) -> dict[str, Any]:
    """mime and duration (seconds) of audio bytes: `wave` for WAV, PyAV (faster-whisper's
    decoder) for the rest."""
    import io

    mime = mimetypes.guess_type(file.name)[0] or "audio/octet-stream"
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        import wave

        try:
            with wave.open(io.BytesIO(data)) as wav:
                return {"mime": "audio/wav", "duration": wav.getnframes() / wav.getframerate()}
        except (wave.Error, EOFError, ZeroDivisionError):
            pass  # WAV containers wave cannot read (float, extensible): let PyAV try
    import av

    try:
        with av.open(io.BytesIO(data)) as container:
            if not container.streams.audio:
                raise InputError(f"{file} holds no audio.")
            duration = container.duration / 1_000_000 if container.duration else None
            return {"mime": mime, "duration": duration}
    except av.error.FFmpegError as err:  # type: ignore[attr-defined]
        raise InputError(f"{file} is not an audio file Frontdesk can read.") from err
