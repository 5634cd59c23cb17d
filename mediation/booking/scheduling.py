"""A session put in the calendar: booked at a time the mediator chooses (everyone told at
once), or started now when the parties agree to meet at once (立即调解). Flushes, never
commits."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext as _

from mediation.accounts.models import User
from mediation.cases.models import Case
from mediation.cases.workflow import NotPermittedError
from mediation.core.db import utcnow
from mediation.core.forms import FieldError

from . import links, notices, reminders, repeats, slots
from .arranging import (
    _check_fits,
    _check_side,
    _journal,
    _live_of_case,
    _must_be_mediator,
    _new_session,
    _not_arranged_too_often,
    lock_calendar,
)
from .models import MediationSession, SessionStatus
from .repeats import StartedAlreadyError


def book(
    case: Case,
    *,
    by: User,
    start: datetime,
    minutes: int | None = None,
    side: str | None = None,
    at_site: Collection[int] = (),
    note: str = "",
    now: datetime | None = None,
) -> MediationSession:
    """Book a session at ``start``; everyone is invited at once. The same form again a
    moment later (a double tap) raises ``BookedAlreadyError`` with what the first booked."""
    _must_be_mediator(case, by)
    _check_side(case, side)
    settings = lock_calendar(case.mediator_id, case.id)
    minutes = minutes or settings.session_minutes
    repeats.refuse_booked_just_now(case, by, [start], minutes, side, at_site, note, offered=False)
    _not_arranged_too_often(case)
    reception = _check_fits(settings, start, start + timedelta(minutes=minutes), now or utcnow())
    session = _new_session(
        case,
        settings,
        start,
        minutes,
        by=by,
        status=SessionStatus.scheduled,
        side=side,
        at_site=at_site,
        note=note,
        reception=reception,
    )
    reminders.covered_by_notice(session, now or utcnow())
    _journal(session, "booked", by)
    notices.tell(session, notices.BOOKED, calendar="REQUEST")
    return session


def open_session_of(case: Case, now: datetime) -> MediationSession | None:
    """The case's session whose room is open at ``now`` (from shortly before its start to
    shortly after its end), if any; the earliest when there are several."""
    return next(
        (
            s
            for s in _live_of_case(case.id, since=now - links.AFTER_END)
            if links.window_open(s.status, s.start_at, s.end_at, now)
        ),
        None,
    )


def start_now(
    case: Case,
    *,
    by: User,
    parties_agreed: bool,
    minutes: int | None = None,
    now: datetime | None = None,
) -> MediationSession:
    """立即调解: a session of the whole case starting now, when the parties agree to meet at
    once (a call from the mediator, or all of them at the institution's office).

    No minimum notice, weekly hours or daily limit apply: they exist so that parties have
    time to arrange to be free, and here they have agreed to start. No rule asks for notice:
    the People's Mediation Law wants disputes mediated "in good time" (及时, art 21), and
    under the SPC online mediation rules the mediator, having confirmed how the parties take
    part, appoints the time at which they all log in (art 16 (1)), online mediation needing
    their consent (art 4). The mediator states that the parties agreed, and the journal keeps
    it. Sessions already in the mediator's calendar still may not overlap.

    The parties get one text each with their personal link (no reminder follows: it would
    arrive at the same moment); the mediator, who pressed the button, goes to the room."""
    _must_be_mediator(case, by)
    if not parties_agreed:
        raise FieldError(
            "parties_agreed",
            _("Start at once only when the parties have agreed to it, and tick the box."),
        )
    settings = lock_calendar(case.mediator_id, case.id)
    now = (now or utcnow()).replace(microsecond=0)
    open_now = open_session_of(case, now)
    if open_now is not None and repeats.started_just_now(open_now, by):
        raise StartedAlreadyError(open_now)  # the same press again: its room is the answer
    if open_now is not None:
        raise NotPermittedError(_("A session of this case is open now: enter its room."))
    _not_arranged_too_often(case)
    minutes = minutes or settings.session_minutes
    end = now + timedelta(minutes=minutes)
    day = now.astimezone(ZoneInfo(settings.time_zone)).date()
    busy = slots.load_busy(case.mediator_id, day, day)
    if slots.conflicts(now, end, busy, timedelta(minutes=settings.buffer_minutes)):
        raise NotPermittedError(
            _(
                "Another session in your calendar falls within the next %(minutes)d minutes: "
                "move it, or book this one for later.",
                minutes=minutes + settings.buffer_minutes,
            )
        )
    session = _new_session(
        case,
        settings,
        now,
        minutes,
        by=by,
        status=SessionStatus.scheduled,
        side=None,
        at_site=(),
        note="",
        reception=False,
    )
    reminders.covered_by_notice(session, now)
    _journal(session, "started_now", by, parties_agreed=True)
    notices.tell(
        session,
        notices.STARTED_NOW,
        calendar="REQUEST",
        participants=[p for p in session.participants if p.role != "mediator"],
    )
    return session
