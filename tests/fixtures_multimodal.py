"""Fixtures for the fused path: one Assistant whose OCR and fused model load once per run,
and screenshots rendered with Pillow (the same drawing calls engine.fusion.synthetic uses)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from engine.assistant import Assistant
from engine.nlu.intent import IntentModel
from engine.nlu.knowledge import KnowledgeBase

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")


@pytest.fixture(scope="session")
def multimodal_assistant(
    tmp_path_factory: pytest.TempPathFactory, default_intent_model: IntentModel,
    shipped_knowledge: KnowledgeBase,
) -> Iterator[Assistant]:
    """An Assistant over its own SQLite file; its screen reader and fused model load on the
    first screenshot and are then shared by every test (each test opens its own session)."""
    home = tmp_path_factory.mktemp("multimodal_home")
    with Assistant(home, model=default_intent_model, knowledge=shipped_knowledge) as engine:
        yield engine


def render_dialog(title: str, lines: list[str], size: tuple[int, int] = (760, 440)) -> Image.Image:
    """A modal dialog as a web shop shows it: coloured title bar, body lines, an OK button."""
    image = Image.new("RGB", size, (238, 238, 242))
    draw = ImageDraw.Draw(image)
    body = ImageFont.truetype(str(FONT_DIR / "DejaVuSerif.ttf"), 19)  # a font training never saw
    bold = ImageFont.truetype(str(FONT_DIR / "DejaVuSerif-Bold.ttf"), 23)
    width, height = size
    draw.rectangle((30, 30, width - 30, height - 30), fill=(252, 252, 252),
                   outline=(120, 120, 120), width=2)
    draw.rectangle((30, 30, width - 30, 80), fill=(190, 45, 45))
    draw.text((46, 42), title, font=bold, fill=(255, 255, 255))
    y = 110
    for line in lines:
        draw.text((50, y), line, font=body, fill=(25, 25, 25))
        y += 42
    draw.rectangle((width - 150, height - 90, width - 50, height - 50), outline=(90, 90, 90),
                   width=2)
    draw.text((width - 116, height - 82), "OK", font=body, fill=(25, 25, 25))
    return image


@pytest.fixture(scope="session")
def declined_screenshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A PNG of a payment-declined dialog (its wording is ours, not the training template's)."""
    path = tmp_path_factory.mktemp("screens") / "declined.png"
    render_dialog("Payment failed", [
        "Your card ending 1881 was declined by your bank.",
        "Error code PAY-4031",
        "Total to pay: $64.20",
        "Please try again or use another card.",
    ]).save(path)
    return path
