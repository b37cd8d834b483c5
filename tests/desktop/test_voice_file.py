"""A long dropped recording in the window: its progress is shown, Esc cancels it at once (the
speech thread stops at its next decoded segment) and nothing of it reaches the conversation."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from tests.desktop.drive import VOICE_CLIP, drop_files, press, session_turns
from tests.recordings import long_recording

CANCEL_BOUND_S = 3.0  # generous for a loaded CI machine; the window itself reacts in one event


@pytest.fixture
def long_clip(speech_dir: Path, tmp_path: Path) -> Path:
    """65 s of real speech: the public clips one after another (as the tester's voice_long)."""
    clips = [VOICE_CLIP, *sorted((speech_dir / "audio").glob("*.flac"))]
    return long_recording(clips, tmp_path / "voice_long.wav")


def test_esc_cancels_a_long_transcription_at_once_and_progress_is_shown(
    qtbot, make_window, home, long_clip
):
    window = make_window()
    drop_files(window.composer, [long_clip])
    assert "Esc cancels" in window.task.label.text()
    # the first decoded stretch moves the bar; the speech model's "loading"/"ready" statuses
    # went to the status text meanwhile and did not overwrite the task's hint
    qtbot.waitUntil(lambda: window.task.bar.value() > 0, timeout=180_000)
    shown = window.task.label.text()
    assert window.task.isVisible() and window.task.bar.value() < 100
    assert "Esc cancels" in shown and "% of the audio done" in shown

    pressed = time.monotonic()
    press(qtbot, window.composer.edit, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not window.task.isVisible(), timeout=int(CANCEL_BOUND_S * 1000))
    assert time.monotonic() - pressed < CANCEL_BOUND_S
    assert "was cancelled; nothing was added" in window.status_text.text()
    assert not window.banner.isVisible()  # the agent's own Esc is not an error

    # the speech thread stops early too, and nothing of the clip arrives afterwards
    qtbot.waitUntil(lambda: window.speech.pending == 0, timeout=60_000)
    qtbot.wait(200)
    assert window.composer.text() == "" and window.composer.voice is None
    assert window.session_id is None or session_turns(home, window.session_id) == []
