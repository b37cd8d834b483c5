"""Opening a store file: private permissions, refusing other programs' files, migrations
with a backup of the old file, and the desk's id."""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
import threading
from pathlib import Path

from engine.errors import StoreError
from engine.store.schema import LATEST_VERSION, apply_migrations, current_version

log = logging.getLogger("engine.store.database")


def is_read_only(path: Path) -> bool:
    """An existing file its owner made read-only (chmod 0444), or one this user may not write:
    the store then opens it read-only instead of changing its permissions. The mode bit is
    read as well as access(2) because root may write any file."""
    try:
        mode = path.stat().st_mode
    except OSError:  # missing (a new store) or unreachable (reported when SQLite opens it)
        return False
    return not mode & stat.S_IWUSR or not os.access(path, os.W_OK)


def create_private_file(path: Path) -> None:
    """The database file, readable by its owner only (0600), made before SQLite opens it.
    A file the user made read-only keeps its permissions (see `is_read_only`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    elif path.stat().st_mode & 0o077 and not is_read_only(path):
        os.chmod(path, 0o600)


def connect(path: Path, *, read_only: bool, timeout: float) -> sqlite3.Connection:
    """A connection to the file; `mode=ro` for a read-only file, so SQLite itself refuses
    every write (reads, search and export still work)."""
    if read_only:
        uri = f"{path.resolve().as_uri()}?mode=ro"
        return sqlite3.connect(uri, uri=True, timeout=timeout, check_same_thread=False)
    return sqlite3.connect(str(path), timeout=timeout, check_same_thread=False)


def read_only_error(path: Path) -> StoreError:
    """The one sentence for a write to a store opened read-only."""
    return StoreError(
        f"The database {path} is read-only (its file permissions), so nothing was saved; "
        f"make it writable (chmod u+w) to add to it."
    )


def restrict_side_files(path: Path) -> None:
    """The -wal and -shm files as private as the database."""
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists() and side.stat().st_mode & 0o077:
            try:
                os.chmod(side, 0o600)
            except OSError:  # another user's -shm: SQLite still works, so do not fail
                log.warning("cannot restrict permissions of %s", side)


def check_is_ours(conn: sqlite3.Connection, path: Path) -> None:
    """Refuse SQLite files of other programs rather than adding tables to them."""
    names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    if names and "schema_migrations" not in names:
        raise StoreError(
            f"The file {path} is a database of another program, not Frontdesk's; "
            "choose another data folder."
        )


def migrate(conn: sqlite3.Connection, path: Path, *, read_only: bool = False) -> None:
    """Bring the file to the latest schema (backing up the old one); refuse a newer file,
    and an older one that is read-only (it cannot be upgraded in place)."""
    version = current_version(conn)
    if version > LATEST_VERSION:
        raise StoreError(
            f"The database {path} was written by a newer Frontdesk "
            f"(schema {version}, this one knows {LATEST_VERSION}); update Frontdesk to open it."
        )
    if version < LATEST_VERSION and read_only:
        raise StoreError(
            f"The database {path} is read-only and needs an upgrade to schema {LATEST_VERSION}; "
            "make it writable (chmod u+w) once so Frontdesk can upgrade it."
        )
    if version < LATEST_VERSION:
        log.info("migrating %s from schema %d to %d", path, version, LATEST_VERSION)
        if version > 0:
            backup(conn, path.with_name(f"{path.name}.schema{version}.bak"))
        apply_migrations(conn)


def backup(conn: sqlite3.Connection, target: Path) -> None:
    """A private copy of the file as it was before an upgrade (SQLite's online backup)."""
    if target.exists():
        return
    os.close(os.open(target, os.O_CREAT | os.O_WRONLY, 0o600))
    copy = sqlite3.connect(target)
    try:
        conn.backup(copy)
    finally:
        copy.close()


def damaged_error(path: Path) -> StoreError:
    """The one sentence for a file with damaged pages: how to get its contents back."""
    recovered = path.with_name("recovered.db")
    return StoreError(
        f"The database {path} is damaged, so Frontdesk will not write to it; recover what it "
        f"holds with the sqlite3 shell (`sqlite3 {path} .recover | sqlite3 {recovered}`, then "
        f"use that file as {path.name}) or put back a backup copy."
    )


CHECK_ATTEMPTS = 3  # quick_check runs again when it could not finish


class IntegrityCheck:
    """SQLite's `PRAGMA quick_check` of a store file, on its own read-only connection and thread.

    quick_check reads every page: 0.3-0.4 s for a 100k-turn (53 MB) store here, more with many
    screenshots. So the store waits for it only briefly at open; a bigger file goes on being
    checked while the store is read, and the first write waits for the verdict, so nothing is
    ever written to a damaged file.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.problem: str | None = None
        self._conn: sqlite3.Connection | None = None
        self._guard = threading.Lock()
        self._stopped = False
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="store-quick-check", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            # A check that another connection's start-up (e.g. switching to WAL) kept from
            # finishing is tried again, so a damaged file is not taken as sound by chance.
            for _attempt in range(CHECK_ATTEMPTS):
                if self._check_once():
                    break
        finally:
            self._done.set()
            if self.problem:
                log.warning("quick_check of %s: %s", self.path, self.problem)

    def _check_once(self) -> bool:
        """One quick_check; True when it reached a verdict (or the store is closing)."""
        try:
            with self._guard:
                if self._stopped:
                    return True
                self._conn = connect(self.path, read_only=True, timeout=5.0)
            rows = self._conn.execute("PRAGMA quick_check(10)").fetchall()
            if rows != [("ok",)]:
                self.problem = " / ".join(str(row[0]) for row in rows)
            return True
        except sqlite3.DatabaseError as err:
            text = str(err).lower()
            if "malformed" in text or "corrupt" in text or "not a database" in text:
                self.problem = str(err)
                return True
            # interrupted at close, or the file could not be read just now
            log.debug("quick_check of %s did not finish: %s", self.path, err)
            return self._stopped
        finally:
            with self._guard:
                if self._conn is not None:
                    self._conn.close()
                    self._conn = None

    def wait(self, timeout: float | None = None) -> bool:
        """True once the check is over (within `timeout` seconds)."""
        return self._done.wait(timeout)

    def damaged(self) -> bool:
        """The verdict so far, without waiting: True only once damage was found."""
        return self._done.is_set() and self.problem is not None

    def require_sound(self) -> None:
        """Wait for the verdict; StoreError (how to recover) if the file is damaged."""
        self._done.wait()
        if self.problem is not None:
            raise damaged_error(self.path)

    def stop(self) -> None:
        """End the check early (the store is closing) and wait for its thread."""
        with self._guard:
            self._stopped = True
            if self._conn is not None:
                self._conn.interrupt()
        self._thread.join()
