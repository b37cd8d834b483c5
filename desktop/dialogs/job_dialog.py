"""A dialog that runs one long, cancellable job at a time on a worker (Export, Train).

The guard lives here once: a second press of the action button while the job runs is refused,
the Cancel/Close button cancels the running job or closes the dialog, the progress bar follows
the job, and the dialog stops counting the job as running before any of its outcomes is shown.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QDialog, QProgressBar, QWidget

from desktop.engine_worker import EngineWorker, Job, Op


class JobDialog(QDialog):
    """Subclasses write `_begin()` (validate, then `_run(...)`) and connect their Cancel/Close
    button to `_cancel_or_close`; `start()` and `running` are the same for all."""

    def __init__(self, worker: EngineWorker, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._worker = worker
        self._job: Job | None = None
        self.progress = QProgressBar()
        self.progress.setValue(0)

    @property
    def running(self) -> bool:
        return self._job is not None

    def start(self) -> Job | None:
        """Start the dialog's job (returns it, or None if one runs already or it was refused)."""
        if self._job is not None:
            return None
        return self._begin()

    def _begin(self) -> Job | None:
        raise NotImplementedError

    def _run(
        self,
        op: Op,
        *,
        label: str,
        on_done: Callable[[Any], None],
        on_error: Callable[[str], None],
        on_cancelled: Callable[[], None],
    ) -> Job:
        """Queue the dialog's job; whichever way it ends, it no longer runs when told."""

        def ended(outcome: Callable[..., None]) -> Callable[..., None]:
            def settle(*args: Any) -> None:
                self._job = None
                outcome(*args)

            return settle

        self._job = self._worker.run(
            op, label=label, on_done=ended(on_done), on_error=ended(on_error),
            on_cancelled=ended(on_cancelled), on_progress=self._progress,
        )
        return self._job

    def _progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)

    def _cancelling(self) -> None:
        """What the dialog says between Cancel and the job stopping (nothing by default)."""

    def _cancel_or_close(self) -> None:
        if self._job is not None:
            self._job.cancel()
            self._cancelling()
        else:
            self.reject()
