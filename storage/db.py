"""The store's SQLite connection: WAL, durability pragmas, transactions and error translation."""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from storage.exc import StoreCorruptError, StoreError, StoreFullError

logger = logging.getLogger(__name__)

SQLITE_CORRUPT = 11
SQLITE_FULL = 13
SQLITE_NOTADB = 26
SYNCHRONOUS = ("FULL", "NORMAL", "EXTRA")


def translate(exc: sqlite3.Error, where: str) -> StoreError | sqlite3.Error:
    """Map SQLite's full-disk and corruption errors to clear store errors."""
    code = getattr(exc, "sqlite_errorcode", None)
    text = str(exc)
    if code == SQLITE_FULL or "disk is full" in text:
        return StoreFullError(f"{where}: the store's disk is full ({text}); the write was rolled "
                              "back and nothing stored earlier was lost. Free space or lower "
                              "storage.budget_mb.")
    if code in (SQLITE_CORRUPT, SQLITE_NOTADB) or "malformed" in text or "not a database" in text:
        return StoreCorruptError(f"{where}: the store database is damaged or not a store "
                                 f"({text}). Keep the file for analysis; do not delete it.")
    return exc


def connect(path: str | os.PathLike | sqlite3.Connection,
            synchronous: str = "FULL") -> sqlite3.Connection:
    """Open (or adopt) a connection in autocommit mode with WAL and the requested durability.

    synchronous=FULL fsyncs the WAL at every commit, so a committed read survives a power cut.
    NORMAL (with WAL) survives a crash of the process but may lose the last commits on power loss.
    """
    if synchronous.upper() not in SYNCHRONOUS:
        raise ValueError(f"synchronous must be one of {SYNCHRONOUS}, not {synchronous!r}")
    if isinstance(path, sqlite3.Connection):
        conn = path
        conn.isolation_level = None
    else:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(os.fspath(path), isolation_level=None, check_same_thread=False,
                               timeout=30)
    try:
        # New files get 4 KiB pages (the flash and OS page size): reads are committed in groups
        # (add_reads / GroupWriter), so a commit writes many pages and 20 KB crops span 5
        # overflow pages instead of 20. Existing files keep the page size they were made with.
        conn.execute("PRAGMA page_size=4096")
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        conn.execute(f"PRAGMA synchronous={synchronous.upper()}")
        conn.execute("PRAGMA foreign_keys=OFF")
        conn.execute("PRAGMA temp_store=MEMORY")  # no plaintext spills to temp files
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise translate(exc, f"opening {path}") from exc
    if mode.lower() != "wal" and not str(path) == ":memory:":
        logger.warning("store %s is not in WAL mode (%s)", path, mode)
    return conn


class Database:
    """One connection shared by the daemon's threads, serialised by a lock."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.db = sqlite_utils.Database(conn)
        self.lock = threading.RLock()
        self.on_rollback: list[Callable[[], None]] = []

    @contextmanager
    def tx(self, where: str) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT; on any error roll back and translate SQLite errors."""
        with self.lock:
            nested = self.conn.in_transaction
            try:
                if not nested:
                    self.conn.execute("BEGIN IMMEDIATE")
                yield self.conn
                if not nested:
                    self.conn.execute("COMMIT")
            except BaseException as exc:
                if not nested:
                    self._rollback()
                if isinstance(exc, sqlite3.Error):
                    raise translate(exc, where) from exc
                raise

    def _rollback(self) -> None:
        try:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
        except sqlite3.Error:
            logger.exception("rollback failed")
        for hook in self.on_rollback:
            hook()

    @contextmanager
    def reading(self, where: str) -> Iterator[sqlite3.Connection]:
        with self.lock:
            try:
                yield self.conn
            except sqlite3.Error as exc:
                raise translate(exc, where) from exc

    def counter(self, name: str) -> int:
        return self.conn.execute("SELECT value FROM counters WHERE name=?", (name,)).fetchone()[0]

    def bump(self, name: str, delta: int) -> None:
        self.conn.execute("UPDATE counters SET value = value + ? WHERE name=?", (delta, name))
