"""Keeping the calendar true when the world changes: offered times that began unchosen,
sessions of cases that ended, sessions of a mediator the case no longer has."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from mediation.cases.models import Case
from mediation.core.db import utcnow
from mediation.extensions import db

from . import notices
from .models import MediationSession, SessionStatus
from .operations import (
    CASE_ENDED,
    CLOSED,
    NEW_MEDIATOR,
    NOT_AGREED,
    _cancel_rows,
    _live_of_case,
    _locked,
    _reason,
    cancel,
    offered_with,
)


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


def end_stale(now: datetime | None = None) -> int:
    """The worker's job: an offered time that began unchosen is dropped (the offer is
    withdrawn, with notice, when none is left); sessions of ended cases are cancelled.
    Each row is read again under the calendar lock, so two workers never act twice."""
    now = now or utcnow()
    ended = 0
    stale = db.session.scalars(
        select(MediationSession.id).where(
            MediationSession.status == SessionStatus.offered, MediationSession.start_at <= now
        )
    ).all()
    for session_id in stale:
        session = _locked(db.session.get(MediationSession, session_id))
        if session.status != SessionStatus.offered:
            continue  # another worker, or a party's choice, came first
        _cancel_rows([session], None, _reason(NOT_AGREED), now)
        ended += 1
        if not offered_with(session):
            notices.tell(session, notices.WITHDRAWN, reason=NOT_AGREED)
    orphaned = db.session.scalars(
        select(MediationSession.id)
        .join(Case, Case.id == MediationSession.case_id)
        .where(
            MediationSession.status != SessionStatus.cancelled,
            MediationSession.ended_at.is_(None),  # one that took place stays as it was
            MediationSession.end_at > now,
            Case.status.in_(CLOSED),
        )
    ).all()
    for session_id in orphaned:
        session = _locked(db.session.get(MediationSession, session_id))
        if session.status != SessionStatus.cancelled and session.ended_at is None:
            cancel(session, by=None, reason=CASE_ENDED, now=now)
            ended += 1
    return ended
