"""Screenshot reading: real OCR on real and rendered images, refusal of bad files, no re-OCR."""

from __future__ import annotations

import io
from pathlib import Path

import jiwer
import pytest
from PIL import Image, ImageDraw, ImageFont

from engine.errors import InputError
from engine.vision.ocr import ScreenReader, Screenshot, open_image
from engine.vision.render import Canvas, font

# onnxruntime picks its kernels by CPU (AVX-512 here, AVX2 elsewhere): a rendered line may come
# back a character off on another machine. Reading is checked by character error rate.
CROSS_CPU_CER = 0.1  # at most one character in ten


def read_as(read: str, expected: str) -> bool:
    """Whether OCR read `expected` within CROSS_CPU_CER (an empty read never passes)."""
    return bool(read) and jiwer.cer(expected, read) <= CROSS_CPU_CER


def render_lines(lines: list[str], size: int = 26, mode: str = "RGB") -> tuple[Image.Image, list]:
    """Black text on white (or on transparent for RGBA), with each line's box (fractions)."""
    canvas = Canvas((720, 60 + 60 * len(lines)), (255, 255, 255) if mode == "RGB" else (0, 0, 0, 0),
                    mode)
    ink = (0, 0, 0) if mode == "RGB" else (0, 0, 0, 255)
    for i, line in enumerate(lines):
        canvas.text((30, 30 + 60 * i), line, font("DejaVuSans.ttf", size), ink)
    return canvas.image, [block.box for block in canvas.blocks]


def png_bytes(image: Image.Image, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", **kwargs)
    return buffer.getvalue()


def iou(a, b) -> float:
    x0, y0, x1, y1 = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    area = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1])
    return inter / (area - inter)


def test_reads_the_pytesseract_sample(screen_reader, shared_data: Path):
    shot = screen_reader.read(shared_data / "screenshots/pytesseract/test.png")
    assert "The quick brown dog" in shot.text
    assert (shot.width, shot.height) == (640, 480)
    assert len(shot.sha256) == 64
    for block in shot.blocks:
        assert 0.0 <= block.box[0] < block.box[2] <= 1.0
        assert 0.0 <= block.box[1] < block.box[3] <= 1.0
        assert 0.5 <= block.confidence <= 1.0
    tops = [block.box[1] for block in shot.blocks]
    assert tops == sorted(tops)  # lines come back in reading order


def test_rendered_strings_come_back_with_their_boxes(screen_reader):
    lines = ["Payment declined", "Error code E-402", "Order #4821937 total $129.99"]
    image, boxes = render_lines(lines)
    shot = screen_reader.read(png_bytes(image))
    assert len(shot.blocks) == len(lines)
    assert all(read_as(block.text, line) for block, line in zip(shot.blocks, lines, strict=True))
    for block, truth in zip(shot.blocks, boxes, strict=True):
        assert iou(block.box, truth) > 0.5


@pytest.mark.slow
def test_real_customer_service_ui(screen_reader, shared_data: Path):
    shot = screen_reader.read(shared_data / "screenshots/abcd_ui/customer_site.png")
    assert "Customer Service Site" in shot.text
    assert "refund" in shot.text
    assert len(shot.blocks) > 10


def test_ocr_threads_sleep_when_idle(screen_reader):
    """Every ONNX session RapidOCR runs was rebuilt with idle spinning off (see
    engine.vision.ocr.without_spinning), and the reader still reads."""
    engine = screen_reader.engine
    sessions = [part.session.session for part in (engine.text_det, engine.text_cls,
                                                   engine.text_rec)]
    for session in sessions:
        options = session.get_session_options()
        assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    image = Image.new("RGB", (420, 90), "white")
    ImageDraw.Draw(image).text((10, 30), "Payment declined", fill="black",
                               font=ImageFont.load_default(size=28))
    assert "declined" in screen_reader.read(png_bytes(image)).text.lower()


def test_the_same_image_is_never_ocred_twice(screen_reader, tmp_path: Path):
    image, _ = render_lines(["Refund pending"])
    path = tmp_path / "shot.png"
    image.save(path)
    reader = ScreenReader(engine=screen_reader.engine)
    first = reader.read(path)
    again = reader.read(path.read_bytes())  # same bytes, other way in
    assert again == first and reader.ocr_calls == 1

    saved = {first.sha256: first.to_dict()}  # what the store keeps, as JSON
    looked_up: list[str] = []

    def from_store(sha256: str) -> Screenshot | None:
        looked_up.append(sha256)
        return Screenshot.from_dict(saved[sha256]) if sha256 in saved else None

    fresh = ScreenReader(engine=reader.engine, ocr_for_sha256=from_store)
    assert fresh.read(path) == first
    assert fresh.ocr_calls == 0 and looked_up == [first.sha256]
    fresh.read(path)
    assert looked_up == [first.sha256]  # the second time memory answers


def test_lru_forgets_the_oldest(screen_reader):
    reader = ScreenReader(engine=screen_reader.engine, cache_size=1)
    one, two = (png_bytes(render_lines([text])[0]) for text in ("Invoice 42", "Invoice 43"))
    reader.read(one)
    reader.read(two)
    reader.read(two)
    assert reader.ocr_calls == 2
    reader.read(one)
    assert reader.ocr_calls == 3


def test_transparent_screenshot_is_read_on_white(screen_reader):
    image, _ = render_lines(["Card expired"], mode="RGBA")
    opened = open_image(png_bytes(image))
    assert opened.image.mode == "RGB" and opened.image.getpixel((2, 2)) == (255, 255, 255)
    assert read_as(screen_reader.read(opened).text, "Card expired")


def test_animation_gives_its_first_frame():
    frames = [Image.new("RGB", (120, 60), colour) for colour in ("red", "blue", "green")]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:])
    opened = open_image(buffer.getvalue())
    assert opened.image.getpixel((5, 5)) == (255, 0, 0)


def _bad_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    files = {}
    huge = tmp_path / "huge.png"
    Image.new("L", (8000, 8000), 255).save(huge)
    files["huge"] = (huge, "too large")
    tiny = tmp_path / "tiny.png"
    Image.new("RGB", (10, 8), "white").save(tiny)
    files["tiny"] = (tiny, "too small")
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(png_bytes(render_lines(["cut off"])[0])[:300])
    files["corrupt"] = (corrupt, "damaged")
    pdf = tmp_path / "page.pdf"
    render_lines(["a PDF page"])[0].save(pdf, "PDF")
    files["pdf"] = (pdf, "PDF")
    text = tmp_path / "notes.png"
    text.write_text("my order number is 12345\n")
    files["text"] = (text, "text file")
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    files["empty"] = (empty, "empty")
    files["missing"] = (tmp_path / "nowhere.png", "does not exist")
    return files


@pytest.mark.parametrize("kind", ["huge", "tiny", "corrupt", "pdf", "text", "empty", "missing"])
def test_bad_files_get_one_clear_sentence(tmp_path: Path, kind: str):
    path, words = _bad_files(tmp_path)[kind]
    reader = ScreenReader()  # never reaches OCR: no engine is created
    with pytest.raises(InputError) as caught:
        reader.read(path)
    message = str(caught.value)
    assert words in message
    assert "\n" not in message and message.endswith(".") and message.count(". ") == 0
    assert reader.ocr_calls == 0 and reader._engine is None
    if path.exists():
        with pytest.raises(InputError):
            reader.read(path.read_bytes())  # the same refusal for pasted bytes
