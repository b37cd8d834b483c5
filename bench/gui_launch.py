"""The window's cold starts, each in a fresh process (bench/gui.py runs them): to a visible
window (the app against a bare PySide6 QMainWindow), and a plain launch with a message sent at
once (Enter to its reply, the longest UI stall while every model loads, each stall over
LIST_OVER_MS listed with what the loading threads were doing).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# --- children: one cold start each ------------------------------------------------------------
FIRST_MESSAGE = "hi, where is my parcel? order 48213 has not moved in a week"
LIST_OVER_MS = 30.0  # launch stalls longer than this are listed with what the threads were doing


def runqueue_s() -> float:
    """Seconds the calling thread has spent runnable but waiting for a core (Linux schedstat;
    0 elsewhere)."""
    try:
        with open("/proc/thread-self/schedstat") as stats:
            return int(stats.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


def launch_child(t0: float, home: str) -> None:
    """A plain launch (the app's own loaders) with a message sent the moment the window shows:
    Enter-to-reply for that first message, and the longest UI stall until every model
    (text, then Whisper and the screenshot models) is loaded."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from desktop.main_window import MainWindow
    from desktop.stall_probe import StallProbe, where_threads_are

    class Probe(StallProbe):
        """Also notes the UI thread's own CPU time since the last tick (a stall with little of
        it was the UI thread waiting, not working) and, on Linux, how much of the wait it was
        runnable but had no core (the kernel's schedstat): the rest it was blocked, on the
        GIL or a lock another thread held."""

        cpu_ms = queued_ms = 0.0
        _cpu = _queued = 0.0

        def reset(self) -> None:  # counted from start(): the first tick's CPU once included
            super().reset()  # building the window (50-60 ms)
            self._cpu, self._queued = time.thread_time(), runqueue_s()

        def _tick(self) -> None:
            now, queued = time.thread_time(), runqueue_s()
            self.cpu_ms, self._cpu = (now - self._cpu) * 1000, now
            self.queued_ms, self._queued = (queued - self._queued) * 1000, queued
            super()._tick()

    app = QApplication([])
    window = MainWindow(Path(home))
    result: dict = {"stalls": []}  # every stall near the goal, with where the threads were
    probe = Probe(note_threads=True, report_over_ms=LIST_OVER_MS, on_stall=lambda ms: result[
        "stalls"].append((round(ms), round(time.time() - t0, 2), round(probe.cpu_ms),
                          where_threads_are(depth=1), round(probe.queued_ms)))
        if "all_loaded_s" not in result else None)
    sent: list[float] = []

    def replied(_reply) -> None:
        result["first_reply_s"] = time.perf_counter() - sent[0]
        result["reply_after_launch_s"] = time.time() - t0

    def loaded() -> None:
        result["all_loaded_s"] = time.time() - t0
        result["loading_stall_ms"] = probe.longest_ms
        result["loading_stall_where"] = probe.longest_where
        app.quit()

    def visible() -> None:
        result["visible_s"] = time.time() - t0
        probe.start()
        window.start()
        window.composer.set_text(FIRST_MESSAGE)
        sent.append(time.perf_counter())
        window.composer.submit()

    window.reply_shown.connect(replied)
    window.engine.ready.connect(lambda _n: result.update(text_model_ready_s=time.time() - t0))
    window.preload.finished.connect(loaded)
    window.engine.error.connect(lambda m: (result.update(engine_error=m), app.quit()))
    window.show()
    QTimer.singleShot(0, visible)
    QTimer.singleShot(300_000, app.quit)
    app.exec()
    window.close()
    print(json.dumps(result))


def cold_start_child(kind: str, t0: float, home: str, model: str | None) -> None:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QLabel, QMainWindow

    app = QApplication([])
    result: dict = {}
    if kind == "raw":
        window = QMainWindow()
        window.setCentralWidget(QLabel("hello"))
        window.resize(1360, 820)
    else:
        from desktop.main_window import MainWindow

        factory = None
        if model:
            def factory():
                from desktop.loaders import reserve_ui_core
                from engine.assistant import Assistant

                reserve_ui_core()
                return Assistant(Path(home), model=Path(model))
        window = MainWindow(Path(home), assistant_factory=factory)

        def ready(_name: str) -> None:
            result["ready_s"] = time.time() - t0
            app.quit()

        window.engine.ready.connect(ready)
        window.engine.error.connect(lambda m: (result.update(engine_error=m), app.quit()))
    window.show()

    def visible() -> None:
        result["visible_s"] = time.time() - t0
        result["torch_imported_when_visible"] = "torch" in sys.modules
        if kind == "raw":
            app.quit()
        else:
            window.start()

    QTimer.singleShot(0, visible)
    QTimer.singleShot(120_000, app.quit)
    app.exec()
    print(json.dumps(result))


def cold_start(kind: str, runs: int, model: str | None) -> list[dict]:
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
    results = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as home:
            t0 = time.time()
            out = subprocess.run(
                [sys.executable, "-m", "bench.gui", "--child", kind, "--t0", repr(t0),
                 "--home", home] + (["--model", model] if model else []),
                capture_output=True, text=True, env=env, check=True,
            ).stdout
            results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def launch_figures(runs: int) -> float:
    """Plain launches in fresh processes, a message sent as each window shows; prints Enter to
    reply, the longest UI stall while every model loads and where the other threads were at the
    worst one. Returns the median stall in ms (inf when a launch did not finish)."""
    load = os.getloadavg()
    launches = cold_start("launch", runs, None)
    if all("first_reply_s" in r and "loading_stall_ms" in r for r in launches):
        reply_s = statistics.median(r["first_reply_s"] for r in launches)
        stall_ms = [r["loading_stall_ms"] for r in launches]
        loaded_s = statistics.median(r["all_loaded_s"] for r in launches)
        ready_s = statistics.median(r["text_model_ready_s"] for r in launches)
        print(f"plain launch, a message sent as the window shows ({len(launches)} runs, medians): "
              f"first reply {reply_s:.1f} s after Enter (text model ready {ready_s:.1f} s after "
              f"launch); longest UI stall while the models load "
              f"{statistics.median(stall_ms):.0f} ms (worst {max(stall_ms):.0f} ms; goal <= 50); "
              f"all models loaded {loaded_s:.1f} s after launch; each run: "
              f"{', '.join(f'{ms:.0f}' for ms in stall_ms)} ms")
        worst = max(launches, key=lambda r: r["loading_stall_ms"])
        for thread, frames in worst["loading_stall_where"].items():
            print(f"  worst stall: {thread} was at {' > '.join(frames)}")
        over = sorted((s for r in launches for s in r["stalls"]), key=lambda s: -s[0])
        print(f"  {len(over)} stalls over {LIST_OVER_MS:.0f} ms in {len(launches)} launches")
        for ms, at, cpu_ms, where, queued_ms in over[:12]:
            print(f"    {ms} ms, {at:.2f} s after launch, UI thread's own CPU {cpu_ms} ms, "
                  f"runnable without a core {queued_ms} ms: "
                  + "; ".join(
                f"{t} at {f[0] if f else '?'}" for t, f in where.items()
                if t.startswith("frontdesk")))
    else:
        print(f"plain launch did not finish: {launches}")
        return float("inf")
    print(f"  machine load average {load[0]:.1f} before, {os.getloadavg()[0]:.1f} after "
          f"({os.cpu_count()} cores)")
    return statistics.median(stall_ms)
