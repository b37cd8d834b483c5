"""Screenshots drawn for tests with Pillow (DejaVu fonts), as a customer would send them."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont


def render_screenshot(path: Path, lines: list[str], size=(900, 360)) -> Path:
    """A synthetic UI screenshot: known text drawn by Qt (fonts as a desktop renders them)."""
    from PySide6.QtCore import QRect, Qt
    from PySide6.QtGui import QColor, QFont, QImage, QPainter

    image = QImage(size[0], size[1], QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    painter.fillRect(QRect(0, 0, size[0], 48), QColor("#2d5aa0"))
    font = QFont()
    font.setPixelSize(26)
    painter.setFont(font)
    painter.setPen(QColor("white"))
    painter.drawText(QRect(16, 0, size[0], 48), Qt.AlignmentFlag.AlignVCenter, "My Orders")
    painter.setPen(QColor("#111111"))
    for row, line in enumerate(lines):
        painter.drawText(QRect(24, 70 + row * 46, size[0] - 40, 40),
                         Qt.AlignmentFlag.AlignVCenter, line)
    painter.end()
    image.save(str(path))
    return path


FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")


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
