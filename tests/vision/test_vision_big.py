"""Very large images: shrunk to what OCR uses before anything else is done with them, read as
well as at full size, and a decompression bomb refused in one sentence before it is decoded."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from engine.errors import InputError
from engine.vision.ocr import OCR_MAX_SIDE, ScreenReader, open_image

WORDS = ("Albert Sanders", "6449343909", "as205981@email.com", "WCUSTYQERI", "Kennedy St")


@pytest.fixture(scope="module")
def big_screenshot(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real screenshot (1019x954, RGBA as macOS saves them) blown up to 39.7 MP."""
    source = Image.open(shared_data / "screenshots" / "abcd_ui" / "customer_site.png")
    scale = (39.7e6 / (source.width * source.height)) ** 0.5
    big = source.convert("RGBA").resize(
        (round(source.width * scale), round(source.height * scale)), Image.Resampling.BICUBIC)
    path = tmp_path_factory.mktemp("big") / "screen.png"
    big.save(path, compress_level=1)
    return path


def test_a_39_megapixel_screenshot_is_shrunk_before_ocr_and_still_read(
    big_screenshot: Path, screen_reader: ScreenReader
) -> None:
    with Image.open(big_screenshot) as header:
        assert header.width * header.height > 39e6
    opened = open_image(big_screenshot)
    assert max(opened.size) == OCR_MAX_SIDE and opened.image.mode == "RGB"
    assert opened.image.getpixel((5, opened.size[1] - 5)) == (255, 255, 255)
    shot = screen_reader.read(opened)
    for words in WORDS:
        assert words in shot.text


def test_a_big_jpeg_is_decoded_at_a_reduced_scale(big_screenshot: Path) -> None:
    buffer = io.BytesIO()
    Image.open(big_screenshot).convert("RGB").save(buffer, "JPEG", quality=85)
    opened = open_image(buffer.getvalue())
    assert OCR_MAX_SIDE // 2 < max(opened.size) <= OCR_MAX_SIDE


def test_a_decompression_bomb_is_one_sentence_before_decoding(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.png"
    Image.new("1", (12_000, 12_000)).save(bomb)  # 144 MP in a file of about 20 kB
    assert bomb.stat().st_size < 1_000_000
    with pytest.raises(InputError) as caught:
        open_image(bomb)
    message = str(caught.value)
    assert "too large" in message and "\n" not in message and message.count(". ") == 0
