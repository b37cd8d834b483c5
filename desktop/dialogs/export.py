"""Export the logs for retraining: format, date range, redaction, progress, cancel.

The export runs on the store's worker thread (`engine.exchange.records.export_records`); the dialog
only shows progress and the one-sentence result, so the window keeps responding.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QDate, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.dialogs.job_dialog import JobDialog
from desktop.engine_worker import Cancelled, EngineWorker, Job


class ExportDialog(JobDialog):
    """Emits `exported(path, count)` when a file has been written."""

    exported = Signal(Path, int)

    def __init__(
        self,
        store_worker: EngineWorker,
        default_dir: Path,
        session_id: int | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(store_worker, parent)
        self.setWindowTitle("Export logs")
        self._session_id = session_id
        self.result_count: int | None = None

        self.path = QLineEdit(str(default_dir / "frontdesk-export.jsonl"))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path, 1)
        path_row.addWidget(browse)

        self.format = QComboBox()
        self.format.addItem("JSONL (for retraining)", "jsonl")
        self.format.addItem("CSV (for spreadsheets)", "csv")
        self.format.currentIndexChanged.connect(self._fix_suffix)

        self.use_since = QCheckBox("From")
        self.since = QDateEdit(QDate.currentDate().addMonths(-1))
        self.use_until = QCheckBox("To")
        self.until = QDateEdit(QDate.currentDate())
        for edit in (self.since, self.until):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
        dates = QHBoxLayout()
        for widget in (self.use_since, self.since, self.use_until, self.until):
            dates.addWidget(widget)

        self.only_session = QCheckBox("Only the open session")
        self.only_session.setEnabled(session_id is not None)
        self.redact = QCheckBox("Redact personal data (emails, phone and card numbers, IBANs)")
        self.redact.setChecked(True)

        self.progress.setRange(0, 100)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setObjectName("export-message")

        self.buttons = QDialogButtonBox()
        self.export_button = self.buttons.addButton(
            "Export", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.export_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self._cancel_or_close)

        form = QFormLayout()
        form.addRow("File", path_row)
        form.addRow("Format", self.format)
        form.addRow("Dates", dates)
        form.addRow("", self.only_session)
        form.addRow("", self.redact)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)

    def _browse(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self, "Export to", self.path.text())
        if name:
            self.path.setText(name)
            self._fix_suffix()

    def _fix_suffix(self) -> None:
        path = Path(self.path.text())
        self.path.setText(str(path.with_suffix("." + self.format.currentData())))

    def _begin(self) -> Job | None:
        """The export, on the store thread (None: no file chosen)."""
        out = Path(self.path.text()).expanduser()
        if not self.path.text().strip():
            self.message.setText("Choose a file to export to.")
            return None
        options = {
            "fmt": self.format.currentData(),
            "redact": self.redact.isChecked(),
            # bare dates: the engine reads `until` as the whole of that day
            "since": self.since.date().toString("yyyy-MM-dd") if self.use_since.isChecked()
            else None,
            "until": self.until.date().toString("yyyy-MM-dd") if self.use_until.isChecked()
            else None,
            "session_ids": [self._session_id]
            if self.only_session.isChecked() and self._session_id is not None else None,
        }

        def op(store, job: Job) -> int:
            from engine.exchange.records import export_records

            try:
                return export_records(store, out, progress=job.progress, **options)
            except Cancelled:
                out.with_name(out.name + ".part").unlink(missing_ok=True)
                raise

        self.export_button.setEnabled(False)
        self.cancel_button.setText("Cancel")
        self.message.setText("Exporting…")
        self.progress.setRange(0, 0)
        return self._run(op, label="the export", on_done=lambda n: self._done(out, n),
                         on_error=self._failed,
                         on_cancelled=lambda: self._failed("Export cancelled."))

    def _done(self, out: Path, count: int) -> None:
        self.result_count = int(count)
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        self.message.setText(f"Exported {count:,} records to {out}.")
        self.export_button.setEnabled(True)
        self.cancel_button.setText("Close")
        self.exported.emit(out, int(count))

    def _failed(self, message: str) -> None:
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        self.message.setText(message)
        self.export_button.setEnabled(True)
        self.cancel_button.setText("Close")

    def _cancelling(self) -> None:
        self.message.setText("Cancelling…")
