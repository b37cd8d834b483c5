"""Opening a store file: private permissions, refusing other programs' files, migrations
with a backup of the old file, and the desk's id."""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path

from engine.errors import StoreError
from engine.store_schema import LATEST_VERSION, apply_migrations, current_version

log = logging.getLogger("engine.store")


def create_private_file(path: Path) -> None:
    """The database file, readable by its owner only (0600), made before SQLite opens it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    elif path.stat().st_mode & 0o077:
        os.chmod(path, 0o600)


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


def migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Bring the file to the latest schema (backing up the old one); refuse a newer file."""
    version = current_version(conn)
    if version > LATEST_VERSION:
        raise StoreError(
            f"The database {path} was written by a newer Frontdesk "
            f"(schema {version}, this one knows {LATEST_VERSION}); update Frontdesk to open it."
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
