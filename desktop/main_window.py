"""The agent's window: sessions | conversation + composer | suggestion and "Why".

The window only wires widgets to three workers (see engine_worker): the store (sessions,
turns, search, feedback, export: ready at once), the Assistant (models load in the background;
turns typed meanwhile wait in its queue and are answered when it is ready; it writes every
conversation turn so their order is kept) and speech (loaded the first time the mic or an audio
file is used). Every failure lands as one sentence in the banner and the status bar; a turn
that could not be stored goes back into the composer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QLabel,
    QLineEdit,
    QMainWindow,
    QPlainTextEdit,
    QProgressBar,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop import loaders, ops
from desktop.delete_actions import DeleteActions
from desktop.engine_worker import EngineWorker, Job
from desktop.preload import Preloader
from desktop.recorder_bridge import RecorderBridge
from desktop.settings import DesktopSettings
from desktop.stall_probe import StallProbe
from desktop.turn_actions import TurnActions
from desktop.widgets.banner import Banner
from desktop.widgets.chat_view import ChatView
from desktop.widgets.composer import Composer, ComposerDraft
from desktop.widgets.first_run import FirstRunNotice
from desktop.widgets.graph_view import GraphView
from desktop.widgets.session_list import SessionList
from desktop.widgets.suggestion_panel import SuggestionPanel
from desktop.widgets.task_progress import TaskProgress
from desktop.widgets.undo_bar import UndoBar
from desktop.window_actions import DialogActions, VoiceActions

log = logging.getLogger("frontdesk.desktop")


class MainWindow(TurnActions, DeleteActions, VoiceActions, DialogActions, QMainWindow):
    """Emits `reply_shown(Reply)` and `session_shown(int)` (tests and benchmarks wait on them)."""

    reply_shown = Signal(object)
    session_shown = Signal(int)
    message_shown = Signal(str)

    def __init__(
        self,
        home: Path,
        *,
        store_factory: Callable[[], Any] | None = None,
        assistant_factory: Callable[[], Any] | None = None,
        transcriber_factory: Callable[[], Any] | None = None,
        sd_module: Any = None,
        preload: bool = True,
    ) -> None:
        super().__init__()
        self.home = Path(home)
        self.settings = DesktopSettings.load(self.home)
        self.setWindowTitle("Frontdesk")
        self.resize(1360, 820)
        self.session_id: int | None = None
        self.device_in_use = "loading…"
        self.labels: list[str] = []
        self._drafts: dict[int, ComposerDraft] = {}  # unsent turns of the sessions not shown
        self._voice_session: int | None = None  # where the recording in progress belongs
        self._transcribe_job: Job | None = None

        self.store = EngineWorker(
            "session store", store_factory or (lambda: loaders.open_store(self.home))
        )
        whisper = loaders.SharedTranscriber(self.home, self.settings)  # one process for both
        # the app's Assistant runs in a process of its own; a factory (tests) builds one here
        self.assistant_process = (None if assistant_factory else
                                  loaders.AssistantProcess(self.home, self.settings, whisper))
        self.engine = EngineWorker(
            "assistant", assistant_factory or self.assistant_process.load)
        self.speech = EngineWorker(
            "speech model",
            transcriber_factory or (lambda: loaders.load_transcriber(self.home, self.settings,
                                                                     whisper)),
        )
        for worker in (self.store, self.engine, self.speech):
            worker.status.connect(self.show_status)
            worker.error.connect(self.show_error)
        self.engine.ready.connect(self._engine_ready)
        # Whisper and the screenshot models load once the text model is ready (desktop.preload)
        self.preload = (Preloader(self.engine, self.speech, self,
                                  in_process=self.assistant_process is None) if preload else None)
        self.engine.busy.connect(self._busy)

        self.sessions = SessionList()
        self.chat = ChatView()
        self.composer = Composer(self.home / "cache" / "pasted")
        self.suggestion = SuggestionPanel()
        self.why = GraphView()
        self.banner = Banner()
        self.undo_bar = UndoBar()
        self.first_run = FirstRunNotice(self.home, self.settings)  # first launch only
        self.recorder = RecorderBridge(
            self.speech, self.home / "cache" / "voice", sd_module=sd_module,
            device=self.settings.microphone or None, parent=self,
        )
        self._sd_module = sd_module
        # the running app watches its own event loop; freezes go to the log with what ran
        self.probe = StallProbe(self, interval_ms=20, on_stall=self._stalled)
        self._build_layout()
        self._build_menus()
        self.hidden_turns: set[int] = set()  # deleted, Undo still offered (see DeleteActions)
        self.hidden_sessions: set[int] = set()
        self._pending_delete: tuple[str, int] | None = None
        self.undo_bar.undone.connect(self.undo_delete)
        self.undo_bar.expired.connect(self._delete_now)
        self.chat.delete_requested.connect(self.delete_turn)
        self.sessions.delete_requested.connect(self.delete_session)
        self._connect()
        self._draw_once_hidden()

    def _draw_once_hidden(self) -> None:
        """Draw the window once into a pixmap before it is shown: the first drawing polishes
        every widget and loads the fonts and glyphs (the welcome notice's bold and monospace
        ones), 30-60 ms of UI work that otherwise came with the first Expose, after the
        loading threads had started (bench gui listed it as a 50-60 ms launch stall). The
        first Expose then only repaints (about 10 ms)."""
        self.grab()

    # --- construction --------------------------------------------------------------------------
    def _build_layout(self) -> None:
        centre = QWidget()
        column = QVBoxLayout(centre)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.first_run)
        column.addWidget(self.banner)
        column.addWidget(self.undo_bar)
        column.addWidget(self.chat, 1)
        column.addWidget(self.composer)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.suggestion, "Suggestion")
        self.tabs.addTab(self.why, "Why")
        split = QSplitter()
        split.addWidget(self.sessions)
        split.addWidget(centre)
        split.addWidget(self.tabs)
        split.setSizes([250, 700, 410])
        split.setStretchFactor(1, 1)
        self.setCentralWidget(split)
        self.status_text = QLabel("Starting…")
        self.status_text.setObjectName("status-text")
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(160)
        self.progress.setRange(0, 0)
        self.device_label = QLabel("device: loading…")
        self.statusBar().addWidget(self.status_text, 1)
        self.task = TaskProgress()  # a dropped file's transcription: progress, "Esc cancels"
        self.statusBar().addPermanentWidget(self.task)
        self.statusBar().addPermanentWidget(self.progress)
        self.statusBar().addPermanentWidget(self.device_label)

    def _action(self, menu, text: str, slot, shortcut=None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file = bar.addMenu("&File")
        self._action(file, "New session", self.new_session, "Ctrl+N")
        self._action(file, "Export…", self.open_export, "Ctrl+E")
        file.addSeparator()
        self._action(file, "Quit", self.close, QKeySequence.StandardKey.Quit)
        edit = bar.addMenu("&Message")
        self._action(edit, "Send", self.composer.submit, "Ctrl+Return")
        self._action(edit, "Paste screenshot or text", self.paste, QKeySequence.StandardKey.Paste)
        self._action(edit, "Next message from the customer",
                     lambda: self.composer.set_role("customer"), "Ctrl+1")
        self._action(edit, "Next message from the agent",
                     lambda: self.composer.set_role("agent"), "Ctrl+2")
        self._action(edit, "Microphone on/off", self.toggle_mic, "F9")
        self._action(edit, "Use the suggested answer", self.suggestion.use_shortcut,
                     "Ctrl+Shift+Return")
        self._action(edit, "Cancel transcription", self.cancel_transcription, "Escape")
        tools = bar.addMenu("&Assistant")
        self._action(tools, "Train from the logs…", self.open_train)
        self._action(tools, "Settings…", self.open_settings, "Ctrl+,")
        help_menu = bar.addMenu("&Help")
        self._action(help_menu, "Show logs", self.open_logs)
        self._action(help_menu, "About Frontdesk", self.open_about)

    def _connect(self) -> None:
        self.sessions.selected.connect(self.open_session)
        self.sessions.search_changed.connect(self.refresh_sessions)
        self.sessions.new_requested.connect(self.new_session)
        self.sessions.rename_requested.connect(self.rename_session)
        self.composer.submitted.connect(self.submit)
        self.composer.error.connect(self.show_error)
        self.composer.audio_dropped.connect(self.transcribe_file)
        self.composer.mic_pressed.connect(self._mic_on)
        self.composer.mic_released.connect(self.recorder.stop)
        self.recorder.level.connect(self.composer.set_level)
        self.recorder.partial.connect(self._voice_partial)
        self.recorder.finished.connect(self._voice_done)
        self.recorder.error.connect(self.show_error)
        self.recorder.recording.connect(
            lambda on: None if on else self.composer.stop_recording_ui()
        )
        self.suggestion.feedback.connect(self.send_feedback)
        self.suggestion.use.connect(self.use_answer)
        self.suggestion.redraft.connect(self.redraft)
        self.suggestion.handoff.connect(lambda rid: self.send_feedback(rid, "handoff", None, None))
        self.chat.image_clicked.connect(self.open_image)
        self.chat.play_clicked.connect(self.play_audio)

    def start(self) -> None:
        """Start the workers (after the window is visible): sessions first, then models.

        The engine starts once the store has opened (or failed to), so only one connection
        ever runs the database's migrations.
        """
        self.probe.start()
        self.store.start()
        self.refresh_sessions()
        self.store.run(lambda _store, _job: None, label="opening the store",
                       on_done=lambda _r: self.engine.start(),
                       on_error=lambda _m: self.engine.start())

    # --- status and errors -----------------------------------------------------------------
    def show_status(self, text: str) -> None:
        self.status_text.setText(text)

    def show_success(self, text: str) -> None:
        """Something the agent did went through: say so; an error banner about an earlier
        action goes (it would sit stale beside the success)."""
        self.banner.hide()
        self.status_text.setText(text)

    def show_error(self, message: str) -> None:
        if not message:
            return
        log.info("shown to the agent: %s", message)
        self.banner.say(message)
        self.status_text.setText(message)
        self.message_shown.emit(message)

    def _stalled(self, ms: float) -> None:
        log.warning("UI event loop stalled %.0f ms (queued: store %d, engine %d, speech %d)",
                    ms, self.store.pending, self.engine.pending, self.speech.pending)

    def _busy(self, busy: bool) -> None:
        self.progress.setVisible(busy or not self.engine.is_ready)

    def _engine_ready(self, _name: str) -> None:
        self._busy(self.engine.pending > 0)

        def describe(assistant, _job):
            labels = list(getattr(assistant, "labels", None) or
                          getattr(getattr(assistant, "model", None), "labels", []) or [])
            model = getattr(assistant, "model", None)
            device = str(getattr(model, "device", "") or getattr(assistant, "device", "")
                         or self.settings.device)
            return labels, device

        self.engine.run(describe, label="describing the model", on_done=self._described)

    def _described(self, result: tuple[list[str], str]) -> None:
        self.labels, self.device_in_use = result
        self.suggestion.set_labels(self.labels)
        self.device_label.setText(f"device: {self.device_in_use}")
        if self.suggestion.reply is None:  # else the answer's status stays (it is newer news)
            self.show_status(f"Ready: {len(self.labels)} intents, on {self.device_in_use}.")
        if self.preload is not None:  # after the turns typed while the text model loaded
            self.preload.start()

    # --- sessions ----------------------------------------------------------------------------
    def refresh_sessions(self, query: str | None = None, select: int | None = None) -> Job:
        query = self.sessions.query() if query is None else query
        return self.store.run(
            lambda store, _job: store.sessions(query or None),
            label="listing sessions",
            on_done=lambda rows: self.sessions.show_sessions(
                [row for row in rows if row["id"] not in self.hidden_sessions], select=select),
        )

    def new_session(
        self,
        then: Callable[[int], None] | None = None,
        on_error: Callable[[str], None] | None = None,
    ) -> Job:
        def done(session_id: int) -> None:
            self._switch_to(session_id)
            self.chat.clear()
            self.suggestion.clear()
            self.sessions.search.clear()
            self.refresh_sessions("", select=session_id)
            if callable(then):
                then(session_id)

        return self.store.run(lambda store, _job: store.new_session(), label="a new session",
                              on_done=done, on_error=on_error)

    def rename_session(self, session_id: int, title: str) -> None:
        self.store.run(lambda store, _job: store.rename_session(session_id, title),
                       label="renaming the session",
                       on_done=lambda _r: self.refresh_sessions(select=None))

    def _switch_to(self, session_id: int) -> None:
        """Make `session_id` the current session. The composer's unsent turn (text, screenshots,
        recording) stays with the session it was written in and comes back there, so nothing
        of one customer's conversation is ever sent in another's."""
        if session_id == self.session_id:
            return
        if self.composer.recording:  # its transcript goes to the session it was recorded in
            self.composer.stop_recording_ui()
            self.recorder.stop()
        if self.session_id is not None:
            left = self.composer.take_draft()
            if left:
                self._drafts[self.session_id] = left
        self.session_id = session_id
        kept = self._drafts.pop(session_id, None)
        if kept:
            self.composer.put_draft(kept)

    def give_back(self, session_id: int | None, draft: ComposerDraft) -> None:
        """Words (and their screenshots or recording) that belong to `session_id`: into the
        composer if that session is shown, else kept until the agent opens it again."""
        if session_id is None or session_id == self.session_id:
            self.composer.restore(draft.text, draft.images, draft.voice)
        else:
            self._drafts.setdefault(session_id, ComposerDraft()).add(draft)

    def open_session(self, session_id: int) -> Job:
        self._switch_to(session_id)
        return self.store.run(lambda store, _job: ops.load_session(store, session_id),
                              label="opening the session", on_done=self._show_session)

    def _show_session(self, view: ops.SessionView) -> None:
        if view.session_id != self.session_id:
            return  # the agent moved on meanwhile
        if self.hidden_turns:  # deleted, Undo still offered
            view.turns = [t for t in view.turns if t["id"] not in self.hidden_turns]
            if view.last_reply is not None and view.last_reply.turn_id in self.hidden_turns:
                view.last_reply = view.last_image = None
        self.chat.show_turns(view.turns, view.thumbs, self.sessions.query())
        if view.last_reply is not None:
            self.suggestion.show_reply(view.last_reply)
        else:
            self.suggestion.clear()
        self.why.show_graph(view.turns, view.last_reply)
        self.why.show_screenshot(view.last_image)
        self.session_shown.emit(view.session_id)

    # --- images and audio --------------------------------------------------------------------
    def paste(self) -> None:
        """Ctrl+V: into the field being edited, else a screenshot/text into the composer."""
        focus = QGuiApplication.focusObject()
        mine = isinstance(focus, (QLineEdit, QPlainTextEdit)) and self.isAncestorOf(focus)
        if mine and focus is not self.composer.edit:
            focus.paste()
        else:
            self.composer.paste_from_clipboard()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt name)
        """Gone from the screen at once; the threads finish what they hold (a model still
        loading in this process cannot be interrupted; the Assistant's process is ended)
        before the process ends."""
        self.flush_deletes()
        self.hide()
        self.probe.stop()
        self.recorder.stop()
        if self.preload is not None:
            self.preload.stop()
        if self.assistant_process is not None:  # its child ends now, a load in progress too
            self.assistant_process.close()
        for worker in (self.speech, self.engine, self.store):
            worker.stop()
        super().closeEvent(event)

