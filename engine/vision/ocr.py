"""Reading screenshots: check the file, then OCR it into text boxes with positions.

Customers send all sorts of files as "screenshots". Every file goes through `open_image` first,
which refuses what cannot be a screenshot with one clear sentence (huge, tiny, corrupt, PDF,
text) and normalises the rest (transparency composited on white, first frame of an animation,
EXIF rotation). OCR is `rapidocr` 3.10 (PP-OCRv6 small det/rec, shipped in the wheel, offline).
An image is identified by the sha256 of its bytes and never OCRed twice: results stay in an
in-memory LRU, and the store can hand back what it saved earlier through `ocr_for_sha256`.
"""

from __future__ import annotations

import hashlib
import io
import logging
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError

from engine.errors import InputError

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_PIXELS = 40_000_000  # a 4K screen is 8.3 MP; 8000x8000 (64 MP) is refused
MIN_SIDE = 16  # below this no text is legible
FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP", "TIFF")

ImageSource = str | Path | bytes
# RapidOCR's default detector input scales the SHORT side up to 736 px, which turns a 720x120
# strip into 4416x736 (12 s here instead of 0.4 s). Screenshots are already at screen
# resolution: cap the long side at 1600 instead and never upscale (same text on our samples).
OCR_PARAMS = {"Global.log_level": "warning", "Det.limit_type": "max", "Det.limit_side_len": 1600}
# A bigger image is shrunk to this long side before OCR (and before the RGB copies). The detector
# above sees at most 1600 px, so a line it finds is >= ~8 px tall there, >= ~16 px here: enough
# for the recogniser (48 px crops). A 39.7 MP RGBA screenshot: peak RSS 1.11 -> 0.76 GB, CPU
# 6.9 -> 6.3 s; words read on a 35 MP screenshot of 2x text: 95.6% full size, 95.1% at 3200.
OCR_MAX_SIDE = 3200


@dataclass(frozen=True)
class OcrBlock:
    """One line of text found on a screenshot; `box` is (x0, y0, x1, y1) as fractions 0-1."""

    text: str
    box: tuple[float, float, float, float]
    confidence: float


