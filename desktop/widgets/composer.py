"""Where the agent enters a turn: text, whose turn it is, mic, attachments, drop and paste.

Enter sends, Shift+Enter adds a line. Images arrive by the attach button, drag and drop or
Ctrl+V (how agents actually share screenshots); audio files dropped here are transcribed into
the box, and their recording rides with that transcript (shown as a chip): deleting the whole
transcript, or removing the chip, discards the recording. Input the window cannot take is refused
with one sentence; typed text is never cleared until the caller says the turn is safely stored
(`clear_sent`), and comes back on failure. `take_draft` / `put_draft` let the window keep each
session's unsent turn with its session.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QButtonGroup,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.widgets.discard import discard
from desktop.widgets.message_edit import MessageEdit

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
AUDIO_SUFFIXES = {".wav", ".flac", ".mp3", ".ogg", ".m4a", ".opus", ".webm"}
MAX_IMAGE_BYTES = 20 * 1024 * 1024
HOLD_TO_TALK_MS = 350  # a press longer than this is push-to-talk; a click toggles


def _megabytes(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"


def classify_file(path: Path) -> str:
    """'image' or 'audio'; raises ValueError with one sentence for anything else."""
    suffix = path.suffix.lower()
    if not path.is_file():
        raise ValueError(f"{path.name} is not a file Frontdesk can open.")
    if suffix in IMAGE_SUFFIXES:
        size = path.stat().st_size
        if size > MAX_IMAGE_BYTES:
            raise ValueError(
                f"{path.name} is {_megabytes(size)}; screenshots up to "
                f"{_megabytes(MAX_IMAGE_BYTES)} are accepted."
            )
        return "image"
    if suffix in AUDIO_SUFFIXES:
        return "audio"
    raise ValueError(
        f"{path.name} is neither an image (PNG, JPEG, …) nor an audio file, so it was not added."
    )


@dataclass
class ComposerDraft:
    """An unsent turn: what was typed, the screenshots and the recording attached to it."""

    text: str = ""
    images: list[Path] = field(default_factory=list)
    voice: Path | None = None

    def __bool__(self) -> bool:
        return bool(self.text.strip() or self.images or self.voice)

    def add(self, more: ComposerDraft) -> None:
        """Join another piece for the same session (its text on a new line)."""
        self.text = "\n".join(t for t in (self.text.rstrip(), more.text.strip()) if t)
        self.images += [image for image in more.images if image not in self.images]
        self.voice = more.voice or self.voice


class Composer(QWidget):
    """The composer bar. `submitted(text, role, images, voice)` (voice: the recording the text
    was transcribed from, or None); `audio_dropped(path)`; `mic_*`."""

    submitted = Signal(str, str, list, object)
    audio_dropped = Signal(Path)
    mic_pressed = Signal()
    mic_released = Signal()
    error = Signal(str)

    def __init__(self, paste_dir: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self._paste_dir = paste_dir
        self._images: list[Path] = []
        self._voice: Path | None = None
        self._in_flight: str | None = None

        self.edit = MessageEdit()
        self.edit.setPlaceholderText(
            "Type or paste what the customer wrote (Enter sends, Shift+Enter new line, "
            "Ctrl+V pastes a screenshot)"
        )
        self.edit.setMaximumHeight(110)
        self.edit.send.connect(self.submit)
        self.edit.image_pasted.connect(self.add_image)
        self.edit.files_dropped.connect(self.add_files)
        self.edit.refused.connect(self.error)
        self.edit.textChanged.connect(self._text_changed)

        self.customer_button = QPushButton("Customer")
        self.agent_button = QPushButton("Agent")
        self._roles = QButtonGroup(self)
        for role, button, keys in (("customer", self.customer_button, "Ctrl+1"),
                                   ("agent", self.agent_button, "Ctrl+2")):
            button.setCheckable(True)
            button.setProperty("role", role)
            button.setToolTip(f"The next message is from the {role} ({keys})")
            button.setStyleSheet(  # which side is on must be plain in any palette
                "QPushButton { padding:3px 10px; }"
                "QPushButton:checked { background:palette(highlight); "
                "color:palette(highlighted-text); font-weight:600; "
                "border:1px solid palette(highlight); border-radius:3px; }")
            self._roles.addButton(button)
        self.customer_button.setChecked(True)

        self.mic_button = QToolButton()
        self.mic_button.setText("Mic")
        self.mic_button.setCheckable(True)
        self.mic_button.setToolTip("Click to record, click again to stop; or hold to talk (F9)")
        self.mic_button.pressed.connect(self._mic_down)
        self.mic_button.released.connect(self._mic_up)
        self._held = QTimer(self, singleShot=True, interval=HOLD_TO_TALK_MS)
        self._recording = False
        self._hold_mode = False
        self._press_started = False
        self._before_voice = ""
        self._held.timeout.connect(lambda: setattr(self, "_hold_mode", True))

        self.level = QProgressBar()
        self.level.setRange(0, 100)
        self.level.setTextVisible(False)
        self.level.setFixedWidth(60)
        self.level.setMaximumHeight(10)
        self.level.setToolTip("Microphone level")

        self.attach_button = QToolButton()
        self.attach_button.setText("Attach…")
        self.attach_button.setToolTip("Attach a screenshot or an audio file")
        self.attach_button.clicked.connect(self._pick_files)

        self.send_button = QPushButton("Send")
        self.send_button.setToolTip("Send (Enter / Ctrl+Return)")
        self.send_button.clicked.connect(self.submit)

        self.attachments = QHBoxLayout()
        self.attachments.setContentsMargins(0, 0, 0, 0)
        self.attachments.addStretch(1)

        bar = QHBoxLayout()
        bar.addWidget(QLabel("From:"))
        bar.addWidget(self.customer_button)
        bar.addWidget(self.agent_button)
        bar.addSpacing(12)
        bar.addWidget(self.mic_button)
        bar.addWidget(self.level)
        bar.addWidget(self.attach_button)
        bar.addStretch(1)
        bar.addWidget(self.send_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(self.attachments)
        layout.addWidget(self.edit)
        layout.addLayout(bar)

    # --- state -------------------------------------------------------------------------------
    @property
    def role(self) -> str:
        checked = self._roles.checkedButton()
        return checked.property("role") if checked else "customer"

    def set_role(self, role: str) -> None:
        (self.agent_button if role == "agent" else self.customer_button).setChecked(True)

    @property
    def images(self) -> list[Path]:
        return list(self._images)

    def text(self) -> str:
        return self.edit.toPlainText()

    def set_text(self, text: str) -> None:
        self.edit.setPlainText(text)
        self.edit.moveCursor(self.edit.textCursor().MoveOperation.End)

    # --- sending -------------------------------------------------------------------------------
    @property
    def voice(self) -> Path | None:
        """The recording the text in the box was transcribed from (sent with it), or None."""
        return self._voice

    def set_voice(self, path: Path | None) -> None:
        self._voice = Path(path) if path is not None else None
        self._refresh_attachments()

    def _text_changed(self) -> None:
        """All of a transcript deleted: its recording goes with it (never sent with other
        words)."""
        if self._voice is not None and not self.text().strip():
            self.set_voice(None)

    def submit(self) -> None:
        """Emit the turn; the box keeps it until `clear_sent` (stored) or `restore` (failed)."""
        text = self.text().strip()
        if not text and not self._images and self._voice is None:
            return
        self._in_flight = self.text()
        images, voice, role = list(self._images), self._voice, self.role
        self.clear_sent()
        self.set_role("customer")  # after the agent's answer the customer usually writes next
        self.submitted.emit(text, role, images, voice)

    def clear_sent(self) -> None:
        self.edit.clear()
        self._images.clear()
        self._voice = None
        self._refresh_attachments()

    def restore(self, text: str, images: list[Path] | None = None,
                voice: Path | None = None) -> None:
        """Put back a turn that could not be stored, ahead of anything typed since."""
        typed_since = self.text()
        joined = text if not typed_since else f"{text}\n{typed_since}"
        self.set_text(joined)
        for image in images or []:
            if image not in self._images:
                self._images.append(image)
        if voice is not None:
            self._voice = voice
        self._refresh_attachments()

    def take_draft(self) -> ComposerDraft:
        """Empty the box and return what was in it (the window keeps it with its session)."""
        draft = ComposerDraft(self.text(), list(self._images), self._voice)
        self.clear_sent()
        return draft

    def put_draft(self, draft: ComposerDraft) -> None:
        """Show a session's unsent turn again (the box is empty when the window calls this)."""
        self.clear_sent()
        self.set_text(draft.text)
        self._images = list(draft.images)
        self._voice = draft.voice
        self._refresh_attachments()

    # --- images and files ---------------------------------------------------------------------
    def add_image(self, image: QImage) -> Path | None:
        """Save a pasted image as PNG (named by its content hash) and attach it."""
        try:
            self._paste_dir.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            self.error.emit(f"The pasted image could not be saved: {err.strerror or err}.")
            return None
        bits = image.constBits()
        digest = hashlib.sha256(bytes(bits) if bits is not None else b"").hexdigest()[:16]
        path = self._paste_dir / f"pasted-{digest}.png"
        if not path.exists() and not image.save(str(path), "PNG"):
            self.error.emit("The pasted image could not be saved to the data folder.")
            return None
        self._attach(path)
        return path

    def add_files(self, paths: list[Path]) -> None:
        for path in paths:
            try:
                kind = classify_file(Path(path))
            except ValueError as err:
                self.error.emit(str(err))
                continue
            if kind == "image":
                self._attach(Path(path))
            else:
                self.audio_dropped.emit(Path(path))

    def _attach(self, path: Path) -> None:
        if path not in self._images:
            self._images.append(path)
            self._refresh_attachments()

    def _refresh_attachments(self) -> None:
        while self.attachments.count() > 1:
            item = self.attachments.takeAt(0)
            if item.widget():
                discard(item.widget())
        for index, path in enumerate(self._images):
            chip = QToolButton()
            icon = QPixmap(str(path)).scaled(QSize(48, 48), Qt.AspectRatioMode.KeepAspectRatio)
            chip.setIcon(icon)
            chip.setIconSize(QSize(48, 48))
            chip.setText(f"{path.name}  ✕")
            chip.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            chip.setToolTip("Click to remove this screenshot")
            chip.clicked.connect(lambda _=False, p=path: self._remove(p))
            self.attachments.insertWidget(index, chip)
        if self._voice is not None:
            chip = QToolButton()
            chip.setObjectName("voice-chip")
            chip.setText(f"Recording: {self._voice.name}  ✕")
            chip.setToolTip("Sent with the transcript; click to discard the recording")
            chip.clicked.connect(lambda _=False: self.set_voice(None))
            self.attachments.insertWidget(len(self._images), chip)

    def _remove(self, path: Path) -> None:
        if path in self._images:
            self._images.remove(path)
            self._refresh_attachments()

    def _pick_files(self) -> None:
        patterns = " ".join(f"*{s}" for s in sorted(IMAGE_SUFFIXES | AUDIO_SUFFIXES))
        names, _ = QFileDialog.getOpenFileNames(
            self, "Attach a screenshot or audio", "", f"Images and audio ({patterns})"
        )
        self.add_files([Path(name) for name in names])

    def paste_from_clipboard(self) -> None:
        """Ctrl+V from anywhere in the window lands here."""
        self.edit.setFocus()
        self.edit.paste()

    # --- drag and drop ------------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:  # noqa: N802
        if event.mimeData().hasUrls() or event.mimeData().hasImage():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802
        data = event.mimeData()
        if data.hasImage():
            self.add_image(QImage(data.imageData()))
        elif data.hasUrls():
            self.add_files([Path(url.toLocalFile()) for url in data.urls() if url.isLocalFile()])
        event.acceptProposedAction()

    # --- microphone ---------------------------------------------------------------------------
    def _mic_down(self) -> None:
        self._press_started = not self._recording
        self._hold_mode = False
        if self._press_started:
            self._held.start()
            self.start_recording_ui()
            self.mic_pressed.emit()

    def _mic_up(self) -> None:
        """A quick click leaves recording on (toggle); a hold, or a second click, stops it."""
        self._held.stop()
        if self._recording and (self._hold_mode or not self._press_started):
            self.stop_recording_ui()
            self.mic_released.emit()
        self.mic_button.setChecked(self._recording)

    def toggle_mic(self) -> None:
        """Keyboard shortcut: start or stop recording."""
        if self._recording:
            self.stop_recording_ui()
            self.mic_released.emit()
        else:
            self.start_recording_ui()
            self.mic_pressed.emit()

    def mark_voice_start(self) -> None:
        """Transcripts arriving from now on go after the text typed so far."""
        self._before_voice = self.text()

    def start_recording_ui(self) -> None:
        self._recording = True
        self.mark_voice_start()
        self.mic_button.setChecked(True)
        self.mic_button.setText("Stop mic")

    def stop_recording_ui(self) -> None:
        self._recording = False
        self.mic_button.setChecked(False)
        self.mic_button.setText("Mic")
        self.level.setValue(0)

    @property
    def recording(self) -> bool:
        return self._recording

    def set_level(self, rms: float) -> None:
        self.level.setValue(max(0, min(100, int(rms * 300))))

    def show_transcript(self, text: str) -> None:
        """Live or final transcript: shown after what was typed before the mic started."""
        before = self._before_voice.rstrip()
        self.set_text(f"{before} {text}".strip() if before else text)
