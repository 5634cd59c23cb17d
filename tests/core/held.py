"""Whether another transaction holds a lock (core/locks.py), asked of a connection of its
own that may not wait for it (PostgreSQL: NOWAIT; SQLite: no busy timeout for the write
lock, which any write of the transaction holds). A test watching a slow step (a render, a
TSA, storing a file) calls these from inside it: nothing slow happens under a lock."""

from __future__ import annotations

import sqlite3

from sqlalchemy import column, select, table
from sqlalchemy.exc import OperationalError

from mediation.extensions import db


def held(table_name: str, key: str, value: int) -> bool:
    """Whether another transaction holds the rows of ``table_name`` where ``key ==
    value`` (on SQLite: the database's write lock)."""
    url = db.engine.url
    if url.get_backend_name() == "sqlite":
        other = sqlite3.connect(url.database, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError:
            return True
        finally:
            other.close()
    rows = table(table_name, column(key))
    with db.engine.connect() as other:
        try:
            other.execute(
                select(rows.c[key]).where(rows.c[key] == value).with_for_update(nowait=True)
            )
            return False
        except OperationalError:
            return True
        finally:
            other.rollback()


def turn_held(case_id: int) -> bool:
    """Whether another transaction holds the case's turn (its journal head's row)."""
    return held("journal_heads", "case_id", case_id)


def watch_slow(
    monkeypatch, *, stored: str, rows: tuple[str, str, int], case_id: int
) -> list[tuple[str, bool, bool]]:
    """(what, ``rows`` held, the case's turn held) at each PDF render (WeasyPrint) and
    each file stored under a key starting with ``stored``, in the order they came."""
    from agreements import render
    from mediation.core import storage

    seen: list[tuple[str, bool, bool]] = []
    real_html, real_put = render.HTML, storage.LocalStorage.put

    def html(*args, **kwargs):
        seen.append(("rendered", held(*rows), turn_held(case_id)))
        return real_html(*args, **kwargs)

    def put(self, key, data):
        if key.startswith(stored):
            seen.append(("stored", held(*rows), turn_held(case_id)))
        return real_put(self, key, data)

    monkeypatch.setattr(render, "HTML", html)
    monkeypatch.setattr(storage.LocalStorage, "put", put)
    return seen
