"""Screenshots for tests, drawn by the engine's one renderer (engine.vision.render), as a
customer would send them: fixed Screens, so every run pastes the same pixels."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from engine.vision.render import Screen, draw_screen


def render_screenshot(path: Path, lines: list[str], size: tuple[int, int] = (900, 360)) -> Path:
    """A shop's "My Orders" page (blue nav bar, heading, `lines`) saved as PNG at `path`."""
    page = Screen("page", "My Orders", lines, size, text_px=22, bar=(45, 90, 160),
                  nav=[("Home", 32), ("Orders", 32), ("Help", 32)])
    draw_screen(page).image.save(path)
    return path


def render_dialog(title: str, lines: list[str], size: tuple[int, int] = (760, 440)) -> Image.Image:
    """A modal dialog as a web shop shows it: red title bar, body lines, an OK button, in DejaVu
    Serif (a face the fused model's training never saw)."""
    dialog = Screen("dialog", title, lines, size, font="DejaVuSerif.ttf", text_px=19,
                    background=(238, 238, 242), bar=(190, 45, 45))
    return draw_screen(dialog).image
