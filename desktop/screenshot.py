"""Make the README's picture of the real window: `python -m desktop.screenshot OUT.png`.

Runs the app offscreen over a throwaway data folder, plays a short conversation through the
composer (typed turns and a rendered screenshot of an order page, labelled synthetic), waits for
the engine's real replies and grabs the window.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path


def render_order_page(path: Path) -> Path:
    """A synthetic order page (known text, drawn by the engine's renderer) standing in for a
    customer's screenshot."""
    from engine.vision.render import Screen, draw_screen

    lines = ["Order #48213 - Running shoes, size 42", "Status: Refund requested",
             "Refund has not been processed yet"]
    page = Screen("page", "My Orders", lines, (760, 300), text_px=22, bar=(45, 90, 160),
                  nav=[("Home", 32), ("Orders", 32), ("Help", 32)])
    draw_screen(page).image.save(path)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m desktop.screenshot")
    parser.add_argument("out", type=Path)
    parser.add_argument("--model", type=Path, help="intent model folder (default: the one in use)")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QEventLoop
    from PySide6.QtWidgets import QApplication

    from desktop.loaders import reserve_ui_core
    from desktop.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    home = Path(tempfile.mkdtemp(prefix="frontdesk-shot-"))
    factory = None
    if args.model:
        def factory():
            from engine.assistant import Assistant

            reserve_ui_core()
            return Assistant(home, model=args.model)
    window = MainWindow(home, assistant_factory=factory)
    window.show()
    window.start()
    replies: list = []
    window.reply_shown.connect(replies.append)

    def settle(condition, timeout_s: float = 180.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not condition() and time.monotonic() < deadline:
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
            time.sleep(0.02)

    def say(text: str, role: str, images: list[Path] | None = None) -> None:
        before = len(replies)
        window.composer.set_role(role)
        window.composer.set_text(text)
        for image in images or []:
            window.composer.add_files([image])
        window.composer.submit()
        if role == "customer":
            settle(lambda: len(replies) > before)
        settle(lambda: window.store.pending == 0 and window.engine.pending == 0)

    say("Hi, I returned my shoes two weeks ago and still have not got my refund", "customer")
    say("Sorry to hear that! Could you send me a screenshot of the order page?", "agent")
    say("here it is, order 48213", "customer",
        [render_order_page(home / "order-page-synthetic.png")])
    settle(lambda: False, 1.0)
    window.grab().save(str(args.out))
    print(f"saved {args.out} ({window.width()}x{window.height()}), "
          f"last intent {replies[-1].intent if replies else 'none'}")
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
