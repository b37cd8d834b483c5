"""Fixtures for the window: one real Assistant's model, OCR and Whisper per test session, a fresh
data folder per test, and helpers that render real screenshots and wait on the window's signals.

The models are the shipped ones (shared with the engine tests' session fixtures); each test's
window builds its own Assistant/Store over them inside its worker threads, as the app does.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="session")
def desktop_intent_model(request: pytest.FixtureRequest) -> Any:
    """The shipped intent model, or the folder named by $FRONTDESK_TEST_MODEL."""
    override = os.environ.get("FRONTDESK_TEST_MODEL")
    if override:
        from engine.nlu.intent import IntentModel

        return IntentModel.load(Path(override))
    return request.getfixturevalue("default_intent_model")


@pytest.fixture(scope="session")
def desktop_transcriber(request: pytest.FixtureRequest) -> Any:
    """Whisper tiny.en on faster-whisper (the speech tests' session instance)."""
    return request.getfixturevalue("faster_transcriber")


@pytest.fixture
def make_window(
    qtbot: Any,
    home: Path,
    desktop_intent_model: Any,
    shipped_knowledge: Any,
    screen_reader: Any,
    request: pytest.FixtureRequest,
) -> Iterator[Callable[..., Any]]:
    """Build the real MainWindow over `home`: the Assistant is created in the engine thread
    from the session's loaded model; `gate` (a threading.Event) holds the load back; `preload`:
    load Whisper and the screenshot models after it, as the app does."""
    from desktop.loaders import reserve_ui_core
    from desktop.main_window import MainWindow
    from engine.assistant import Assistant

    windows = []

    def build(gate=None, sd_module=None, assistant_factory=None, start=True,
              preload=False) -> MainWindow:
        def load_assistant():
            if gate is not None:
                gate.wait(60)
            reserve_ui_core()  # as the app's own loader does
            assistant = Assistant(home, model=desktop_intent_model, knowledge=shipped_knowledge)
            assistant.screen_reader = screen_reader  # share the session's loaded OCR models
            return assistant

        def load_transcriber():
            return request.getfixturevalue("desktop_transcriber")

        window = MainWindow(
            home,
            assistant_factory=assistant_factory or load_assistant,
            transcriber_factory=load_transcriber,
            sd_module=sd_module,
            preload=preload,  # Whisper and the fused model only where a test asks
        )
        qtbot.addWidget(window)
        window.show()
        if start:
            window.start()
        windows.append(window)
        return window

    yield build
    for window in windows:
        window.close()


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
