"""Column types and helpers shared by the models of every feature."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, event
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.types import TypeDecorator

from .sqlite import prepare


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes, stored as naive UTC.

    SQLite keeps no time zone, PostgreSQL's ``timestamptz`` would convert on the
    session's zone; storing naive UTC gives the same values back on both. Conversion to
    the viewer's zone happens only when rendering.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> Any:
        return None if value is None else value.replace(tzinfo=UTC)


@event.listens_for(Engine, "connect")
def _prepare_sqlite(dbapi_connection: Any, _record: Any) -> None:
    """Foreign keys and WAL for each SQLite connection (core/sqlite.py); PostgreSQL always
    checks foreign keys and lets readers and writers work side by side."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        prepare(dbapi_connection)


def is_unreachable(error: BaseException) -> bool:
    """Whether ``error`` is the database being away (restarted, failing over, unreachable)
    rather than a fault of the request: the transaction it broke was rolled back by the
    server, nothing of it was written, and the same request sent again a moment later
    succeeds (the pool checks connections before use: ``pool_pre_ping``)."""
    if getattr(error, "connection_invalidated", False):
        return True
    original = getattr(error, "orig", error)
    try:
        import psycopg
    except ImportError:  # pragma: no cover - SQLite-only installations
        return False
    if not isinstance(original, psycopg.OperationalError):
        return False
    # 08: connection exceptions; 57P01-03: the server is shutting down, crashed, or not yet
    # accepting connections. No SQLSTATE at all is "unreachable" only where no statement
    # was sent (connecting failed): psycopg also raises it for faults of the client's own
    # making ("another command is already in progress", too many parameters), which are
    # bugs to be logged as such, not "busy, try again".
    state = getattr(original, "sqlstate", None)
    if state is None:
        return getattr(error, "statement", None) is None
    return state.startswith(("08", "57P"))
