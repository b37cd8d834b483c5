"""Marks and damage on a varied synthetic screenshot (engine.vision.render_styles): what a
customer's screenshot goes through after the app drew it. A box, a circle, an arrow, a
highlight or an underline on the text that matters (maybe a scribbled "??"); a crop to a part,
lines cut by the edge keeping the characters left inside; rescaling, blur, sensor-like noise and
JPEG compression. The truth blocks follow: cropped with the image, sorted in reading order."""

from __future__ import annotations

import io
import random
from typing import Protocol

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from engine.vision import screen_words as words
from engine.vision.ocr import OcrBlock
from engine.vision.render import Canvas, bold_of, font

Box = tuple[int, int, int, int]


class Page(Protocol):
    """What marking and cropping need of a screen being drawn (render_styles.Page)."""

    rng: random.Random
    canvas: Canvas
    w: int
    h: int
    px: int
    telling: Box | None
    telling_lines: list[Box]

    @property
    def draw(self) -> ImageDraw.ImageDraw: ...

MARKER_INKS = [(230, 30, 30), (250, 200, 0), (240, 0, 160), (20, 160, 60)]


def annotate(p: Page) -> None:
    """A box, a circle, an arrow, a highlight or an underline on the telling text, maybe a
    scribbled word beside it."""
    rng = p.rng
    if p.telling is None:
        return
    ink = rng.choice(MARKER_INKS)
    line = rng.choice(p.telling_lines) if p.telling_lines else p.telling
    kind = rng.choice(["box", "ellipse", "arrow", "highlight", "underline"])
    x0, y0, x1, y1 = line if kind != "box" else p.telling
    pad = rng.randint(4, 14)
    if kind in ("box", "ellipse"):
        shape = p.draw.rectangle if kind == "box" else p.draw.ellipse
        shape((x0 - pad, y0 - pad, x1 + pad, y1 + pad), outline=ink, width=rng.randint(3, 6))
    elif kind == "arrow":
        tip = (x1 + 6, (y0 + y1) // 2)
        tail = (min(p.w - 10, tip[0] + rng.randint(60, 160)), tip[1] + rng.randint(-90, 90))
        p.draw.line((tail, tip), fill=ink, width=rng.randint(3, 6))
        p.draw.polygon([tip, (tip[0] + 16, tip[1] - 9), (tip[0] + 16, tip[1] + 9)], fill=ink)
    elif kind == "highlight":
        image = p.canvas.image.convert("RGBA")
        layer = Image.new("RGBA", image.size, (0, 0, 0, 0))
        ImageDraw.Draw(layer).rectangle((x0 - 3, y0 - 2, x1 + 3, y1 + 2), fill=(255, 235, 0, 90))
        p.canvas.image = Image.alpha_composite(image, layer).convert("RGB")
        p.canvas.draw = ImageDraw.Draw(p.canvas.image)
    else:
        points = [(x, y1 + 4 + (3 if (x // 8) % 2 else 0)) for x in range(x0, x1, 8)]
        if len(points) > 1:
            p.draw.line(points, fill=ink, width=3)
    if rng.random() < 0.25:
        p.canvas.text((min(p.w - 60, x1 + 20), max(0, y0 - 30)), rng.choice(words.SCRIBBLES),
                      font(bold_of("DejaVuSans.ttf"), p.px + 8), ink)


def crop(p: Page) -> tuple[Image.Image, list[OcrBlock]]:
    """The image cut to a part around the telling text; lines cut by the edge keep the
    characters left inside, lines outside go."""
    rng, (tx0, ty0, tx1, ty1) = p.rng, p.telling or (0, 0, p.w, p.h)
    left, top = max(0, tx0 - rng.randint(10, 300)), max(0, ty0 - rng.randint(10, 300))
    right, bottom = min(p.w, tx1 + rng.randint(10, 300)), min(p.h, ty1 + rng.randint(10, 300))
    blocks = []
    for b in p.canvas.blocks:
        x0, y0, x1, y1 = b.box[0] * p.w, b.box[1] * p.h, b.box[2] * p.w, b.box[3] * p.h
        if not top <= (y0 + y1) / 2 <= bottom or x1 <= left or x0 >= right:
            continue
        keep = (min(x1, right) - max(x0, left)) / max(1.0, x1 - x0)
        chars = int(len(b.text) * keep)
        if chars < 2:
            continue
        text = b.text if keep >= 1 else (b.text[-chars:] if x0 < left else b.text[:chars])
        w, h = right - left, bottom - top
        blocks.append(OcrBlock(text.strip() or b.text, (max(0.0, (x0 - left) / w),
                                                         max(0.0, (y0 - top) / h),
                                                         min(1.0, (x1 - left) / w),
                                                         min(1.0, (y1 - top) / h)), 1.0))
    return p.canvas.image.crop((left, top, right, bottom)), blocks


def damage(rng: random.Random, image: Image.Image) -> Image.Image:
    """Rescaling, blur, sensor-like noise and JPEG compression, each sometimes."""
    if rng.random() < 0.35:
        scale = rng.uniform(0.6, 0.95)
        image = image.resize((max(64, int(image.width * scale)),
                              max(64, int(image.height * scale))))
    if rng.random() < 0.15:
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.0)))
    if rng.random() < 0.12:
        noise = np.random.default_rng(rng.randrange(2**32)).normal(
            0, rng.uniform(6, 16), (image.height, image.width, 1))
        pixels = np.asarray(image, dtype=np.float32) + noise
        image = Image.fromarray(pixels.clip(0, 255).astype(np.uint8))
    if rng.random() < 0.6:
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=rng.randint(25, 90))
        image = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    return image


def overlaps(block: OcrBlock, box: Box | None, w: int, h: int) -> bool:
    """Whether a block (fractions) meets a box (pixels)."""
    if box is None:
        return False
    x0, y0, x1, y1 = block.box[0] * w, block.box[1] * h, block.box[2] * w, block.box[3] * h
    return x0 < box[2] and box[0] < x1 and y0 < box[3] and box[1] < y1


def reading_order(blocks: list[OcrBlock], line: float) -> list[OcrBlock]:
    """Blocks top to bottom (rows `line` apart, as fractions of the height), left to right."""
    return sorted(blocks, key=lambda b: (round((b.box[1] + b.box[3]) / 2 / line), b.box[0]))


