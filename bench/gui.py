"""The window's figures: cold start to a visible window; a plain launch with a message sent at
once (Enter to its reply, the longest UI stall while the models load); the longest UI
event-loop stall while the engine answers, takes a 20,000-character message, transcribes and
exports.

    python -m bench.gui [--model DIR] [--runs 5] [--turns 20] [--export-rows 20000]
    python -m bench.gui --only launch --runs 3   # the plain-launch figures alone, 3 launches

Cold start runs in fresh processes (interpreter start included) and is compared with a bare
PySide6 QMainWindow started the same way: the ratio is what Frontdesk adds on top of Qt.
Stalls come from desktop.stall_probe (a 5 ms QTimer on the UI thread) inside the running app;
each phase is also timed through the window and directly on the engine object (the raw
library call underneath), so the ratio shows what the thread hand-off costs.
Goals (issue 6): window visible <= 1.5 s, longest stall <= 50 ms.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.gui_launch import cold_start, cold_start_child, launch_child, launch_figures
from engine.paths import SHARED_DATA

SHARED = SHARED_DATA
MESSAGES = [
    "hi, I want my money back for order 48213, the shoes never arrived",
    "where is my parcel?? tracking number hasnt moved in a week",
    "forgot my password again, can you send the reset link",
    "how do I change the delivery address on order 55120",
    "can I cancel my order, bought the wrong size by mistake",
]


# --- stalls inside the running app --------------------------------------------------------------
def wait_until(app, condition, timeout_s: float = 120.0) -> None:
    """Run the event loop (sleeping in it, not spinning) until `condition()` holds."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    poll = QTimer()
    poll.setInterval(10)
    deadline = time.monotonic() + timeout_s

    def check() -> None:
        if condition() or time.monotonic() > deadline:
            loop.quit()

    poll.timeout.connect(check)
    poll.start()
    loop.exec()
    poll.stop()
    if not condition():
        raise TimeoutError("the window did not finish in time")


def raw_in_thread(app, probe, work) -> tuple[float, float]:
    """(ms, longest stall ms) for `work()` on a plain Python thread, the UI loop only probing:
    the same engine call without the window, as the baseline for both figures."""
    import threading

    finished = threading.Event()

    def run() -> None:
        try:
            work()
        finally:
            finished.set()

    probe.start()
    started = time.perf_counter()
    threading.Thread(target=run, daemon=True).start()
    wait_until(app, finished.is_set)
    return (time.perf_counter() - started) * 1000, probe.longest_ms


