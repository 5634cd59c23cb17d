"""Keeping the calendar true when the world changes: offered times that began unchosen,
sessions of cases that ended, sessions of a mediator the case no longer has, seats of an
agent the party refused."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from mediation.cases.models import Case
from mediation.cases.states import CaseStatus
from mediation.core.db import utcnow
from mediation.extensions import db

from . import notices, offers
from .arranging import BOOKABLE, _cancel_rows, _live_of_case, _locked, _reason, offered_with
from .changes import cancel
from .links import BEFORE_START
from .models import MediationSession, SessionStatus

CLOSED = (CaseStatus.terminated, CaseStatus.confirmed, CaseStatus.rejected)
NOT_AGREED = _l("no time was agreed before it began")
CASE_ENDED = _l("the case has ended")
NEW_MEDIATOR = _l("the case has a new mediator, who will book again")


def cancel_for_new_mediator(case: Case, *, now: datetime | None = None) -> int:
    """The case has a new mediator (art 13, 14): sessions booked by the previous one are
    cancelled, with notice, and their links die; the new mediator books again. The change
    of mediator holds the case's turn (it journaled it): no calendar is taken after it
    (core/locks.py: the order of locks); a booking of this case waits for the turn."""
    cancelled = 0
    for session in _live_of_case(case.id, since=now or utcnow()):
        if session.mediator_id != case.mediator_id and session.status != SessionStatus.cancelled:
            cancel(session, by=None, reason=NEW_MEDIATOR, now=now, calendar=False)
            cancelled += 1
    return cancelled


def unseat_refused_agent(
    case: Case, user_id: int, *, kept: Collection[int], now: datetime | None = None
) -> int:
    """The party said ``user_id`` does not act for them (cases/agency.refuse): their seats
    in the case's sessions whose room has not opened go (no link, no reminder, nothing in
    their list of sessions), except those in ``kept``: seats the room records (an arrival,
    a chat line, a recording, in a session since moved ahead; rooms knows them). A seat
    kept, or in a session whose room is open (where an arrival may be under way this very
    moment), stays as a record and opens nothing any more (``links.seat_holds``). Offered
    times the others had all chosen are then fixed, as if the last choice had just been
    made: the agent, who could not choose while unconfirmed, no longer holds them up."""
    now = now or utcnow()
    sessions = _live_of_case(case.id, since=now)
    seats = [
        seat
        for session in sessions
        if session.start_at > now + BEFORE_START
        for seat in session.participants
        if seat.user_id == user_id and seat.role == "agent" and seat.id not in kept
    ]
    for seat in seats:
        seat.session.participants.remove(seat)
    db.session.flush()
    if case.status in BOOKABLE:  # as a choice would be (offers.choose)
        offered = {s.offer_key: s for s in sessions if s.status == SessionStatus.offered}
        for session in offered.values():
            offers.settle(session, now)
    return len(seats)


UNCHOSEN, ORPHANED = "unchosen", "orphaned"


def due_to_end(now: datetime | None = None) -> list[tuple[str, int]]:
    """What the worker's job ends, as ``(why, session id)``: offered times that began
    unchosen (``UNCHOSEN``), then sessions of ended cases (``ORPHANED``). Read without a
    lock; ``end`` reads each again under its locks."""
    now = now or utcnow()
    stale = db.session.scalars(
        select(MediationSession.id)
        .where(MediationSession.status == SessionStatus.offered, MediationSession.start_at <= now)
        .order_by(MediationSession.id)
    ).all()
    orphaned = db.session.scalars(
        select(MediationSession.id)
        .join(Case, Case.id == MediationSession.case_id)
        .where(
            MediationSession.status != SessionStatus.cancelled,
            MediationSession.ended_at.is_(None),  # one that took place stays as it was
            MediationSession.end_at > now,
            Case.status.in_(CLOSED),
        )
        .order_by(MediationSession.id)
    ).all()
    return [(UNCHOSEN, i) for i in stale] + [(ORPHANED, i) for i in orphaned]


def end(item: tuple[str, int], now: datetime | None = None) -> int:
    """End one session ``due_to_end`` found (1), or nothing (0) when another worker, a
    party's choice or the mediator came first: the row is read again under its mediator's
    calendar and its case's turn. It takes those two locks, so it is a unit of its own
    (the worker commits after each): one transaction going on to another session would
    hold a case's turn while it waited for another calendar, which a booking of that case
    by that calendar's mediator holds while it waits for the turn (core/locks.py: the
    order of locks; PostgreSQL would abort one of the two)."""
    why, session_id = item
    now = now or utcnow()
    session = _locked(db.session.get(MediationSession, session_id))
    if why == UNCHOSEN:
        if session.status != SessionStatus.offered:
            return 0
        _cancel_rows([session], None, _reason(NOT_AGREED), now)
        if not offered_with(session):
            notices.tell(session, notices.WITHDRAWN, reason=NOT_AGREED)
        return 1
    if session.status == SessionStatus.cancelled or session.ended_at is not None:
        return 0
    cancel(session, by=None, reason=CASE_ENDED, now=now, calendar=False)
    return 1


def end_stale(now: datetime | None = None) -> int:
    """Every session ``due_to_end``, ended in this transaction, one after the other: for a
    caller that does nothing else meanwhile and holds no lock (a test, a command). The
    worker's job ends each in a unit of its own (``worker.sessions``, see ``end``)."""
    return sum(end(item, now) for item in due_to_end(now))
