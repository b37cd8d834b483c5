"""Train from the logs: progress, cancel, before/after metrics, then switch or keep the old model.

Runs `engine.learning.retrain.retrain_from_store` on the engine thread (the Assistant keeps
answering
with the current model until the agent switches; the queue simply waits while training runs).
Switching points the data folder at the new version (`engine.learning.versions.use`) and loads it
into
the live Assistant, so no restart is needed; keeping the old model changes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.dialogs.job_dialog import JobDialog
from desktop.engine_worker import EngineWorker, Job

METRICS = ("cases", "accuracy", "macro_f1", "in_scope_accuracy", "oos_precision", "oos_recall")


def _figure(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value if value is not None else "")


class TrainDialog(JobDialog):
    """Emits `switched(version)` once the new model answers."""

    switched = Signal(str)

    def __init__(self, worker: EngineWorker, home: Path, parent: QWidget | None = None) -> None:
        super().__init__(worker, parent)
        self.setWindowTitle("Train from the logs")
        self.resize(520, 420)
        self._home = home
        self.result: Any = None
        self.message = QLabel(
            "Trains a new model from the replies agents accepted or corrected in this data "
            "folder. The current model stays in use until you switch."
        )
        self.message.setWordWrap(True)
        self.message.setObjectName("train-message")
        self.heads_only = QCheckBox("Quick (train the classifier head only)")
        self.heads_only.setChecked(True)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["held-out sessions", "current model", "new model"])
        # columns as wide as their header and figures ("neld-out session:" at 200% scaling)
        self.table.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.use_button = QPushButton("Use the new model")
        self.keep_button = QPushButton("Keep the current model")
        self.use_button.clicked.connect(self.switch)
        self.keep_button.clicked.connect(self.reject)
        for button in (self.use_button, self.keep_button):
            button.setEnabled(False)
        self.buttons = QDialogButtonBox()
        self.train_button = self.buttons.addButton("Train", QDialogButtonBox.ButtonRole.ActionRole)
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.buttons.addButton(self.use_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.buttons.addButton(self.keep_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.train_button.clicked.connect(self.start)
        self.close_button.clicked.connect(self._cancel_or_close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.message)
        layout.addWidget(self.heads_only)
        layout.addWidget(self.progress)
        layout.addWidget(self.table)
        layout.addWidget(self.buttons)

    def _begin(self) -> Job:
        home, heads_only = self._home, self.heads_only.isChecked()

        def op(_assistant, job: Job):
            from engine.learning.retrain import RetrainOptions, retrain_from_store

            return retrain_from_store(home, RetrainOptions(heads_only=heads_only),
                                      progress=job.progress, cancel=job.check)

        self.train_button.setEnabled(False)
        self.close_button.setText("Cancel")
        self.message.setText("Training… (the assistant answers again when it is done)")
        return self._run(
            op, label="training", on_done=self._done, on_error=self._failed,
            on_cancelled=lambda: self._failed(
                "Training cancelled; the current model stays in use."),
        )

    def _done(self, result: Any) -> None:
        self.result = result
        self.close_button.setText("Close")
        self.table.setRowCount(0)
        for name in METRICS:
            if name not in result.before and name not in result.after:
                continue
            row = self.table.rowCount()
            self.table.insertRow(row)
            self.table.setItem(row, 0, QTableWidgetItem(name))
            self.table.setItem(row, 1, QTableWidgetItem(_figure(result.before.get(name))))
            self.table.setItem(row, 2, QTableWidgetItem(_figure(result.after.get(name))))
        extra = ""
        if result.needs_article:
            extra = (" New intents without a knowledge-base article yet: "
                     + ", ".join(result.needs_article) + ".")
        if result.held_back:  # too few held-out cases: the count only, no rates
            extra += " " + result.held_back
        if result.fused and "before" in result.fused and "held_back" not in result.fused:
            fused = result.fused
            extra += (f" Screenshot turns (fused model): {_figure(fused['before']['accuracy'])}"
                      f" -> {_figure(fused['after']['accuracy'])}.")
        self.message.setText(
            f"Trained {result.version} in {result.seconds:.0f} s.{extra}"
        )
        self.use_button.setEnabled(True)
        self.keep_button.setEnabled(True)

    def _failed(self, message: str) -> None:
        self.close_button.setText("Close")
        self.train_button.setEnabled(True)
        self.progress.setValue(0)
        self.message.setText(message)

    def switch(self) -> None:
        """Make the new version current and load it into the running Assistant."""
        if self.result is None:
            return
        name = self.result.version

        def op(assistant, _job: Job) -> str:
            assistant.use_version(name)
            return name

        self.use_button.setEnabled(False)
        self._worker.run(op, label="switching models", on_done=self._switched,
                         on_error=self._failed)

    def _switched(self, name: str) -> None:
        self.message.setText(f"Now answering with {name}.")
        self.switched.emit(name)
