"""What the window asks its worker threads to do: plain functions `op(resource, job)`.

They run off the UI thread (see engine_worker) and never touch widgets; QImage is safe there,
so thumbnails are decoded and scaled on the store's thread, not in the paint path. Each op
takes the Store or the Assistant it is given; `store_of` lets a turn be written by whichever
owns the conversation (the Assistant once loaded, else the Store).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from engine.types import Entity, Reply, Turn

log = logging.getLogger("frontdesk.desktop")

THUMB_PX = 220
FULL_IMAGE_MAX_PX = 4096


def store_of(owner: Any) -> Any:
    """The Store behind an Assistant, or the Store itself."""
    return getattr(owner, "store", owner)


def reply_from_row(row: dict[str, Any], turn_id: int | None = None) -> Reply:
    """A stored reply (store.turns()[i]["reply"]) back as the engine's Reply."""
    return Reply(
        intent=row.get("intent") or "",
        confidence=float(row.get("confidence") or 0.0),
        level=row.get("level") or "Low",
        top=[(str(name), float(score)) for name, score in row.get("top") or []],
        entities=[Entity(**e) for e in row.get("entities") or [] if isinstance(e, dict)],
        draft=row.get("draft") or "",
        source=row.get("source") or "",
        evidence=row.get("evidence") or {},
        model_version=row.get("model_version") or "",
        latency_ms=float(row.get("latency_ms") or 0.0),
        turn_id=row.get("turn", turn_id),
        id=row.get("id"),
    )


def scaled(image: QImage, px: int) -> QImage:
    if image.isNull() or (image.width() <= px and image.height() <= px):
        return image
    return image.scaled(
        px, px, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
    )


@dataclass
class SessionView:
    """Everything the window draws for one session, read in one go on the store thread."""

    session_id: int
    turns: list[dict[str, Any]]
    thumbs: dict[int, QImage] = field(default_factory=dict)
    last_reply: Reply | None = None
    last_image: QImage | None = None  # the screenshot the last reply looked at, for "Why"


def load_session(store: Any, session_id: int) -> SessionView:
    turns = store.turns(session_id)
    view = SessionView(session_id, turns)
    for turn in turns:
        for attachment in turn.get("attachments") or []:
            if attachment.get("kind") == "image":
                image = QImage.fromData(store.attachment_bytes(int(attachment["id"])))
                view.thumbs[int(attachment["id"])] = scaled(image, THUMB_PX)
        if turn.get("reply"):
            view.last_reply = reply_from_row(turn["reply"], turn["id"])
            images = [a for a in turn.get("attachments") or [] if a.get("kind") == "image"]
            view.last_image = (
                scaled(QImage.fromData(store.attachment_bytes(int(images[-1]["id"]))), 1600)
                if images else None
            )
    return view


def full_image(store: Any, attachment_id: int) -> QImage:
    return scaled(QImage.fromData(store.attachment_bytes(attachment_id)), FULL_IMAGE_MAX_PX)


def screen_reader_for(assistant: Any) -> Any:
    """The Assistant's own ScreenReader when it has one (shared OCR cache), else one of ours
    that answers from the store first, so no image is read twice."""
    for name in ("screen_reader", "reader", "vision"):
        reader = getattr(assistant, name, None)
        if reader is not None and hasattr(reader, "read"):
            return reader
    reader = getattr(assistant, "_desktop_reader", None)
    if reader is None:
        from engine.vision.ocr import ScreenReader, Screenshot

        store = store_of(assistant)

        def known(sha256: str):
            saved = store.ocr_for_sha256(sha256)
            return Screenshot.from_dict(json.loads(saved[1])) if saved and saved[1] else None

        reader = ScreenReader(ocr_for_sha256=known)
        assistant._desktop_reader = reader
    return reader


def respond(assistant: Any, session_id: int, turn: Turn) -> Reply:
    """Read the turn's screenshots (refusing bad ones before anything is stored), ask the
    Assistant, then make sure each screenshot's text is stored and searchable."""
    from engine.errors import InputError

    shots = []
    if turn.images:
        reader = screen_reader_for(assistant)
        shots = [reader.read(Path(path)) for path in turn.images]
    try:
        reply = assistant.respond(session_id, turn)
    except InputError:
        if turn.id is not None or not shots or turn.text.strip():
            raise
        # an engine that needs words: the screenshot is the message, its text what was "written"
        turn.text = "\n".join(shot.text for shot in shots if shot.text).strip()
        turn.source = "image"
        if not turn.text:
            raise InputError("No text could be read on that screenshot; type the message.") \
                from None
        reply = assistant.respond(session_id, turn)
    store = getattr(assistant, "store", None)  # the process Assistant's is in its process,
    if shots and turn.id is not None and store is not None:  # where respond stored each reading
        by_sha = {shot.sha256: shot for shot in shots}
        for attachment in store.attachments(turn.id):
            shot = by_sha.get(attachment.get("sha256") or "")
            if attachment.get("kind") == "image" and attachment.get("ocr_text") is None:
                shot = shot or (shots[0] if len(shots) == 1 else None)
                if shot is not None:
                    store.set_ocr(int(attachment["id"]), shot.text, json.dumps(shot.to_dict()))
    return reply


def add_turn(owner: Any, session_id: int, turn: Turn) -> int:
    """Store a turn that needs no reply (the agent's own message)."""
    adder = getattr(owner, "add_turn", None)
    return int(adder(session_id, turn) if adder else store_of(owner).add_turn(session_id, turn))


def play_audio(store: Any, attachment_id: int, cache: Path, sd_module: Any = None) -> float:
    """Play a voice turn's recording; returns its length in seconds."""
    from engine.errors import InputError
    from engine.speech.audio import load_audio

    cache.mkdir(parents=True, exist_ok=True)
    file = cache / f"play-{attachment_id}.audio"
    file.write_bytes(store.attachment_bytes(attachment_id))
    samples = load_audio(file)
    try:
        sd = sd_module
        if sd is None:
            import sounddevice as sd
        sd.play(samples, 16000)
    except Exception as err:  # PortAudio's errors are plain Exceptions with its own wording
        raise InputError(playback_sentence(err)) from err
    return len(samples) / 16000


def playback_sentence(err: BaseException) -> str:
    """Why a recording cannot be played, in words an agent knows (PortAudio says "Error
    querying device -1" when there is no sound output at all)."""
    said = str(err)
    if isinstance(err, OSError) and "PortAudio" in said:
        return ("Audio cannot be played: the sound library PortAudio (libportaudio2) is not "
                "installed on this computer.")
    if "device" in said.lower() or isinstance(err, AttributeError):
        return ("Audio cannot be played: this computer has no speakers or headphones that "
                "Frontdesk can use. Connect some, or read the transcript instead.")
    return f"Audio cannot be played: {said.rstrip('.')}."
