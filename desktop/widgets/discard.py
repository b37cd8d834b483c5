"""Removing a widget from the screen at once, not at the next turn of the event loop."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget


def discard(widget: QWidget | None) -> None:
    """Hide and detach now, delete later: a widget taken out of a layout otherwise stays
    painted at its old (or default 640x480) place until Qt gets round to deleting it."""
    if widget is None:
        return
    widget.hide()
    widget.setParent(None)
    widget.deleteLater()