@dataclass(frozen=True)
class Screenshot:
    """What OCR read on one image, keyed by the sha256 of the file's bytes."""

    sha256: str
    width: int
    height: int
    blocks: tuple[OcrBlock, ...] = ()
    text: str = ""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form the store saves beside the attachment."""
        return {
            "sha256": self.sha256,
            "width": self.width,
            "height": self.height,
            "text": self.text,
            "blocks": [
                {"text": b.text, "box": list(b.box), "confidence": b.confidence}
                for b in self.blocks
            ],
        }

    @classmethod
    def from_dict(cls, saved: dict[str, Any]) -> Screenshot:
        """The inverse of `to_dict`, for results the store kept."""
        blocks = tuple(
            OcrBlock(b["text"], tuple(float(v) for v in b["box"]), float(b["confidence"]))
            for b in saved.get("blocks", [])
        )
        return cls(
            sha256=saved["sha256"],
            width=int(saved["width"]),
            height=int(saved["height"]),
            blocks=blocks,
            text=saved.get("text", "\n".join(b.text for b in blocks)),
        )


@dataclass
class ValidImage:
    """A decoded, checked image: RGB pixels plus the identity of the original bytes."""

    image: Image.Image = field(repr=False)
    sha256: str
    name: str  # for messages: the file name, or "the pasted image"

    @property
    def size(self) -> tuple[int, int]:
        return self.image.size


def _describe(source: ImageSource) -> str:
    return f"'{Path(source).name}'" if isinstance(source, (str, Path)) else "The pasted image"


def _read_bytes(source: ImageSource) -> bytes:
    if isinstance(source, bytes):
        return source
    path = Path(source)
    if not path.is_file():
        raise InputError(f"The image file {path} does not exist.")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise InputError(
            f"The image {path.name} is larger than {MAX_FILE_BYTES // 2**20} MB; "
            "send a smaller screenshot."
        )
    try:
        return path.read_bytes()
    except OSError as err:
        raise InputError(f"The image file {path.name} cannot be read ({err.strerror}).") from err


def _not_an_image(name: str, raw: bytes) -> InputError:
    head = raw[:512].lstrip()
    if head.startswith(b"%PDF"):
        return InputError(f"{name} is a PDF, not an image; paste a screenshot of the page instead.")
    try:
        head.decode("utf-8")
        kind = "a text file"
    except UnicodeDecodeError:
        kind = "not in an image format Frontdesk can read"
    return InputError(f"{name} is {kind}; use a PNG, JPEG, GIF, BMP, WEBP or TIFF image.")


def open_image(source: ImageSource | ValidImage) -> ValidImage:
    """Check and decode an image file or its bytes; refuse bad input with one sentence."""
    if isinstance(source, ValidImage):
        return source
    return _decode(_read_bytes(source), _describe(source))


def _decode(raw: bytes, name: str, sha256: str | None = None) -> ValidImage:
    """The checks of `open_image` on bytes already read (`sha256` if already computed)."""
    if not raw:
        raise InputError(f"{name} is empty.")
    if len(raw) > MAX_FILE_BYTES:
        raise InputError(f"{name} is larger than {MAX_FILE_BYTES // 2**20} MB.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(raw), formats=FORMATS)
            width, height = image.size  # header only: nothing decoded yet
            if width * height > MAX_PIXELS:
                raise InputError(
                    f"{name} is too large to read ({width}x{height} pixels); "
                    "send a screenshot under 40 megapixels."
                )
            if min(width, height) < MIN_SIDE:
                raise InputError(
                    f"{name} is too small to read ({width}x{height} pixels)."
                )
            if getattr(image, "n_frames", 1) > 1:
                image.seek(0)  # animated GIF/WEBP/PNG: the first frame stands for it
            if image.format == "JPEG":  # decoded at 1/2, 1/4 or 1/8 scale when that suffices
                image.draft("RGB", (OCR_MAX_SIDE, OCR_MAX_SIDE))
            image.load()
    except UnidentifiedImageError as err:
        raise _not_an_image(name, raw) from err
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise InputError(f"{name} is too large to read safely.") from err
    except InputError:
        raise
    except (OSError, SyntaxError, ValueError) as err:
        log.info("image decode failed: %r", err)
        raise InputError(f"{name} is damaged or incomplete and cannot be read.") from err
    return ValidImage(_to_rgb(image), sha256 or hashlib.sha256(raw).hexdigest(), name)


def _to_rgb(image: Image.Image) -> Image.Image:
    """Upright RGB, at most OCR_MAX_SIDE on its long side (shrunk before the copies below);
    transparent pixels become white, as they look in a chat window."""
    ImageOps.exif_transpose(image, in_place=True)
    if image.mode in ("P", "1"):
        image = image.convert("RGBA" if image.mode == "P" else "L")
    if max(image.size) > OCR_MAX_SIDE:
        image.thumbnail((OCR_MAX_SIDE, OCR_MAX_SIDE), Image.Resampling.LANCZOS)
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return image.convert("RGB")


class ScreenReader:
    """OCR for screenshots with a cache by content: the same image is never OCRed twice.

    `ocr_for_sha256` lets the store answer first with what it saved for those bytes;
    `ocr_calls` counts real OCR runs (tests and logs use it).
    """

    def __init__(
        self,
        engine: Any | None = None,
        ocr_for_sha256: Callable[[str], Screenshot | None] | None = None,
        cache_size: int = 128,
        min_confidence: float = 0.5,
    ) -> None:
        self._engine = engine
        self.ocr_for_sha256 = ocr_for_sha256
        self.cache_size = cache_size
        self.min_confidence = min_confidence
        self._cache: OrderedDict[str, Screenshot] = OrderedDict()
        self._lock = threading.Lock()
        self._engine_lock = threading.Lock()
        self.ocr_calls = 0

    @property
    def engine(self) -> Any:
        """The RapidOCR instance, created once on first use (its models ship in the wheel)."""
        with self._engine_lock:  # the window may warm it up on another thread
            if self._engine is None:
                from rapidocr import RapidOCR

                self._engine = without_spinning(RapidOCR(params=OCR_PARAMS))
        return self._engine

    def read(self, source: ImageSource | ValidImage) -> Screenshot:
        """Text boxes of a screenshot (path, bytes or an already opened image)."""
        if isinstance(source, ValidImage):
            image = source
        else:  # hash the bytes first: a known image is not even decoded
            raw = _read_bytes(source)
            sha256 = hashlib.sha256(raw).hexdigest()
            known = self.cached(sha256) if raw else None
            if known is not None:
                return known
            image = _decode(raw, _describe(source), sha256)
        known = self.cached(image.sha256)
        if known is not None:
            return known
        shot = self._ocr(image)
        self._remember(shot)
        return shot

    def cached(self, sha256: str) -> Screenshot | None:
        """A result already known for these bytes: from memory, else from the store."""
        with self._lock:
            if sha256 in self._cache:
                self._cache.move_to_end(sha256)
                return self._cache[sha256]
        if self.ocr_for_sha256 is not None:
            saved = self.ocr_for_sha256(sha256)
            if saved is not None:
                self._remember(saved)
                return saved
        return None

    def _remember(self, shot: Screenshot) -> None:
        with self._lock:
            self._cache[shot.sha256] = shot
            self._cache.move_to_end(shot.sha256)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)

    def _ocr(self, image: ValidImage) -> Screenshot:
        import numpy as np

        width, height = image.size
        bgr = np.ascontiguousarray(np.asarray(image.image)[:, :, ::-1])  # RapidOCR wants BGR
        with self._lock:
            self.ocr_calls += 1
        result = self.engine(bgr)
        blocks = blocks_from_rapidocr(result, width, height, self.min_confidence)
        return Screenshot(
            sha256=image.sha256,
            width=width,
            height=height,
            blocks=blocks,
            text="\n".join(b.text for b in blocks),
        )


def without_spinning(ocr: Any) -> Any:
    """`ocr` (a RapidOCR) with its ONNX sessions rebuilt so their threads sleep when idle.

    onnxruntime's worker threads spin for a while after every run. Here the torch models run
    right after OCR on the same cores, and the spinning slowed them by a third (a screenshot
    turn's MiniLM and text model: 88 ms -> 58 ms beside its OCR with spinning off, and OCR
    itself no slower). RapidOCR has no setting for it, so each session is opened again from
    the same model file with `session.intra_op.allow_spinning = 0`; should RapidOCR's layout
    change, its own sessions are kept as they are.
    """
    import onnxruntime

    try:
        holders = [load().session for load in
                   (ocr._load_det_model, ocr._load_cls_model, ocr._load_rec_model)]
        for holder in holders:
            old = holder.session
            options = old.get_session_options()
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            holder.session = onnxruntime.InferenceSession(
                old._model_path, sess_options=options, providers=old.get_providers())
    except AttributeError:  # another RapidOCR layout: its default sessions still work
        log.info("RapidOCR's sessions were not found; its threads keep spinning when idle")
    return ocr


def blocks_from_rapidocr(
    result: Any, width: int, height: int, min_confidence: float = 0.0
) -> tuple[OcrBlock, ...]:
    """Turn RapidOCR's polygons (pixels) into boxes normalised to 0-1, in its reading order."""
    if result is None or result.boxes is None or result.txts is None:
        return ()
    blocks = []
    for polygon, text, score in zip(result.boxes, result.txts, result.scores, strict=True):
        text = text.strip()
        if not text or float(score) < min_confidence:
            continue
        xs = [float(p[0]) for p in polygon]
        ys = [float(p[1]) for p in polygon]
        box = (
            min(max(min(xs) / width, 0.0), 1.0),
            min(max(min(ys) / height, 0.0), 1.0),
            min(max(max(xs) / width, 0.0), 1.0),
            min(max(max(ys) / height, 0.0), 1.0),
        )
        blocks.append(OcrBlock(text, box, round(float(score), 4)))
    return tuple(blocks)