def stalls(model: str | None, turns: int, export_rows: int) -> dict:
    from PySide6.QtWidgets import QApplication

    from desktop.dialogs.export import ExportDialog
    from desktop.main_window import MainWindow
    from desktop.stall_probe import StallProbe
    from engine.store.database import Store
    from engine.types import Reply, Turn

    app = QApplication.instance() or QApplication([])
    home = Path(tempfile.mkdtemp(prefix="bench-gui-"))
    factory = None
    if model:
        def factory():
            from desktop.loaders import reserve_ui_core
            from engine.assistant import Assistant

            reserve_ui_core()
            return Assistant(home, model=Path(model))
    window = MainWindow(home, assistant_factory=factory)
    window.show()
    window.start()
    wait_until(app, lambda: window.engine.is_ready or window.engine.load_error, 300)
    if window.engine.load_error:
        raise SystemExit(f"engine failed to load: {window.engine.load_error}")
    wait_until(app, lambda: window.preload.done, 300)  # Whisper and the screenshot models too
    probe = StallProbe()
    figures: dict = {}

    # the same probe with the app idle: what this machine's scheduler alone costs
    probe.start()
    wait_until(app, lambda: probe.ticks >= 400)
    figures["idle"] = {"longest_stall_ms": probe.longest_ms}

    # answering typed turns
    replies: list = []
    window.reply_shown.connect(replies.append)
    window.composer.set_text("warm-up: where is my order")
    window.composer.submit()
    wait_until(app, lambda: len(replies) == 1)
    probe.start()
    started = time.perf_counter()
    for n in range(turns):
        window.composer.set_text(MESSAGES[n % len(MESSAGES)])
        window.composer.submit()
        wait_until(app, lambda n=n: len(replies) == n + 2)
    figures["answer"] = {
        "window_ms_per_turn": (time.perf_counter() - started) * 1000 / turns,
        "longest_stall_ms": probe.longest_ms, "ticks": probe.ticks,
    }
    assistant = window.engine._core.resource
    session = assistant.new_session()
    raw_ms, raw_stall = raw_in_thread(app, probe, lambda: [
        assistant.respond(session, Turn(text=MESSAGES[n % len(MESSAGES)])) for n in range(turns)
    ])
    figures["answer"].update(raw_ms=raw_ms / turns, raw_stall_ms=raw_stall)

    # a 20,000-character paste: shown, stored, answered and drawn again
    shown: list[int] = []
    window.session_shown.connect(shown.append)
    long_text = (" ".join(MESSAGES) + " ") * (20_000 // len(" ".join(MESSAGES)) + 1)
    probe.start()
    started = time.perf_counter()
    window.composer.set_text(long_text[:20_000])
    window.composer.submit()
    wait_until(app, lambda: len(replies) == turns + 2 and bool(shown)
               and not (window.store.pending or window.engine.pending))
    figures["long_send"] = {"window_ms": (time.perf_counter() - started) * 1000,
                            "longest_stall_ms": probe.longest_ms}

    # transcribing an audio file
    jfk = SHARED / "speech" / "audio" / "whisper_jfk.flac"
    if jfk.is_file():
        window.composer.clear_sent()
        window.speech.start()
        wait_until(app, lambda: window.speech.is_ready or window.speech.load_error, 120)
        probe.start()
        started = time.perf_counter()
        window.composer.add_files([jfk])
        wait_until(app, lambda: "country" in window.composer.text())
        figures["transcribe"] = {"window_ms": (time.perf_counter() - started) * 1000,
                                 "longest_stall_ms": probe.longest_ms}
        transcriber = window.speech._core.resource
        raw_ms, raw_stall = raw_in_thread(app, probe, lambda: transcriber.transcribe(jfk))
        figures["transcribe"].update(raw_ms=raw_ms, raw_stall_ms=raw_stall)

    # exporting a big log
    def fill() -> None:  # the log to export, written off the UI thread
        with Store.open(home) as store:
            sessions = [store.new_session() for _ in range(max(1, export_rows // 10))]
            store.add_turns_bulk(  # ten turns a session, as in a real log
                (sessions[n // 10 % len(sessions)], Turn(text=f"where is order {n}"),
                 Reply(intent="track_order", confidence=0.9, level="High",
                       top=[("track_order", 0.9)], draft=f"Order {n} is on its way."))
                for n in range(export_rows)
            )

    raw_in_thread(app, probe, fill)
    dialog = ExportDialog(window.store, home, None, window)
    dialog.path.setText(str(home / "export.jsonl"))
    probe.start()
    started = time.perf_counter()
    dialog.start()
    wait_until(app, lambda: not dialog.running)
    figures["export"] = {"rows": dialog.result_count,
                         "window_ms": (time.perf_counter() - started) * 1000,
                         "longest_stall_ms": probe.longest_ms}
    from engine.exchange.records import export_records

    with Store.open(home) as store:
        raw_ms, raw_stall = raw_in_thread(
            app, probe, lambda: export_records(store, home / "export-raw.jsonl"))
    figures["export"].update(raw_ms=raw_ms, raw_stall_ms=raw_stall)
    probe.stop()
    window.close()
    shutil.rmtree(home, ignore_errors=True)
    return figures


def print_stalls(args: argparse.Namespace, exit_status: bool = True) -> float | int:
    """The stalls inside the running app, printed; the worst (ms), or with `exit_status` 0 when
    it is within the goal, else 1."""
    figures = stalls(args.model, args.turns, args.export_rows)
    answer = figures["answer"]
    print(f"answering {args.turns} typed turns: longest UI stall {answer['longest_stall_ms']:.1f} "
          f"ms (goal <= 50; same calls on a bare thread: {answer['raw_stall_ms']:.1f} ms); "
          f"{answer['window_ms_per_turn']:.1f} ms per turn through the window vs "
          f"{answer['raw_ms']:.1f} ms raw Assistant.respond "
          f"(ratio {answer['window_ms_per_turn'] / answer['raw_ms']:.2f}x)")
    long_send = figures["long_send"]
    print(f"sending a 20,000-character message: longest UI stall "
          f"{long_send['longest_stall_ms']:.1f} ms (goal <= 50); answered and drawn in "
          f"{long_send['window_ms']:.0f} ms")
    if "transcribe" in figures:
        t = figures["transcribe"]
        print(f"transcribing jfk.flac (11 s): longest UI stall {t['longest_stall_ms']:.1f} ms "
              f"(bare thread: {t['raw_stall_ms']:.1f} ms); {t['window_ms']:.0f} ms through the "
              f"window vs {t['raw_ms']:.0f} ms raw transcribe "
              f"(ratio {t['window_ms'] / t['raw_ms']:.2f}x)")
    e = figures["export"]
    print(f"exporting {e['rows']:,} replies: longest UI stall {e['longest_stall_ms']:.1f} ms "
          f"(bare thread: {e['raw_stall_ms']:.1f} ms); {e['window_ms']:.0f} ms through the "
          f"dialog vs {e['raw_ms']:.0f} ms raw export_records "
          f"(ratio {e['window_ms'] / e['raw_ms']:.2f}x)")
    print(f"idle app, same probe: longest stall {figures['idle']['longest_stall_ms']:.1f} ms "
          f"(machine load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    worst = max(f["longest_stall_ms"] for f in figures.values())
    return (0 if worst <= 50 else 1) if exit_status else worst


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.gui")
    parser.add_argument("--model", help="intent model folder (default: the version in use)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--export-rows", type=int, default=20_000)
    parser.add_argument("--only", choices=("launch", "stalls"),
                        help="launch: only the plain-launch figures, --runs launches; "
                             "stalls: only the stalls inside the running app")
    parser.add_argument("--child", choices=("app", "raw", "launch"), help=argparse.SUPPRESS)
    parser.add_argument("--t0", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--home", help=argparse.SUPPRESS)
    args, _others = parser.parse_known_args(argv if argv is not None else sys.argv[1:])
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if args.child == "launch":
        launch_child(args.t0, args.home)
        return 0
    if args.child:
        cold_start_child(args.child, args.t0, args.home, args.model)
        return 0

    if args.only == "launch":
        return 0 if launch_figures(args.runs) <= 50 else 1
    if args.only == "stalls":
        return print_stalls(args)
    raw = cold_start("raw", args.runs, None)
    app = cold_start("app", args.runs, args.model)
    raw_s = statistics.median(r["visible_s"] for r in raw)
    app_s = statistics.median(r["visible_s"] for r in app)
    ready = [r["ready_s"] for r in app if "ready_s" in r]
    print(f"cold start to visible window: {app_s:.3f} s median of {args.runs} "
          f"(bare PySide6 QMainWindow {raw_s:.3f} s, ratio {app_s / raw_s:.2f}x; goal <= 1.5 s)")
    print(f"  torch imported before the window showed: "
          f"{any(r['torch_imported_when_visible'] for r in app)}")
    if ready:
        print(f"  engine ready (models loaded in the background): {statistics.median(ready):.2f} s")
    else:
        print(f"  engine did not load: {app[0].get('engine_error')}")

    launch_figures(max(1, args.runs // 2))

    worst = print_stalls(args, exit_status=False)
    return 0 if app_s <= 1.5 and worst <= 50 else 1


if __name__ == "__main__":
    sys.exit(main())
