"""Screenshots drawn with known text: the one renderer of Frontdesk's synthetic screens.

`draw_screen` draws a `Screen` (a layout, a heading, lines, a font, colours) and keeps every
line drawn as a truth block (what perfect OCR would read, its box as fractions of the image).
`render_screen` draws the fused model's synthetic training and test screens
(engine.fusion.synthetic): intent UI text (UI_TEXT) or a customer's message, layouts dialog,
page with a nav bar, chat, e-mail, form and mobile, DejaVu fonts 13-22 px, tinted backgrounds,
then downscaling, blur and JPEG artefacts. The tests', benchmarks' and README picture's
screenshots are fixed Screens drawn the same way, so what a test pastes is laid out like what
the model learned from.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

from engine.errors import InputError
from engine.vision.ocr import OcrBlock
from engine.vision.screen_text import CHROME, UI_TEXT

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
TRAIN_FONTS = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSansCondensed.ttf",
               "DejaVuSansMono.ttf")
TEST_ONLY_FONTS = ("DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf")
LAYOUTS = ("dialog", "page", "mobile", "chat", "email", "form")
NAV_LAYOUTS = ("page", "email", "form")  # drawn under a nav bar of distractor words
INK = (20, 20, 20)
Colour = tuple[int, ...]


@dataclass
class RenderedScreen:
    """A synthetic screenshot and what perfect OCR would read on it."""

    image: Image.Image
    truth_blocks: list[OcrBlock]
    layout: str


@dataclass
class Screen:
    """Everything that decides a screen's pixels: the same Screen always draws the same image.

    `bar` is the nav bar's colour (page, email, form) or the dialog's title bar colour; `nav`
    the nav bar's words, each with the gap drawn after it.
    """

    layout: str
    heading: str
    lines: list[str]
    size: tuple[int, int]
    font: str = "DejaVuSans.ttf"  # a file in FONT_DIR; the heading uses its bold face
    text_px: int = 18
    background: Colour = (255, 255, 255)
    margin: int = 30
    bar: Colour = (60, 90, 160)
    nav: list[tuple[str, int]] = field(default_factory=list)


@lru_cache(maxsize=64)
def font(name: str, size: int) -> ImageFont.FreeTypeFont:
    """A DejaVu face (fonts-dejavu-core) at `size` pixels."""
    return ImageFont.truetype(str(FONT_DIR / name), size)


def bold_of(name: str) -> str:
    """The bold face of a DejaVu font file, or the font itself where there is none."""
    bold = name.replace(".ttf", "-Bold.ttf") if "Condensed" not in name else name
    return bold if (FONT_DIR / bold).exists() else name


def wrap(draw: ImageDraw.ImageDraw, text: str, face: ImageFont.FreeTypeFont, width: int) -> list:
    """`text` cut into lines no wider than `width` pixels, at spaces."""
    lines, line = [], ""
    for word in text.split():
        trial = f"{line} {word}".strip()
        if line and draw.textlength(trial, font=face) > width:
            lines.append(line)
            line = word
        else:
            line = trial
    return lines + ([line] if line else [])


class Canvas:
    """Draws text lines and records each line's box as a truth block."""

    def __init__(self, size: tuple[int, int], background: Colour, mode: str = "RGB") -> None:
        self.image = Image.new(mode, size, background)
        self.draw = ImageDraw.Draw(self.image)
        self.blocks: list[OcrBlock] = []

    def text(self, xy: tuple[int, int], text: str, face: ImageFont.FreeTypeFont,
             fill: Colour = INK) -> int:
        """Draw one line; return its bottom y."""
        self.draw.text(xy, text, font=face, fill=fill)
        x0, y0, x1, y1 = self.draw.textbbox(xy, text, font=face)
        w, h = self.image.size
        self.blocks.append(OcrBlock(text, (x0 / w, y0 / h, x1 / w, y1 / h), 1.0))
        return y1

    def paragraph(self, xy: tuple[int, int], text: str, face: ImageFont.FreeTypeFont,
                  width: int, fill: Colour = INK, gap: int = 6) -> int:
        """Draw `text` wrapped to `width`; return the y below it."""
        x, y = xy
        for line in wrap(self.draw, text, face, width):
            y = self.text((x, y), line, face, fill) + gap
        return y


