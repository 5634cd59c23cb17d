"""Taking turns in the database: a row's write lock taken before a step reads what it decides
on, and a named turn across processes. A request sent twice (a double tap, a phone retrying
a POST, two tabs) or a worker on every machine then finds what the other one did.

One order for every lock. Two steps that take the same locks in opposite orders can each
hold one while waiting for the other's: PostgreSQL then aborts one of them (a deadlock, a
server error for its user). So a step that takes more than one lock takes them in this
order, and never goes back up it:

1. A turn that spans cases: ``one_at_a_time`` (the codes sent to one recipient, a job that
   must run once), a user's row (an applicant filing, an asker asking), a question's row
   (consultation), a mediator's calendar (``booking.arranging.lock_calendar``).
2. A room's row (``rooms.operations.lock``): every step in a room starts there, and ending
   the room goes on to the case's journal, the session and the minutes.
3. The case's turn: its journal head's row (``journal.operations.turn``). Nearly every step
   of a case ends by appending to the case's journal, which takes that row; a step that
   locked anything of the case before it would hold that while it waited for the journal,
   and another step that journaled first would wait for what it holds. Every case has the
   row from its first entry (its filing).
4. The case's own rows: the case itself (written by ``cases.workflow.transition`` and by
   an assignment), its sessions, agreement (``agreements.signing.lock``), minutes
   (``minutes.review.lock``), obligations (followup), court application and delegation. In
   any order among them: a step takes them only while it holds the case's turn, so two
   such steps never hold them at once.

A step on a case therefore takes the case's turn before it writes anything of the case,
including what the ORM would flush (``turn`` writes nothing pending before it). The code
that needs the same rows in several places says so in its lock function (above), which
takes the turn itself. SQLite has one writer at a time (the first write takes the
database's write lock), so no order matters there, and none of this costs anything: the
write lock is what a step would take anyway. Nothing slow happens under these locks,
least of all a network call or a PDF render: a step makes its file (the TSA's timestamps,
WeasyPrint) and stores it under a key naming its hash before it locks, reads again under
the lock what the file was made from, and records the key only if that still holds
(agreements/signing.py: a signature, a round's document; court/application.py: a
signature; minutes/review.py: the final PDF; archive.py: a renewal). A file made for a
step that lost its race is left unrecorded, overwriting nothing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text, update
from sqlalchemy.orm import InstrumentedAttribute

from mediation.extensions import db


def lock_rows(column: InstrumentedAttribute, value: Any, *, autoflush: bool = True) -> None:
    """The write lock of the rows where ``column == value``, until the transaction ends, by
    an UPDATE that sets ``column`` to itself: on PostgreSQL those rows' lock (a key set to
    the same value takes no key lock), on SQLite the database's write lock, which a write
    takes even when no row matches (pysqlite opens the transaction at the first write, so
    no older snapshot is held). Read what the step decides on after it (``expire_all`` or
    ``refresh`` what was loaded before). ``autoflush=False``: what is pending in the
    session is written after the lock, not before it (see the order above)."""
    db.session.execute(
        update(column.class_)
        .where(column == value)
        .values({column.key: column})
        .execution_options(synchronize_session=False, autoflush=autoflush)
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
