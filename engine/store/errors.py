"""SQLite and file-system failures of the store, each as one sentence a user can act on."""

from __future__ import annotations

import functools
import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from engine.errors import StoreError
from engine.store import file as store_file

log = logging.getLogger("engine.store.database")

F = TypeVar("F", bound=Callable[..., Any])


def store_error(err: BaseException, path: Path) -> StoreError:
    """Turn a sqlite3/OS failure into one sentence a user can act on."""
    text = str(err).lower()
    if "locked" in text or "busy" in text:
        message = (
            f"The database {path} is in use by another program; close it and try again."
        )
    elif "full" in text or getattr(err, "errno", None) == 28:
        message = f"The disk holding {path} is full; free some space and try again."
    elif "not a database" in text or "malformed" in text or "corrupt" in text:
        message = (
            f"The file {path} is damaged or is not a Frontdesk database; "
            "move it aside and Frontdesk will start a new one."
        )
    elif (
        "readonly" in text
        or "read-only" in text
        or "unable to open" in text
        or "permission" in text
        or isinstance(err, OSError)
    ):
        message = (
            f"Frontdesk cannot write its database at {path}; "
            "check that the folder exists and that you may write to it."
        )
    else:
        message = f"The database {path} could not be used ({str(err).rstrip('.')})."
    return StoreError(message)


def guarded(method: F) -> F:
    """Serialize access across threads and report SQLite failures as one StoreError sentence."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            check = getattr(self, "_check", None)  # the quick_check begun at open
            if check is not None and check.damaged():
                raise store_file.damaged_error(self.path)
            try:
                return method(self, *args, **kwargs)
            except sqlite3.Error as err:
                log.debug("store failure", exc_info=True)
                raise store_error(err, self.path) from err

    return wrapper  # type: ignore[return-value]
