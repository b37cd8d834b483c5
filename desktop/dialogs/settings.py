"""Settings: CPU/GPU (with what is in use), Whisper model, microphone, knowledge and data folders.

Saved to the data folder's `desktop_settings.json`; model and device changes apply the next
time the engine starts (the window says so) because models load once, in the engine thread.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
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

from desktop.settings import DEVICES, WHISPER_MODELS, DesktopSettings


def list_microphones(sd_module=None) -> tuple[list[str], str]:
    """Input device names and, when there are none, the one sentence that says why."""
    from engine.errors import FrontdeskError

    try:
        from engine.speech.recorder import Recorder

        names = list(Recorder.list_input_devices(sd_module))
    except FrontdeskError as err:
        return [], str(err)
    except (ImportError, OSError) as err:
        return [], f"No microphone can be used here: {err}."
    return names, "" if names else "No microphone was found on this computer."


class SettingsDialog(QDialog):
    def __init__(
        self, settings: DesktopSettings, home: Path, device_in_use: str, parent=None,
        sd_module=None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.settings = settings
        self._home = home

        self.device = QComboBox()
        for name in DEVICES:
            self.device.addItem({"auto": "Automatic (GPU if present)", "cpu": "CPU",
                                 "cuda": "GPU (CUDA)"}[name], name)
        self.device.setCurrentIndex(max(0, self.device.findData(settings.device)))
        self.in_use = QLabel(f"In use now: {device_in_use}")
        self.in_use.setObjectName("device-in-use")

        self.whisper = QComboBox()
        self.whisper.setEditable(True)
        self.whisper.addItems(list(WHISPER_MODELS))
        self.whisper.setCurrentText(settings.whisper_model)
        self.whisper.setToolTip("tiny.en or base ship with Frontdesk; or a model folder / .pt file")

        self.microphone = QComboBox()
        self.microphone.addItem("System default", "")
        names, why = list_microphones(sd_module)
        for name in names:
            self.microphone.addItem(name, name)
        self.microphone.setCurrentIndex(max(0, self.microphone.findData(settings.microphone)))
        self.mic_note = QLabel(why)
        self.mic_note.setObjectName("mic-note")
        self.mic_note.setWordWrap(True)

        knowledge_row, self.knowledge = self._folder_row(
            settings.knowledge_dir, "the default knowledge base"
        )
        data_row, self.data = self._folder_row(settings.data_dir or str(home), "")

        self.message = QLabel("Device and model changes apply the next time Frontdesk starts.")
        self.message.setWordWrap(True)
        self.message.setObjectName("settings-message")
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)

        form = QFormLayout()
        form.addRow("Compute", self.device)
        form.addRow("", self.in_use)
        form.addRow("Whisper model", self.whisper)
        form.addRow("Microphone", self.microphone)
        form.addRow("", self.mic_note)
        form.addRow("Knowledge base folder", knowledge_row)
        form.addRow("Data folder", data_row)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(buttons)

    def _folder_row(self, value: str, placeholder: str) -> tuple[QWidget, QLineEdit]:
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        edit = QLineEdit(value)
        edit.setPlaceholderText(placeholder)
        # a path shown whole (up to 80 characters; the full one in the tooltip), not cut
        # mid-word at its start
        edit.setMinimumWidth(edit.fontMetrics().horizontalAdvance(value[:80] + "  ") + 16)
        edit.setToolTip(value)
        edit.textChanged.connect(edit.setToolTip)
        browse = QPushButton("Browse…")
        browse.clicked.connect(
            lambda: edit.setText(QFileDialog.getExistingDirectory(self, "Choose a folder",
                                                                  edit.text()) or edit.text())
        )
        row.addWidget(edit, 1)
        row.addWidget(browse)
        return box, edit

    def chosen(self) -> DesktopSettings:
        """The dialog's fields over the settings it opened with (what it does not edit stays)."""
        return replace(
            self.settings,
            device=self.device.currentData(),
            whisper_model=self.whisper.currentText().strip() or WHISPER_MODELS[0],
            microphone=self.microphone.currentData() or "",
            knowledge_dir=self.knowledge.text().strip(),
            data_dir=self.data.text().strip() if self.data.text().strip() != str(self._home)
            else "",
        )

    def save(self) -> None:
        """Write the settings; a read-only data folder is one sentence, the dialog stays open."""
        chosen = self.chosen()
        try:
            chosen.save(self._home)
        except OSError as err:
            self.message.setText(
                f"The settings could not be saved in {self._home}: {err.strerror or err}."
            )
            return
        self.settings = chosen
        self.accept()
