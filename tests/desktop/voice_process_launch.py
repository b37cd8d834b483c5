"""The real window in a fresh interpreter with the app's own speech loader: a clip dropped, Esc
on a long one, the speech process killed mid-clip, then a clip again; prints one JSON line with
what happened and which modules the window's process holds. Run by
tests/desktop/test_voice_process.py as

    python -m tests.desktop.voice_process_launch HOME CLIP LONG_CLIP
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path


def main(home: Path, clip: Path, long_clip: Path) -> int:
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from desktop.main_window import MainWindow
    from tests.desktop import drive
    from tests.desktop.drive import drop_files

    app = QApplication([])  # noqa: F841 (held for the window's lifetime)
    window = MainWindow(home, preload=False)  # Whisper only: no text model needed to transcribe
    window.show()
    shown: list[str] = []
    window.message_shown.connect(shown.append)
    result: dict = {}

    def wait_until(condition: Callable[[], object], timeout_s: float = 180.0) -> bool:
        return drive.wait_until(condition, timeout_s)

    def transcribe(path: Path) -> str:
        window.composer.clear_sent()
        drop_files(window.composer, [path])
        wait_until(lambda: window.composer.text() and window.speech.pending == 0)
        return window.composer.text()

    def decoding_started(path: Path) -> bool:
        window.composer.clear_sent()
        drop_files(window.composer, [path])
        return wait_until(lambda: window.task.bar.value() > 0)

    result["first"] = transcribe(clip)
    transcriber = window.speech._core.resource
    result["window"], result["child"] = os.getpid(), transcriber.pid
    first = transcriber.pid
    maps = Path(f"/proc/{first}/maps").read_text()
    result["child_has_ctranslate2"] = "ctranslate2" in maps
    result["child_has_qt"] = "Qt6" in maps or "PySide6" in maps
    result["window_has"] = sorted(m for m in ("faster_whisper", "ctranslate2", "tokenizers")
                                  if m in sys.modules)

    # Esc while a long clip decodes: the speech thread is free again within about a second
    if decoding_started(long_clip):
        pressed = time.monotonic()
        QTest.keyClick(window.composer.edit, Qt.Key.Key_Escape)
        wait_until(lambda: window.speech.pending == 0, 30)
        result["speech_free_after_esc_s"] = time.monotonic() - pressed

    # the speech process dies mid-clip: one sentence, and the next clip starts a new one
    if decoding_started(long_clip):
        os.kill(transcriber.pid, signal.SIGKILL)
        wait_until(lambda: window.speech.pending == 0, 30)
        result["after_kill"] = shown[-1] if shown else None
    result["again"] = transcribe(clip)
    result["new_child"] = transcriber.pid
    window.close()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])))
