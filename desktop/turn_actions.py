"""Sending a turn and what follows it: a mixin of `desktop.main_window.MainWindow`.

A turn from the composer goes through named steps, each a method taking the `PendingTurn`:

    submit ─ no session yet? ─> a new session, then submit again (fresh)
       │ shown greyed in the chat
       ├─ customer: the engine stores and answers it ─> `_answered`
       └─ agent: the conversation's writer stores it ─> `_stored`
    refused or failed ─> `_not_sent`: with no model at all, the words are still stored
       without a reply (`_saved_unanswered`); otherwise, or if that fails too,
       `_hand_back` puts them back in the composer of their session.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from desktop import ops
from desktop.engine_worker import EngineWorker, Job
from desktop.widgets.composer import ComposerDraft
from engine.types import Reply, Turn


@dataclass
class PendingTurn:
    """One turn between Enter and its outcome: where it belongs, what the chat shows for it
    meanwhile, and the words (with screenshots, recording) to give back if it is not stored."""

    session_id: int
    turn: Turn
    draft: ComposerDraft
    fresh: bool  # the session was made for this turn: it goes again if the turn cannot be stored
    shown: dict[str, Any]  # the chat's greyed bubble (dropped by identity)
    sent_at: float = field(default_factory=time.monotonic)

    @classmethod
    def of(cls, session_id: int, draft: ComposerDraft, role: str, images: list[Path],
           fresh: bool) -> PendingTurn:
        source = "voice" if draft.voice else ("image" if images and not draft.text else "typed")
        turn = Turn(text=draft.text, role=role, source=source, images=list(images),
                    audio=draft.voice)
        shown = {"role": role, "text": draft.text, "source": source, "pending_images": images}
        return cls(session_id, turn, draft, fresh, shown)

    @property
    def stored(self) -> bool:
        return self.turn.id is not None


class TurnActions:
    """`submit(text, role, images, audio)`, "Use", re-drafting and feedback."""

    session_id: int | None
    store: EngineWorker
    engine: EngineWorker
    chat: Any
    composer: Any
    suggestion: Any
    tabs: Any
    reply_shown: Any  # MainWindow's signals and methods
    flush_deletes: Any
    new_session: Any
    open_session: Any
    refresh_sessions: Any
    give_back: Any
    show_status: Any
    show_success: Any
    show_error: Any

    def submit(self, text: str, role: str, images: list[Path], audio: Path | None = None,
               *, fresh: bool = False) -> None:
        """A turn from the composer: shown at once, stored and answered by the engine thread.
        `audio` is the recording the text was transcribed from (None: typed); `fresh`: the
        session was made for this turn, and goes again if the turn cannot be stored."""
        self.flush_deletes()  # a new action: the Undo offer ends, the turn being answered
        if self.session_id is None:  # never reads what the agent deleted
            self.new_session(then=lambda _sid: self.submit(text, role, images, audio, fresh=True),
                             on_error=lambda message: self._no_session(text, images, audio,
                                                                       message))
            return
        pending = PendingTurn.of(self.session_id, ComposerDraft(text, list(images), audio), role,
                                 images, fresh)
        self.chat.add_pending(pending.shown)
        session_id, turn = pending.session_id, pending.turn
        if role == "customer":
            self.engine.run(lambda assistant, _job: ops.respond(assistant, session_id, turn),
                            label="answering the message",
                            on_done=lambda reply: self._answered(pending, reply),
                            on_error=lambda message: self._not_sent(pending, message))
        else:
            self._conversation_writer().run(
                lambda owner, _job: ops.add_turn(owner, session_id, turn),
                label="saving the agent's message", on_done=lambda _id: self._stored(pending),
                on_error=lambda message: self._not_sent(pending, message),
            )

    def _no_session(self, text: str, images: list[Path], audio: Path | None,
                    message: str) -> None:
        """No session could be made for the turn: it goes back into the composer."""
        self.composer.restore(text, images, audio)
        self.show_error(message)

    def _answered(self, pending: PendingTurn, reply: Reply) -> None:
        self.chat.drop_pending(pending.shown)
        self.suggestion.show_reply(reply)
        self.tabs.setCurrentWidget(self.suggestion)
        self.show_success(answered_in(reply, time.monotonic() - pending.sent_at))
        self.reply_shown.emit(reply)
        self._reopen_if_shown(pending.session_id)
        self.refresh_sessions()

    def _stored(self, pending: PendingTurn) -> None:
        self.chat.drop_pending(pending.shown)
        self.show_success("Your message is in the conversation.")
        self._reopen_if_shown(pending.session_id)

    def _not_sent(self, pending: PendingTurn, message: str) -> None:
        if not pending.stored and self._engine_failed():
            # no model: keep the words in the session anyway (a customer turn without reply)
            session_id, turn = pending.session_id, pending.turn
            self.store.run(lambda store, _job: ops.add_turn(store, session_id, turn),
                           label="saving the message",
                           on_done=lambda _id: self._saved_unanswered(pending, message),
                           on_error=lambda again: self._hand_back(pending, again))
            return
        self._hand_back(pending, message)

    def _saved_unanswered(self, pending: PendingTurn, message: str) -> None:
        self.chat.drop_pending(pending.shown)
        if pending.turn.role == "customer":
            self.show_error(f"{message} The message was saved without a suggestion.")
        self._reopen_if_shown(pending.session_id)

    def _hand_back(self, pending: PendingTurn, message: str) -> None:
        self.chat.drop_pending(pending.shown)
        if not pending.stored:  # back to the agent, in the session it was meant for
            self.give_back(pending.session_id, pending.draft)
            if pending.fresh:  # a refused recording, a full disk: leave no empty session behind
                self._discard_empty_session(pending.session_id)
        self.show_error(message)
        if pending.stored:
            self._reopen_if_shown(pending.session_id)

    def _reopen_if_shown(self, session_id: int) -> None:
        """Redraw the session from the store if the agent still has it open."""
        if session_id == self.session_id:
            self.open_session(session_id)

    def _discard_empty_session(self, session_id: int) -> None:
        if self.session_id == session_id:
            self.session_id = None  # the next turn starts a session again
        self.store.run(lambda store, _job: store.discard_empty_session(session_id),
                       label="removing the empty session",
                       on_done=lambda _removed: self.refresh_sessions())

    def _engine_failed(self) -> bool:
        return self.engine.load_error is not None

    def _conversation_writer(self) -> EngineWorker:
        """The engine writes turns (keeps their order); the store does if the engine failed."""
        return self.store if self._engine_failed() else self.engine

    def use_answer(self, reply_id: int, text: str) -> None:
        """"Use": the draft becomes the agent's turn (it is already on the clipboard)."""
        self.submit(text, "agent", [])

    def redraft(self, reply_id: int, turn_id: int, intent: str) -> Job:
        """After a correction: the knowledge base's draft for the corrected intent."""
        session_id = self.session_id
        return self.engine.run(
            lambda assistant, _job: assistant.redraft(session_id, turn_id, intent),
            label="rewriting the draft",
            on_done=lambda found: self.suggestion.show_redraft(reply_id, intent, *found),
        )

    def send_feedback(self, reply_id: int, action: str, corrected, final_answer) -> Job:
        def op(store, _job):
            return store.add_feedback(reply_id, action, corrected_intent=corrected,
                                      final_answer=final_answer)

        return self.store.run(op, label="saving your feedback",
                              on_done=lambda _fid: self.show_status(f"Feedback saved ({action})."))


def answered_in(reply: Reply, waited_s: float) -> str:
    """The status after a reply: the time the agent waited since Enter, and, when most of it
    was spent waiting for the models to load or for earlier turns, the model's own share."""
    said = f"{reply.intent.replace('_', ' ')} ({reply.level}), answered in {waited_s:.1f} s"
    if waited_s * 1000 > reply.latency_ms + 1000:
        said += f" ({reply.latency_ms / 1000:.1f} s of it answering, the rest waiting)"
    return said + "."
