"""A cold launch of the real window in a fresh interpreter (torch not imported yet): the app's own
loaders, a message typed with key presses the moment the window shows, Enter; prints one JSON
line once it is answered. Run by tests/desktop/test_loading.py as

    python -m tests.desktop.cold_launch HOME
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

MESSAGE = "hi, where is my parcel? order 48213 has not moved in a week"


def main(home: Path) -> int:
    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from desktop import native_preload
    from desktop.loaders import engine_threads
    from desktop.main_window import MainWindow

    app = QApplication([])
    window = MainWindow(home, preload=False)  # the text model only: Whisper & co. come after
    result: dict = {}

    def visible() -> None:
        result["torch_when_visible"] = "torch" in sys.modules
        window.start()
        QTest.keyClicks(window.composer.edit, MESSAGE)
        QTest.keyClick(window.composer.edit, Qt.Key.Key_Return)

    def replied(reply) -> None:
        result.update(intent=reply.intent, confidence=reply.confidence,
                      preloaded=[Path(p).name for p in native_preload.preloaded],
                      torch_threads=sys.modules["torch"].get_num_threads(),
                      engine_threads=engine_threads())
        app.quit()

    window.reply_shown.connect(replied)
    window.engine.error.connect(lambda m: (result.update(error=m), app.quit()))
    window.show()
    QTimer.singleShot(0, visible)
    QTimer.singleShot(240_000, app.quit)
    app.exec()
    window.close()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
