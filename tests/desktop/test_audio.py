"""Voice in the window: a real recording played through the recorder's capture path (the machine
has no microphone: a stand-in with sounddevice's interface plays the file), a dropped audio file,
and no microphone at all."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QToolButton

from engine.store.database import Store
from tests.recordings import FilePlaybackSoundDevice

pytestmark = pytest.mark.slow  # real Whisper and intent models

JFK_WORDS = "ask not what your country can do for you"


def test_recording_goes_through_the_recorder_into_the_composer(qtbot, make_window, home, jfk):
    microphone = FilePlaybackSoundDevice(jfk, rate=48_000, speed=4.0)  # a 48 kHz headset
    window = make_window(sd_module=microphone)
    window.composer.set_text("Customer said:")
    partials, levels = [], []
    window.recorder.partial.connect(partials.append)
    window.recorder.level.connect(levels.append)

    qtbot.mouseClick(window.composer.mic_button, Qt.MouseButton.LeftButton)  # click = toggle on
    assert window.recorder.active and window.composer.recording
    stream = microphone.streams[0]
    blocks = -(-len(microphone.frames) // stream.blocksize)
    qtbot.waitUntil(lambda: stream.blocks_delivered >= blocks, timeout=30_000)
    qtbot.waitUntil(lambda: bool(partials), timeout=30_000)  # live text while recording
    with qtbot.waitSignal(window.recorder.finished, timeout=60_000) as done:
        qtbot.mouseClick(window.composer.mic_button, Qt.MouseButton.LeftButton)  # off
    assert not window.composer.recording
    text, wav = done.args
    assert JFK_WORDS in text.lower().replace(",", "")
    assert window.composer.text().startswith("Customer said: ")
    assert JFK_WORDS in window.composer.text().lower().replace(",", "")
    assert max(levels) > 0.3

    with qtbot.waitSignal(window.reply_shown, timeout=60_000):
        window.composer.submit()
    with Store.open(home) as store:
        [turn] = store.turns(window.session_id)
    assert turn["source"] == "voice"
    [audio] = turn["attachments"]
    assert audio["kind"] == "audio" and 10.0 < audio["duration"] < 12.5
    def play_buttons():
        return [b for b in window.chat.findChildren(QToolButton) if b.objectName() == "play-audio"]

    qtbot.waitUntil(lambda: len(play_buttons()) == 1, timeout=10_000)
    # this "device" has no speakers (and the machine no PortAudio): one sentence, no crash
    with qtbot.waitSignal(window.message_shown, timeout=10_000) as said:
        play_buttons()[0].click()
    assert said.args[0].startswith("Audio cannot be played")


def test_dropped_audio_file_is_transcribed_into_the_composer(qtbot, make_window, jfk):
    window = make_window(start=False)
    window.composer.add_files([jfk])
    qtbot.waitUntil(lambda: JFK_WORDS in window.composer.text().lower().replace(",", ""),
                    timeout=60_000)
    assert window.composer.voice == jfk


def test_no_microphone_is_one_sentence_and_typing_still_works(qtbot, make_window, jfk):
    window = make_window(sd_module=FilePlaybackSoundDevice(jfk, has_input=False), start=False)
    window.composer.set_text("typed before")
    with qtbot.waitSignal(window.message_shown, timeout=5_000) as said:
        qtbot.mouseClick(window.composer.mic_button, Qt.MouseButton.LeftButton)
    assert said.args[0].endswith(".") and "\n" not in said.args[0]
    assert not window.composer.recording and not window.composer.mic_button.isChecked()
    assert window.composer.text() == "typed before"


def test_settings_lists_the_microphones_the_recorder_sees(qtbot, make_window, jfk):
    window = make_window(sd_module=FilePlaybackSoundDevice(jfk), start=False)
    dialog = window.open_settings()
    names = [dialog.microphone.itemText(i) for i in range(dialog.microphone.count())]
    assert names == ["System default", "Headset Microphone (file playback)"]
    dialog.microphone.setCurrentIndex(1)
    dialog.save()
    assert window.settings.microphone == "Headset Microphone (file playback)"
    assert window.recorder._device == "Headset Microphone (file playback)"