def draw_screen(screen: Screen) -> RenderedScreen:
    """A dialog (title bar, body, OK button), a page, e-mail or form under a nav bar, a chat
    bubble or a mobile screen, with `screen.lines` wrapped to its width."""
    if screen.layout not in LAYOUTS:
        raise InputError(f"A screen is one of {', '.join(LAYOUTS)}, not {screen.layout!r}.")
    width, height = screen.size
    size, margin = screen.text_px, screen.margin
    body, title = font(screen.font, size), font(bold_of(screen.font), size + 4)
    canvas = Canvas(screen.size, screen.background)
    y = margin
    if screen.layout in NAV_LAYOUTS:
        canvas.draw.rectangle((0, 0, width, size + 24), fill=screen.bar)
        words = (250, 250, 250) if screen.bar[0] < 128 else (30, 30, 30)
        x = margin
        for word, gap in screen.nav:
            canvas.text((x, 10), word, body, words)
            x += int(canvas.draw.textlength(word, font=body)) + gap
        y = size + 40
    if screen.layout == "dialog":
        box = (margin, margin, width - margin, height - margin)
        canvas.draw.rectangle(box, fill=(252, 252, 252), outline=(120, 120, 120), width=2)
        canvas.draw.rectangle((box[0], box[1], box[2], box[1] + size + 22), fill=screen.bar)
        canvas.text((box[0] + 12, box[1] + 8), screen.heading, title, (255, 255, 255))
        y = box[1] + size + 40
    elif screen.layout == "chat":
        canvas.text((margin, y), screen.heading, title)
        y += size + 24
        canvas.draw.rounded_rectangle((margin, y - 8, width - 2 * margin, y + 90),
                                      radius=14, fill=(210, 230, 250))
    else:
        y = canvas.text((margin, y), screen.heading, title) + 18
    for line in screen.lines:
        y = canvas.paragraph((margin + 14, y), line, body, width - 2 * margin - 40) + 6
    if screen.layout == "dialog":
        canvas.draw.rectangle((width - margin - 110, height - margin - 50, width - margin - 20,
                               height - margin - 16), outline=(90, 90, 90), width=2)
        canvas.text((width - margin - 82, height - margin - 45), "OK", body)
    return RenderedScreen(canvas.image, canvas.blocks, screen.layout)


def degrade(rng: random.Random, image: Image.Image) -> Image.Image:
    """Real screenshots are rescaled, compressed and sometimes blurred."""
    if rng.random() < 0.3:
        scale = rng.uniform(0.75, 0.95)
        image = image.resize((int(image.width * scale), int(image.height * scale)))
    if rng.random() < 0.2:
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 0.8)))
    if rng.random() < 0.5:
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=rng.randint(45, 90))
        image = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    return image


def screen_values(rng: random.Random) -> dict[str, str]:
    """Random order numbers, amounts, error codes, dates, e-mails... for the {placeholders} of
    UI_TEXT (and of the synthetic conversations' entity turns)."""
    return {
        "order": str(rng.randint(1_000_000, 9_999_999)),
        "amount": f"{rng.choice(['$', 'EUR ', '£'])}{rng.randint(5, 900)}.{rng.randint(0, 99):02d}",
        "code": rng.choice(["E", "ERR-", "P", "0x"]) + str(rng.randint(100, 9999)),
        "date": f"{rng.randint(1, 28)} {rng.choice(['Jan', 'Mar', 'Jun', 'Sep', 'Nov'])} 2024",
        "email": f"{rng.choice(['ana', 'li.wei', 'j.smith', 'omar'])}{rng.randint(1, 99)}"
        f"@{rng.choice(['mail.com', 'example.org', 'inbox.net'])}",
        "tracking": f"1Z{rng.randint(10**9, 10**10 - 1)}",
        "invoice": f"{rng.randint(2021, 2025)}-{rng.randint(1, 9999):04d}",
    }


def render_screen(
    rng: random.Random, intent: str, utterance: str | None, fonts: tuple[str, ...]
) -> RenderedScreen:
    """A screenshot showing `utterance` as the customer's message, or intent UI text if None:
    every choice drawn from `rng` in a fixed order (the same seed, the same pixels: the shipped
    fused model was trained and scored on these), then drawn and degraded."""
    values = screen_values(rng)
    font_name = rng.choice(fonts)
    size = rng.randint(13, 22)
    if utterance is not None:
        layout = rng.choice(["chat", "email", "form"])
        content = [utterance]
        heading = {"chat": "Messages", "email": f"From: {values['email']}",
                   "form": "Contact form"}[layout]
    else:
        layout = rng.choice(["dialog", "page", "mobile"])
        heading, lines = rng.choice(UI_TEXT[intent])
        heading = heading.format(**values)
        content = [line.format(**values) for line in lines]
    width, height = {"mobile": (rng.randint(360, 420), rng.randint(640, 760)),
                     "dialog": (rng.randint(640, 900), rng.randint(420, 560))}.get(
        layout, (rng.randint(800, 1200), rng.randint(500, 760)))
    tint = rng.randint(225, 255)
    background = (tint, tint, min(255, tint + rng.randint(0, 10)))
    margin = rng.randint(16, 48)
    bar: tuple[int, ...] = (0, 0, 0)
    nav: list[tuple[str, int]] = []
    if layout in NAV_LAYOUTS:
        bar = rng.choice([(35, 60, 110), (40, 40, 40), (230, 230, 235)])
        nav = [(word, rng.randint(18, 40)) for word in rng.sample(CHROME, 4)]
    elif layout == "dialog":
        bar = rng.choice([(200, 40, 40), (60, 90, 160), (230, 170, 30)])
    screen = draw_screen(Screen(layout, heading, content, (width, height), font_name, size,
                                background, margin, bar, nav))
    return RenderedScreen(degrade(rng, screen.image), screen.truth_blocks, layout)
