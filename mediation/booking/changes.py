"""A fixed session changed: moved to another time, called off (or the times offered with it
withdrawn), or marked as held when the mediator ended it in its room. Everyone is told of
a move or a cancellation; calendars replace or drop the event. Flushes, never commits."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel.speaklater import LazyString

from mediation.accounts.models import User
from mediation.cases.workflow import NotPermittedError
from mediation.core.db import utcnow
from mediation.extensions import db

from . import notices, reminders, repeats
from .arranging import (
    _cancel_rows,
    _check_fits,
    _flush_or_taken,
    _journal,
    _locked,
    _must_be_fixed,
    _must_be_mediator,
    _not_held,
    _reason,
    lock_calendar,
    offered_with,
)
from .models import MediationSession, SessionStatus
from .repeats import CancelledAlreadyError, MovedAlreadyError


def session_ended(session: MediationSession, *, at: datetime) -> None:
    """The mediator ended the session in its room (the rooms feature journals it as
    ``room.ended``): it took place, and its pages say so from now on."""
    if session.ended_at is None:
        session.ended_at = at
        if at < session.end_at:
            # Ended early: what the calendar holds is the time it really took, so the
            # mediator may begin again (a session ended by mistake) or take the next one.
            # The booked buffer after it is for sessions that run their length.
            session.end_at = max(at, session.start_at + timedelta(minutes=1))
            session.busy_until = session.end_at
        db.session.flush()


# Moves per session and hour: each texts every participant the new time and their link
# (as a renewal of the links does: participants.LINK_RENEWALS_PER_HOUR), and each move is
# another request, never a repeat, so a form that moved a session to and fro in a loop
# texted the parties without end. Enough for honest changes of plan.
MOVES_PER_HOUR = 5


def reschedule(
    session: MediationSession,
    *,
    by: User,
    start: datetime,
    reason: str,
    minutes: int | None = None,
    now: datetime | None = None,
) -> MediationSession:
    """Move a fixed session; calendars replace the event (same UID, higher SEQUENCE). The
    same move again a moment later (a double tap, two tabs) raises ``MovedAlreadyError``:
    the first one's commit is read under the calendar lock."""
    reason = _reason(reason)
    settings = lock_calendar(session.mediator_id, session.case_id)
    db.session.refresh(session)
    _must_be_mediator(session.case, by)
    _must_be_fixed(session, _("Only a fixed session can be moved."))
    _not_held(session)
    length = timedelta(minutes=minutes) if minutes else session.end_at - session.start_at
    if repeats.moved_just_now(session, by, start, length, reason):
        raise MovedAlreadyError  # done, and everyone was told: no second set of texts
    if repeats.moved_since(session, utcnow() - timedelta(hours=1)) >= MOVES_PER_HOUR:
        raise NotPermittedError(
            _(
                "This session was moved %(n)d times in the last hour; each move texts "
                "everyone. Try again later, or cancel it and book a new time.",
                n=MOVES_PER_HOUR,
            )
        )
    reception = _check_fits(settings, start, start + length, now or utcnow(), ignore=session.id)
    before = session.start_at
    session.start_at = start
    session.end_at = start + length
    session.busy_until = session.end_at + timedelta(minutes=settings.buffer_minutes)
    session.local_day = start.astimezone(ZoneInfo(settings.time_zone)).date()
    session.reception = reception
    session.sequence += 1
    session.reminded_day_at = session.reminded_hour_at = None  # due again for the new time
    reminders.covered_by_notice(session, now or utcnow())
    _flush_or_taken()
    _journal(session, "rescheduled", by, reason=reason, previous_start=before.isoformat())
    notices.tell(session, notices.RESCHEDULED, reason=reason, calendar="REQUEST")
    return session


def cancel(
    session: MediationSession,
    *,
    by: User | None,
    reason: str | LazyString,
    now: datetime | None = None,
    calendar: bool = True,
) -> None:
    """Call a session off (or withdraw all the times offered with it); the slot is free
    again at once and everyone is told. ``calendar=False`` for a step that holds the case's
    turn already (``_locked``)."""
    told = reason  # a platform reason is told in each participant's language
    reason = _reason(reason)
    _locked(session, calendar=calendar)
    if by is not None:
        _must_be_mediator(session.case, by)
    if session.status == SessionStatus.cancelled:
        if by is not None and repeats.cancelled_just_now(session, by, reason):
            raise CancelledAlreadyError  # the same form again: done, everyone was told
        raise NotPermittedError(_("This session is already cancelled."))
    _not_held(session)
    now = now or utcnow()
    if session.status == SessionStatus.scheduled:
        _cancel_rows([session], by, reason, now)
        notices.tell(session, notices.CANCELLED, reason=told, calendar="CANCEL")
    else:
        _cancel_rows(offered_with(session), by, reason, now)
        notices.tell(session, notices.WITHDRAWN, reason=told)
