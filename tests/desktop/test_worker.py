"""The one way the window runs work off the UI thread: order, errors, cancel, load failures."""

from __future__ import annotations

import threading

from desktop.engine_worker import EngineWorker, Job, error_sentence
from engine.errors import InputError, TrainingCancelled


def test_ops_run_in_order_on_the_worker_thread_and_answer_on_the_ui_thread(qtbot):
    ui_thread = threading.get_ident()
    gate = threading.Event()
    worker = EngineWorker("resource", lambda: (gate.wait(10), {"log": []})[1])
    worker.start()
    answers, threads = [], []

    def op(n):
        def run(resource, _job):
            threads.append(threading.get_ident())
            resource["log"].append(n)
            return n * n
        return run

    for n in range(5):  # queued before the resource exists: they wait, in order
        worker.run(op(n), label=f"op {n}", on_done=lambda r: answers.append(
            (r, threading.get_ident())))
    qtbot.wait(100)
    assert answers == [] and not worker.is_ready
    with qtbot.waitSignal(worker.ready, timeout=5_000):
        gate.set()
    qtbot.waitUntil(lambda: len(answers) == 5, timeout=5_000)
    assert [r for r, _ in answers] == [0, 1, 4, 9, 16]
    assert {t for _, t in answers} == {ui_thread}
    assert ui_thread not in threads
    worker.stop()


def test_errors_come_back_as_one_sentence(qtbot):
    worker = EngineWorker("resource", dict)
    messages = []

    def refuse(_r, _j):
        raise InputError("The message is empty; type what the customer wrote.")

    def crash(_r, _j):
        raise KeyError("turn")

    worker.run(refuse, label="answering", on_error=messages.append)
    with qtbot.waitSignal(worker.error, timeout=5_000) as unhandled:
        worker.run(crash, label="answering the message")
    assert messages == ["The message is empty; type what the customer wrote."]
    assert unhandled.args[0] == "Frontdesk could not finish answering the message: KeyError: 'turn'"
    assert error_sentence(ValueError(), "x") == "Frontdesk could not finish x: ValueError"
    worker.stop()


def test_an_error_without_words_is_still_an_error_not_a_cancel(qtbot):
    """An engine error raised with no message used to reach `on_error` as "", which the
    callers read as "cancelled" (the Export dialog said "Export cancelled.")."""
    worker = EngineWorker("resource", dict)
    outcome = []

    def refuse(_r, _j):
        raise InputError()

    worker.run(refuse, label="the export", on_error=outcome.append,
               on_cancelled=lambda: outcome.append("cancelled"))
    qtbot.waitUntil(lambda: outcome != [], timeout=5_000)
    assert outcome == ["Frontdesk could not finish the export: InputError"]
    worker.stop()


def test_cancel_stops_a_job_at_its_next_progress_report(qtbot):
    worker = EngineWorker("resource", dict)
    started = threading.Event()
    steps = []

    def long_job(_r, job: Job):
        started.set()
        for step in range(10_000):
            job.progress(step, 10_000)
            steps.append(step)
            threading.Event().wait(0.001)
        return "finished"

    outcome = []
    job = worker.run(long_job, label="a long job", on_done=outcome.append,
                     on_error=outcome.append, on_cancelled=lambda: outcome.append("cancelled"))
    assert started.wait(5)
    job.cancel()
    qtbot.waitUntil(lambda: outcome != [], timeout=5_000)
    qtbot.wait(50)
    assert outcome == ["cancelled"] and len(steps) < 10_000
    assert worker.pending == 0
    worker.stop()


def test_the_engines_own_cancellation_is_a_cancellation_not_an_error(qtbot):
    """Training and transcription stop with their own exception (TrainingCancelled, a
    FrontdeskError with a sentence) when the job's check says so: the caller hears
    `on_cancelled`, never an error sentence, and the window's `error` stays silent."""
    worker = EngineWorker("resource", dict)
    started, go_on = threading.Event(), threading.Event()

    def train(_r, job: Job):
        started.set()
        go_on.wait(5)
        if job.cancelled:
            raise TrainingCancelled("Training was cancelled; no model was written.")
        return "trained"

    outcome, unhandled = [], []
    worker.error.connect(unhandled.append)
    job = worker.run(train, label="training", on_done=outcome.append, on_error=outcome.append,
                     on_cancelled=lambda: outcome.append("cancelled"))
    queued = worker.run(lambda _r, _j: "never", label="queued", on_done=outcome.append,
                        on_cancelled=lambda: outcome.append("cancelled before it ran"))
    assert started.wait(5)
    job.cancel()
    queued.cancel()  # still behind `train` in the queue: it never runs
    go_on.set()
    qtbot.waitUntil(lambda: len(outcome) == 2, timeout=5_000)
    assert outcome == ["cancelled", "cancelled before it ran"] and unhandled == []
    worker.stop()


def test_a_failed_load_answers_every_later_job_with_its_sentence(qtbot):
    def broken():
        raise InputError("No model folder at /nowhere.")

    worker = EngineWorker("assistant", broken)
    with qtbot.waitSignal(worker.error, timeout=5_000) as said:
        worker.start()
    assert said.args[0] == "No model folder at /nowhere." == worker.load_error
    replies = []
    worker.run(lambda r, j: "never", label="answering", on_done=replies.append,
               on_error=replies.append)
    qtbot.waitUntil(lambda: replies != [], timeout=5_000)
    assert replies == ["No model folder at /nowhere."]
    worker.stop()


def test_a_worker_stopped_before_it_started_never_starts(qtbot):
    """Closing the window while the store opens: the store's callback then starts the engine.
    Its thread must not start, or it outlives the app and Qt aborts the process."""
    loads = []
    worker = EngineWorker("assistant", lambda: loads.append(1))
    worker.stop()
    worker.start()
    worker.run(lambda r, j: "never", label="answering")
    qtbot.wait(200)
    assert loads == []
