"""Colours that follow the palette: secondary text and status colours readable on a light or a
dark window alike (fixed greys such as #555 vanish on a dark palette)."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette

# (on a light window, on a dark window)
GREEN = ("#1b7f3b", "#6fd08c")
AMBER = ("#9a6200", "#f0b849")
RED = ("#b42318", "#ff8a80")
LEVELS = {"High": GREEN, "Medium": AMBER, "Low": RED}
# light bubbles and chips keep dark text whatever the palette
ON_LIGHT = "#1a1a1a"


def is_dark(palette: QPalette) -> bool:
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def pick(palette: QPalette, pair: tuple[str, str]) -> str:
    return pair[1] if is_dark(palette) else pair[0]


def muted(palette: QPalette) -> str:
    """Secondary text: the window text blended a third of the way towards the background."""
    text = palette.color(QPalette.ColorRole.WindowText)
    back = palette.color(QPalette.ColorRole.Window)
    mix = QColor(
        round(text.red() * 0.7 + back.red() * 0.3),
        round(text.green() * 0.7 + back.green() * 0.3),
        round(text.blue() * 0.7 + back.blue() * 0.3),
    )
    return mix.name()
