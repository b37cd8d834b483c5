"""Train from the logs: progress, cancel, before/after metrics, switch or keep.

A placeholder until the retraining loop (issue 7) lands: the dialog looks for
`engine.retrain.retrain_from_store(home, progress=..., cancel=...)` at run time and says plainly
when this build does not have it. The run goes through the engine worker like everything else.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QProgressBar,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.engine_worker import EngineWorker, Job

RETRAIN_MODULE = "engine.retrain"


def retraining_available() -> bool:
    """Whether this build ships the retraining loop (checked without importing torch)."""
    try:
        return importlib.util.find_spec(RETRAIN_MODULE) is not None
    except ModuleNotFoundError:
        return False


class TrainDialog(QDialog):
    def __init__(self, worker: EngineWorker, home: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Train from the logs")
        self._worker = worker
        self._home = home
        self._job: Job | None = None
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.progress = QProgressBar()
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["metric", "current model", "new model"])
        self.buttons = QDialogButtonBox()
        self.train_button = self.buttons.addButton("Train", QDialogButtonBox.ButtonRole.ActionRole)
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.train_button.clicked.connect(self.start)
        self.close_button.clicked.connect(self._cancel_or_close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.message)
        layout.addWidget(self.progress)
        layout.addWidget(self.table)
        layout.addWidget(self.buttons)
        if retraining_available():
            self.message.setText(
                "Trains a new model from the replies agents accepted or corrected; the current "
                "model stays in use until you switch."
            )
        else:
            self.message.setText(
                "Retraining from the logs is not part of this build yet; use "
                "`frontdesk train` on an export meanwhile."
            )
            self.train_button.setEnabled(False)

    def start(self) -> None:
        if self._job is not None or not retraining_available():
            return
        home = self._home

        def op(_assistant, job: Job):
            retrain = importlib.import_module(RETRAIN_MODULE)
            return retrain.retrain_from_store(home, progress=job.progress, cancel=job.check)

        self.train_button.setEnabled(False)
        self.close_button.setText("Cancel")
        self._job = self._worker.run(
            op, label="training", on_done=self._done, on_error=self._failed,
            on_progress=lambda done, total: (
                self.progress.setRange(0, max(total, 1)), self.progress.setValue(done)
            ),
        )

    def _done(self, result) -> None:
        self._job = None
        self.close_button.setText("Close")
        before = dict(getattr(result, "before", None) or {})
        after = dict(getattr(result, "after", None) or {})
        self.table.setRowCount(0)
        for name in sorted(set(before) | set(after)):
            row = self.table.rowCount()
            self.table.insertRow(row)
            self.table.setItem(row, 0, QTableWidgetItem(name))
            self.table.setItem(row, 1, QTableWidgetItem(f"{before.get(name, '')}"))
            self.table.setItem(row, 2, QTableWidgetItem(f"{after.get(name, '')}"))
        self.message.setText("Training finished.")

    def _failed(self, message: str) -> None:
        self._job = None
        self.close_button.setText("Close")
        self.train_button.setEnabled(True)
        self.message.setText(message or "Training cancelled; the current model stays in use.")

    def _cancel_or_close(self) -> None:
        if self._job is not None:
            self._job.cancel()
        else:
            self.reject()
