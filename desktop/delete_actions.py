"""Deleting a turn or a session, with Undo: a mixin of `desktop.main_window.MainWindow`.

What the agent deletes leaves the screen at once and the store when the Undo offer ends (after
`UNDO_SECONDS`, at the next deletion, before an export or training, or on closing the window),
so Undo needs no copy of the data. The store removes the rows with everything they hold
(foreign keys cascade, the search index follows by trigger), so nothing deleted is exported.
The deletion runs on the thread that writes the conversation, so a reply being drafted in that
session never reads a turn the agent already removed.
"""

from __future__ import annotations

from typing import Any

from desktop import ops


class DeleteActions:
    """`delete_turn(id)`, `delete_session(id)`, `undo_delete()`, `flush_deletes()`."""

    session_id: int | None
    hidden_turns: set[int]
    hidden_sessions: set[int]
    _pending_delete: tuple[str, int] | None
    _drafts: dict[int, Any]
    undo_bar: Any
    composer: Any
    chat: Any
    suggestion: Any
    show_status: Any  # MainWindow's
    show_error: Any
    open_session: Any
    refresh_sessions: Any
    _conversation_writer: Any

    def delete_turn(self, turn_id: int) -> None:
        self.flush_deletes()
        self._pending_delete = ("turn", turn_id)
        self.hidden_turns.add(turn_id)
        if self.session_id is not None:
            self.open_session(self.session_id)
        self.undo_bar.offer("The turn was deleted.")

    def delete_session(self, session_id: int) -> None:
        self.flush_deletes()
        self._pending_delete = ("session", session_id)
        self.hidden_sessions.add(session_id)
        if session_id == self.session_id:  # its unsent turn goes (or comes back) with it
            left = self.composer.take_draft()
            if left:
                self._drafts[session_id] = left
            self.session_id = None
            self.chat.clear()
            self.suggestion.clear()
        self.refresh_sessions()
        self.undo_bar.offer("The session was deleted.")

    def undo_delete(self) -> None:
        pending, self._pending_delete = self._pending_delete, None
        if pending is None:
            return
        kind, ident = pending
        if kind == "turn":
            self.hidden_turns.discard(ident)
            if self.session_id is not None:
                self.open_session(self.session_id)
        else:
            self.hidden_sessions.discard(ident)
            self.refresh_sessions()
        self.show_status("Deletion undone.")

    def flush_deletes(self) -> None:
        """Carry out the deletion the Undo offer was holding (if any)."""
        self.undo_bar.finish()  # its `expired` lands in _delete_now

    def _delete_now(self) -> None:
        pending, self._pending_delete = self._pending_delete, None
        if pending is None:
            return
        kind, ident = pending

        def gone(_result: Any) -> None:
            (self.hidden_turns if kind == "turn" else self.hidden_sessions).discard(ident)
            if kind == "session":
                self._drafts.pop(ident, None)

        def op(owner: Any, _job: Any) -> None:
            store = ops.store_of(owner)
            (store.delete_turn if kind == "turn" else store.delete_session)(ident)

        self._conversation_writer().run(op, label=f"deleting the {kind}", on_done=gone)
