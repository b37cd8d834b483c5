"""The one timestamp shape of the app's files: UTC, ISO-8601, milliseconds (sortable as text)."""

from datetime import datetime, timezone


def now_iso() -> str:
    """UTC time as sortable ISO-8601 text (all timestamps in the file share this shape)."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")
