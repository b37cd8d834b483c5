"""A cold launch of the real window in a fresh interpreter with the app's own loaders (the
Assistant in its own process): a message typed the moment the window shows, a screenshot
dropped and sent, the Assistant's process killed under a message, the message sent again,
then the window closed; prints one JSON line with what happened and which modules the window's
process holds. Run by tests/desktop/test_assistant_process.py as

    python -m tests.desktop.assistant_process_launch HOME SCREENSHOT
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

MESSAGE = "hi, where is my parcel? order 48213 has not moved in a week"
AGAIN = "I was charged twice for order 48213, can I get a refund?"
HEAVY = ("torch", "transformers", "torch_geometric", "numba", "rapidocr", "onnxruntime", "cv2")


def main(home: Path, screenshot: Path) -> int:
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from desktop.loaders import engine_threads
    from desktop.main_window import MainWindow
    from tests.desktop import drive
    from tests.desktop.drive import drop_files

    app = QApplication([])  # noqa: F841 (held for the window's lifetime)
    window = MainWindow(home)  # the app's own loaders, screenshot models preloaded after
    replies: list = []
    shown: list[str] = []
    window.reply_shown.connect(replies.append)
    window.message_shown.connect(shown.append)
    result: dict = {"window": os.getpid()}

    def wait_until(condition: Callable[[], object], timeout_s: float = 240.0) -> bool:
        return drive.wait_until(condition, timeout_s)

    def send(text: str) -> None:
        QTest.keyClicks(window.composer.edit, text)
        QTest.keyClick(window.composer.edit, Qt.Key.Key_Return)

    window.show()
    wait_until(window.isVisible)
    result["torch_when_visible"] = "torch" in sys.modules
    window.start()
    send(MESSAGE)  # typed while the models load
    wait_until(lambda: replies)
    result["first"] = replies[-1].intent if replies else shown
    result["session"] = window.session_id
    process = window.assistant_process.assistant
    result["child"] = first = process.pid
    environ = Path(f"/proc/{first}/environ").read_bytes().split(b"\0")
    result["child_omp_threads"] = next((int(v.split(b"=")[1]) for v in environ
                                        if v.startswith(b"OMP_NUM_THREADS=")), None)
    result["engine_threads"] = engine_threads()
    result["child_has_qt"] = "Qt6" in Path(f"/proc/{first}/maps").read_text()

    wait_until(lambda: window.preload.done)  # the screenshot models, in the child
    drop_files(window.composer, [screenshot])
    before = len(replies)
    QTest.keyClick(window.composer.edit, Qt.Key.Key_Return)
    wait_until(lambda: len(replies) > before or shown)
    result["screenshot"] = replies[-1].intent if len(replies) > before else shown

    # the Assistant's process dies under a message: one sentence, the words back in the composer
    wait_until(lambda: window.engine.pending == 0)
    shown.clear()
    send(AGAIN)
    os.kill(first, signal.SIGKILL)
    wait_until(lambda: shown and window.engine.pending == 0, 60)
    result["after_kill"] = shown[-1] if shown else None
    result["composer_after_kill"] = window.composer.text()
    before = len(replies)
    if result["composer_after_kill"]:  # not stored when it died: the words came back
        QTest.keyClick(window.composer.edit, Qt.Key.Key_Return)  # sent again: a new process
    else:  # stored before it died: kept in the session; the agent asks once more
        send(AGAIN)
    wait_until(lambda: len(replies) > before)
    result["again"] = replies[-1].intent if len(replies) > before else shown
    result["new_child"] = second = process.pid
    result["window_has"] = sorted(m for m in HEAVY if m in sys.modules)
    window.close()
    time.sleep(0.5)
    result["children_left"] = [pid for pid in (first, second) if Path(f"/proc/{pid}").exists()]
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
