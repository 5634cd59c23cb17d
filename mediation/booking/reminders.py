"""Reminders 24 hours and 1 hour before each session, sent exactly once.

A reminder is claimed by a conditional UPDATE of the session (``reminded_… IS NULL``) in the
same transaction that queues its messages: a second worker waits on the row and then finds
it claimed; a worker that dies before committing leaves nothing claimed and nothing queued,
so the next run sends it. Rescheduling clears the marks, so the new time is reminded too.

A session booked (or moved, or fixed) within a reminder's lead time has that reminder marked
sent at once: the booking's own message has just told everyone, and a reminder on top of it
would reach every phone at the same moment (issue #16: "six texts" for three people).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import InstrumentedAttribute

from mediation.cases.models import Case
from mediation.cases.states import FINAL_STATUSES
from mediation.core.db import utcnow
from mediation.extensions import db

from . import notices
from .models import MediationSession, SessionStatus

BEFORE = (
    (MediationSession.reminded_day_at, timedelta(hours=24)),
    (MediationSession.reminded_hour_at, timedelta(hours=1)),
)


def covered_by_notice(session: MediationSession, now: datetime) -> None:
    """Mark as sent the reminders whose lead time has already begun at ``now``, when
    everyone is being told of the session (booked, moved, fixed or started now)."""
    for column, ahead in BEFORE:
        if session.start_at - now <= ahead:
            setattr(session, column.key, now)


def _of_open_case():
    """The session's case has not ended: a case that ended has its sessions cancelled by the
    worker's cleanup (cleanup.end), a round later or, when that fails for one session,
    later still (worker._one_by_one); until then its session is still "scheduled", and no
    one is reminded of it. Read again in the claim: the case may end between the list
    (``due``) and the step (``send_one``)."""
    return MediationSession.case_id.in_(select(Case.id).where(Case.status.not_in(FINAL_STATUSES)))


def _claim(session_id: int, column: InstrumentedAttribute, now: datetime, ahead: timedelta) -> bool:
    # The window again: the session may have moved since it was selected.
    result = db.session.execute(
        update(MediationSession)
        .where(
            MediationSession.id == session_id,
            MediationSession.status == SessionStatus.scheduled,
            column.is_(None),
            MediationSession.start_at > now,
            MediationSession.start_at <= now + ahead,
            _of_open_case(),
        )
        .values({column.key: now})
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def send_due(now: datetime | None = None) -> int:
    """Queue the reminders that are due, in this transaction (the worker sends each in its
    own: ``due`` and ``send_one``); returns how many sessions were reminded."""
    now = now or utcnow()
    return sum(send_one(item, now) for item in due(now))


def due(now: datetime) -> list[tuple[int, int]]:
    """The reminders to send: (0 for the day before, 1 for the hour before, session id)."""
    return [
        (kind, session_id)
        for kind, (column, ahead) in enumerate(BEFORE)
        for session_id in db.session.scalars(
            select(MediationSession.id)
            .where(
                MediationSession.status == SessionStatus.scheduled,
                column.is_(None),
                MediationSession.start_at > now,
                MediationSession.start_at <= now + ahead,
                _of_open_case(),
            )
            .order_by(MediationSession.id)
        )
    ]


def send_one(item: tuple[int, int], now: datetime) -> int:
    """One session's reminder, claimed first (1 if sent, 0 if no longer due)."""
    kind, session_id = item
    column, ahead = BEFORE[kind]
    if not _claim(session_id, column, now, ahead):
        return 0
    session = db.session.get(MediationSession, session_id, populate_existing=True)
    if column is MediationSession.reminded_day_at and session.start_at - now <= BEFORE[1][1]:
        return 0  # within the last hour only the one-hour reminder goes out
    notices.tell(session, notices.REMINDER)
    return 1
