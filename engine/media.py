"""Attachment bytes and what the store records about them (mime, size, duration).

Headers only: Pillow for images, `wave` or PyAV (faster-whisper's decoder) for audio. A file
that is neither is refused with one sentence before anything is written.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any

from engine.errors import InputError


def read_media(kind: str, file: Path) -> tuple[bytes, dict[str, Any]]:
    """Bytes and metadata of an image/audio file; InputError if it is missing or unreadable."""
    try:
        data = file.read_bytes()
    except OSError as err:
        raise InputError(f"Cannot read {kind} file {file}: {err.strerror or err}.") from err
    return data, (image_meta(data, file) if kind == "image" else audio_meta(data, file))


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
