"""How the store writes: one transaction at a time, the write lock taken up front.

`StoreTransactions` is the transaction half of `engine.store.database.Store`, kept apart so each
file stays small: a write waits for another process's writer in short steps (not SQLite's 100 ms
sleeps), nests as a savepoint, never touches a damaged or read-only file, and a large import goes
in batches that let an agent's turn in between.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from sqlite_utils import Database

from engine.store import file as store_file
from engine.store.errors import store_error

# write_in_batches: records per transaction and the pause after each (see bench/store.py:
# 500 import records hold the lock 70 ms (p50) here; a waiting writer tries every 5 ms)
WRITE_BATCH = 500
BATCH_PAUSE_S = 0.01
T = TypeVar("T")
S = TypeVar("S", bound="StoreTransactions")


class StoreTransactions:
    """Write transactions and batches over the Store's connection, under the Store's lock."""

    db: Database
    path: Path
    timeout: float
    read_only: bool
    _conn: sqlite3.Connection
    _lock: threading.RLock
    _check: store_file.IntegrityCheck

    @contextmanager
    def batch(self: S, *, write: bool = True) -> Iterator[S]:
        """Group several writes into one transaction (all or nothing, one fsync); with
        `write=False`, several reads into one consistent snapshot that blocks no writer."""
        with self._lock:
            try:
                with self._writing() if write else self.db.atomic():
                    yield self
            except sqlite3.Error as err:
                raise store_error(err, self.path) from err

    def write_in_batches(
        self,
        items: Sequence[T],
        write: Callable[[Sequence[T]], None],
        *,
        size: int = WRITE_BATCH,
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        """Write `items` a batch at a time: `write` gets each batch inside its own transaction.

        A large import then holds the write lock ~0.1 s at a time instead of for its whole
        length, and pauses between batches, so another process's writer (an agent's turn,
        which waits up to the busy timeout for the lock) gets in. A run cut short keeps the
        batches written so far.
        """
        total = len(items)
        for start in range(0, total, size):
            with self.batch():
                write(items[start:start + size])
            if progress:
                progress(min(start + size, total), total)
            if start + size < total:
                time.sleep(BATCH_PAUSE_S)

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """A write transaction that takes the write lock up front (BEGIN IMMEDIATE): a deferred
        one that read first could fail at once, without waiting, when another process wrote
        in between. Nested inside a transaction it is a savepoint."""
        if self.read_only:
            raise store_file.read_only_error(self.path)
        self._check.require_sound()  # never write to a damaged file
        if self._conn.in_transaction:
            with self.db.atomic():
                yield
            return
        self._begin_immediate()
        try:
            yield
        except BaseException:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise
        try:
            self._conn.execute("COMMIT")
        except BaseException:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise

    def _begin_immediate(self) -> None:
        """BEGIN IMMEDIATE, tried every few ms until the busy timeout runs out. SQLite's own
        busy handler sleeps 100 ms between tries and so mostly misses the short gaps a batched
        import leaves between its transactions (`write_in_batches`)."""
        deadline = time.monotonic() + self.timeout
        self._conn.execute("PRAGMA busy_timeout = 5")
        try:
            while True:
                try:
                    self._conn.execute("BEGIN IMMEDIATE")
                    return
                except sqlite3.OperationalError as err:
                    if "locked" not in str(err) or time.monotonic() >= deadline:
                        raise
        finally:
            self._conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
