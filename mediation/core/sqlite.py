"""SQLite that never stops the server while it waits for a lock.

SQLite lets one writer at a time. Its own busy handler waits for the lock inside the C
library, where gevent cannot switch greenlets: in the web process (signaling/server.py) one
request or the embedded worker waiting for a lock held by another process froze every
request for up to the whole timeout (issue #19: the judge's "confirm" took ~35 s). So the
library is told not to wait at all (``timeout=0``), and the waiting happens here, in Python:
a statement that finds the database locked sleeps and tries again, and ``time.sleep`` is
gevent's sleep in the web process (other greenlets run meanwhile) and a thread's sleep
everywhere else. After ``busy_seconds`` the statement gives up with :class:`DatabaseBusy`,
which the request edge answers with "busy, please retry" (core/views.py).

WAL mode lets readers go on while one writer writes, so only writers ever wait.

Measured (``SELECT 1``, this 2-core machine under load, Dec 2026): a plain pysqlite statement
5 us, through this retrying cursor 9 us, handed to gevent's threadpool (the other way to keep
the C library's waits off the hub) 172 us; so the waiting happens here rather than every
statement going to a thread.

Retrying one statement is safe: pysqlite opens a transaction just before the first
data-changing statement (reads before it run outside any transaction), so the statement
that waits for the write lock holds no older snapshot. Should one ever hold one
(``SQLITE_BUSY_SNAPSHOT``: another writer committed since it read), no retry can help and
it fails at once with :class:`DatabaseBusy`.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from typing import Any, TypeVar

# Result codes (https://sqlite.org/rescode.html): the primary code is the low byte.
SQLITE_BUSY = 5
SQLITE_LOCKED = 6
SQLITE_BUSY_SNAPSHOT = 517

DEFAULT_BUSY_SECONDS = 15.0
FIRST_PAUSE = 0.002
LONGEST_PAUSE = 0.05  # short enough that a released lock is taken within ~50 ms

T = TypeVar("T")


class DatabaseBusy(sqlite3.OperationalError):
    """The database stayed locked by another writer for longer than the platform waits."""


def is_busy(error: BaseException) -> bool:
    """Whether ``error`` (a DB-API or SQLAlchemy error) is a lock that did not come free."""
    original = getattr(error, "orig", error)
    if isinstance(original, DatabaseBusy):
        return True
    code = getattr(original, "sqlite_errorcode", None)
    return (
        isinstance(original, sqlite3.OperationalError)
        and code is not None
        and (code & 0xFF in (SQLITE_BUSY, SQLITE_LOCKED))
    )


def _locked(error: sqlite3.OperationalError) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in (SQLITE_BUSY, SQLITE_LOCKED)


def retrying(busy_seconds: float, call: Callable[..., T], *args: Any) -> T:
    """``call(*args)``, tried again with growing pauses while the database is locked."""
    deadline = time.monotonic() + busy_seconds
    pause = FIRST_PAUSE
    while True:
        try:
            return call(*args)
        except DatabaseBusy:
            raise
        except sqlite3.OperationalError as error:
            if not _locked(error):
                raise
            if error.sqlite_errorcode == SQLITE_BUSY_SNAPSHOT or time.monotonic() >= deadline:
                raise DatabaseBusy(str(error)) from error
        time.sleep(pause)  # gevent's sleep in the web process: the server goes on
        pause = min(pause * 2, LONGEST_PAUSE)


class RetryingCursor(sqlite3.Cursor):
    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        return retrying(self.connection.busy_seconds, super().execute, sql, parameters)

    def executemany(self, sql: str, parameters: Any, /) -> sqlite3.Cursor:
        # A generator could not be read twice: a retry gets the same rows again.
        rows = list(parameters)
        return retrying(self.connection.busy_seconds, super().executemany, sql, rows)

    def executescript(self, script: str, /) -> sqlite3.Cursor:
        return retrying(self.connection.busy_seconds, super().executescript, script)


class RetryingConnection(sqlite3.Connection):
    """A pysqlite connection whose statements wait for locks in Python (see above)."""

    busy_seconds = DEFAULT_BUSY_SECONDS

    def cursor(self, factory: Any = RetryingCursor) -> Any:  # type: ignore[override]
        return super().cursor(factory)

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql: str, parameters: Any, /) -> sqlite3.Cursor:
        return self.cursor().executemany(sql, parameters)

    def commit(self) -> None:
        retrying(self.busy_seconds, super().commit)


def connection_factory(busy_seconds: float) -> type[RetryingConnection]:
    """A connection class that waits up to ``busy_seconds`` for a lock (one per app)."""
    return type("RetryingConnection", (RetryingConnection,), {"busy_seconds": busy_seconds})


def engine_options(options: dict[str, Any], busy_seconds: float) -> dict[str, Any]:
    """``SQLALCHEMY_ENGINE_OPTIONS`` for SQLite: no waiting in C, waiting in Python."""
    options = dict(options)
    connect_args = dict(options.get("connect_args") or {})
    connect_args.setdefault("timeout", 0)
    connect_args.setdefault("factory", connection_factory(busy_seconds))
    options["connect_args"] = connect_args
    return options


def prepare(connection: sqlite3.Connection) -> None:
    """Per connection: foreign keys (SQLite ignores them unless asked) and WAL (kept in the
    file once set; an in-memory database stays in its own mode)."""
    cursor = connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
    finally:
        cursor.close()
