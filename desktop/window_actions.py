"""The main window's voice and dialog actions, kept beside it so each file stays small.

`VoiceActions` (microphone, audio files, playback) and `DialogActions` (Export, Train,
Settings, About, logs) are mixins of `desktop.main_window.MainWindow`: they use its workers
(`store`, `engine`, `recorder`), its widgets and its `show_status` / `show_error`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from desktop import ops
from desktop.dialogs.image import ImageDialog
from desktop.engine_worker import Job
from desktop.settings import DesktopSettings
from desktop.widgets.composer import ComposerDraft


class VoiceActions:
    """The microphone, dropped audio files and playing a recording back."""

    home: Path
    composer: Any
    recorder: Any
    store: Any
    _sd_module: Any
    session_id: int | None
    _voice_session: int | None
    _transcribe_job: Job | None
    task: Any  # the status bar's TaskProgress
    show_status: Any  # MainWindow's
    show_success: Any
    show_error: Any
    give_back: Any

    def play_audio(self, attachment_id: int) -> None:
        cache = self.home / "cache"
        sd_module = self._sd_module
        self.store.run(
            lambda store, _job: ops.play_audio(store, attachment_id, cache, sd_module),
            label="playing the recording",
            on_done=lambda seconds: self.show_status(f"Playing {seconds:.1f} s of audio."),
        )

    def toggle_mic(self) -> None:
        self.composer.toggle_mic()

    def _mic_on(self) -> None:
        self._voice_session = self.session_id
        if not self.recorder.start():
            self.composer.stop_recording_ui()

    def _voice_partial(self, text: str) -> None:
        """Live words go to the composer only while it shows the session being recorded."""
        if self._voice_session == self.session_id:
            self.composer.show_transcript(text)

    def _deliver_voice(self, session_id: int | None, text: str, audio: Path | None) -> bool:
        """A finished transcript and its recording, for the session it was made in; True when
        that session is the one shown (else it waits with that session's unsent turn)."""
        if session_id is not None and session_id != self.session_id:
            self.give_back(session_id, ComposerDraft(text, [], audio))
            return False
        self.composer.show_transcript(text)
        self.composer.set_voice(audio)
        return True

    def _voice_done(self, text: str, wav: Path | None) -> None:
        if self._deliver_voice(self._voice_session, text, wav):
            self.show_success("Transcript ready: check it and press Enter to send.")
        else:
            self.show_status("The transcript waits in the session it was recorded in.")

    def transcribe_file(self, path: Path) -> Job:
        """Transcribe a dropped file on the speech thread; its own line in the status bar shows
        how much of the audio is done and that Esc cancels (nothing else writes there)."""
        self.task.begin(f"Transcribing {path.name}", "Esc cancels")
        self.composer.mark_voice_start()
        session_id = self.session_id
        job = self._transcribe_job = self.recorder.transcribe_file(
            path,
            on_done=lambda text: self._file_transcribed(job, session_id, path, text),
            on_error=lambda message: self._file_failed(job, message),
            on_progress=lambda done, total: self._file_progress(job, done, total),
        )
        return job

    def _settle(self, job: Job) -> bool:
        """True if `job` is still the transcription the agent waits for (Esc did not settle it
        already, no newer drop replaced it): it ends now and its line leaves the status bar."""
        if self._transcribe_job is not job:
            return False
        self._transcribe_job = None
        self.task.end()
        return True

    def _file_transcribed(self, job: Job, session_id: int | None, path: Path, text: str) -> None:
        if job.cancelled or not self._settle(job):  # Esc came first: the agent said no
            return
        if self._deliver_voice(session_id, text, path):
            self.show_success(f"Transcribed {path.name}: check it and press Enter to send.")
        else:
            self.show_status(f"The transcript of {path.name} waits in the session it "
                             "was dropped in.")

    def _file_failed(self, job: Job, message: str) -> None:
        if self._settle(job):  # else the agent pressed Esc or dropped another file meanwhile
            self.show_error(message)

    def _file_progress(self, job: Job, done: int, total: int) -> None:
        if self._transcribe_job is job and total:
            self.task.set_fraction(done / total)

    def cancel_transcription(self) -> None:
        """Esc: the agent is free at once (nothing of the file will be added); the speech
        thread stops at its next decoded segment."""
        job, self._transcribe_job = self._transcribe_job, None
        if job is None:
            return
        job.cancel()
        self.task.end()
        what = job.label[:1].upper() + job.label[1:]
        self.show_success(f"{what} was cancelled; nothing was added.")


class DialogActions:
    """The dialogs the menus open; each opener returns the dialog (tests drive it)."""

    home: Path
    store: Any
    engine: Any
    recorder: Any
    settings: DesktopSettings
    session_id: int | None
    device_in_use: str
    probe: Any
    _sd_module: Any
    flush_deletes: Any  # DeleteActions'
    show_status: Any  # MainWindow's

    def open_export(self):
        from desktop.dialogs.export import ExportDialog

        self.flush_deletes()  # what the agent deleted is not exported
        dialog = ExportDialog(self.store, Path.home(), self.session_id, self)
        dialog.show()
        return dialog

    def open_train(self):
        from desktop.dialogs.train import TrainDialog

        self.flush_deletes()  # nor trained on
        dialog = TrainDialog(self.engine, self.home, self)
        dialog.show()
        return dialog

    def open_settings(self):
        from desktop.dialogs.settings import SettingsDialog

        dialog = SettingsDialog(self.settings, self.home, self.device_in_use, self,
                                sd_module=self._sd_module)
        dialog.accepted.connect(lambda: self._settings_saved(dialog.settings))
        dialog.show()
        return dialog

    def _settings_saved(self, settings: DesktopSettings) -> None:
        self.settings = settings
        self.recorder.set_device(settings.microphone or None)
        self.show_status("Settings saved; model and device changes apply at the next start.")

    def open_about(self):
        from desktop.dialogs.about import AboutDialog

        dialog = AboutDialog(self.device_in_use, self.home, self, self.probe.longest_ms)
        dialog.show()
        return dialog

    def open_logs(self):
        from desktop.dialogs.about import LogDialog

        dialog = LogDialog(self.home / "logs" / "frontdesk.log", self)
        dialog.show()
        return dialog

    def open_image(self, attachment_id: int) -> None:
        self.store.run(lambda store, _job: ops.full_image(store, attachment_id),
                       label="opening the screenshot",
                       on_done=lambda image: ImageDialog(image, self).show())
