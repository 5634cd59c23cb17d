"""Taking turns in the database: a row's write lock taken before a step reads what it decides
on, and a named turn across processes. A request sent twice (a double tap, a phone retrying
a POST, two tabs) or a worker on every machine then finds what the other one did."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text, update
from sqlalchemy.orm import InstrumentedAttribute

from mediation.extensions import db


def lock_rows(column: InstrumentedAttribute, value: Any) -> None:
    """The write lock of the rows where ``column == value``, until the transaction ends, by
    an UPDATE that sets ``column`` to itself: on PostgreSQL those rows' lock (a key set to
    the same value takes no key lock), on SQLite the database's write lock, which a write
    takes even when no row matches (pysqlite opens the transaction at the first write, so
    no older snapshot is held). Read what the step decides on after it (``expire_all`` or
    ``refresh`` what was loaded before)."""
    db.session.execute(
        update(column.class_)
        .where(column == value)
        .values({column.key: column})
        .execution_options(synchronize_session=False)
    )


def one_at_a_time(space: int, key: int, *, on_sqlite: InstrumentedAttribute) -> None:
    """Until the transaction ends, one transaction at a time holds the turn ``(space,
    key)`` (32-bit integers): PostgreSQL's advisory lock; on SQLite, where one writer at a
    time is the rule, the write lock (``lock_rows`` on no row of ``on_sqlite``'s table)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(
            text("SELECT pg_advisory_xact_lock(:space, :key)"), {"space": space, "key": key}
        )
    else:
        lock_rows(on_sqlite, -1)
