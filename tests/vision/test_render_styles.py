"""Varied synthetic screenshots (engine.vision.render_styles): phone and desktop apps, dark and
light themes, marks, crops and damage, with truth blocks that say what was drawn, where."""

from __future__ import annotations

import io
import random
from collections import Counter

import numpy as np
import pytest

from engine.vision.render_styles import (
    MESSAGE_APPS,
    UI_APPS,
    VARIED_TEST_FONTS,
    VARIED_TRAIN_FONTS,
    render_varied,
)
from engine.vision.screen_text import UI_TEXT
from engine.vision.screen_words import UI_TEXT_MORE

MESSAGE = "I was charged twice for my order and I would like the second payment back"


def _render(seed: int, message: str | None = None, intent: str = "payment_issue"):
    return render_varied(random.Random(seed), intent, message, VARIED_TRAIN_FONTS)


def test_same_rng_same_pixels_and_blocks():
    first, again, other = _render(5), _render(5), _render(6)
    assert first.image.tobytes() == again.image.tobytes()
    assert first.truth_blocks == again.truth_blocks
    assert first.image.tobytes() != other.image.tobytes()


@pytest.mark.parametrize("seed", range(12))
def test_the_telling_text_is_drawn_whole_among_other_lines(seed: int):
    """Marked, cropped or not, the screen keeps the customer's message (wrapped) or the
    intent's heading as truth blocks, beside lines that are not it; boxes stay inside."""
    for message in (MESSAGE, None):
        screen = _render(seed, message)
        texts = [block.text for block in screen.truth_blocks]
        if message is not None:
            assert MESSAGE in " ".join(texts)
        else:
            headings = [h.split("{")[0] for h, _ in UI_TEXT["payment_issue"]
                        + UI_TEXT_MORE["payment_issue"]]
            assert any(text.startswith(h) for text in texts for h in headings)
        assert len(texts) >= 4  # the telling text is not alone on the screen
        assert all(text.strip() for text in texts)
        assert all(0 <= b.box[0] < b.box[2] <= 1 and 0 <= b.box[1] < b.box[3] <= 1
                   for b in screen.truth_blocks)


def test_reading_order_top_to_bottom():
    for seed in range(8):
        blocks = _render(seed).truth_blocks
        centres = [(b.box[1] + b.box[3]) / 2 for b in blocks]
        pairs = zip(centres, centres[1:], strict=False)
        assert all(later > earlier - 0.03 for earlier, later in pairs)


def test_the_variety_is_there():
    """Over 80 screens: every app for both kinds of content, phones and desktops, dark themes,
    crops (sizes that are neither) and some marked in colour."""
    kinds, sizes, dark, marked = Counter(), set(), 0, 0
    for seed in range(80):
        message = MESSAGE if seed % 2 else None
        screen = _render(seed, message, sorted(UI_TEXT)[seed % len(UI_TEXT)])
        _, app, device = screen.layout.split("-")
        kinds[(message is None, app)] += 1
        sizes.add(device)
        pixels = np.asarray(screen.image.convert("RGB"), dtype=np.int16)
        dark += pixels.mean() < 90
        red = (pixels[..., 0] > 200) & (pixels[..., 1] < 60) & (pixels[..., 2] < 60)
        marked += red.sum() > 300
    assert {app for ui, app in kinds if ui} == set(UI_APPS)
    assert {app for ui, app in kinds if not ui} == set(MESSAGE_APPS)
    assert sizes == {"phone", "desktop"} and dark >= 10 and marked >= 3


def test_every_intent_has_a_second_screen_and_test_fonts_stay_apart():
    assert set(UI_TEXT_MORE) == set(UI_TEXT)
    assert not set(VARIED_TEST_FONTS) & set(VARIED_TRAIN_FONTS)


def test_real_ocr_reads_the_telling_text(screen_reader):
    """What training reads as truth is what RapidOCR reads on the image (dark themes, JPEG
    and all): most of the message's words come back."""
    words = set(MESSAGE.lower().split())
    for seed in (1, 3):
        screen = _render(seed, MESSAGE)
        buffer = io.BytesIO()
        screen.image.save(buffer, "PNG")
        shot = screen_reader.read(buffer.getvalue())
        read = set(" ".join(block.text for block in shot.blocks).lower().split())
        assert len(words & read) >= 0.7 * len(words)
