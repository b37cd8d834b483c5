"""Fixtures of the desktop tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest


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
