"""Offering several times: each is held in the calendar until every party has ticked the
same one, which becomes the session; the others are freed (SPC online mediation rules
art 16 lets the parties take part from where they are, at a time that suits them)."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from mediation.accounts.models import User
from mediation.cases import agency
from mediation.cases.models import Case
from mediation.cases.workflow import NotPermittedError
from mediation.core.db import utcnow
from mediation.core.forms import FieldError
from mediation.extensions import db
from mediation.journal import operations as journal

from . import notices, reminders, repeats
from .arranging import (
    BOOKABLE,
    _check_fits,
    _check_side,
    _flush_or_taken,
    _journal,
    _locked,
    _must_be_mediator,
    _new_session,
    _not_arranged_too_often,
    lock_calendar,
    offered_with,
)
from .models import MediationSession, SessionStatus

MAX_OFFERED = 6
CHOSEN_ELSEWHERE = _l("another offered time was chosen")


def offer(
    case: Case,
    *,
    by: User,
    starts: Sequence[datetime],
    minutes: int | None = None,
    side: str | None = None,
    at_site: Collection[int] = (),
    note: str = "",
    now: datetime | None = None,
) -> list[MediationSession]:
    """Hold several times; the session is fixed at the first one every party can attend.
    The same offer again a moment later raises ``BookedAlreadyError`` (``book``)."""
    _must_be_mediator(case, by)
    _check_side(case, side)
    if not 2 <= len(set(starts)) <= MAX_OFFERED:
        raise FieldError("start", _("Offer 2 to %(n)d times.", n=MAX_OFFERED))
    settings = lock_calendar(case.mediator_id, case.id)
    minutes = minutes or settings.session_minutes
    # The same offer again a moment later (a double tap): what the first one offered.
    repeats.refuse_booked_just_now(case, by, starts, minutes, side, at_site, note, offered=True)
    _not_arranged_too_often(case)
    key = uuid.uuid4().hex
    offered = []
    for start in sorted(set(starts)):
        reception = _check_fits(
            settings, start, start + timedelta(minutes=minutes), now or utcnow(), offer_key=key
        )
        offered.append(
            _new_session(
                case,
                settings,
                start,
                minutes,
                by=by,
                status=SessionStatus.offered,
                side=side,
                at_site=at_site,
                note=note,
                reception=reception,
                offer_key=key,
            )
        )
    for session in offered:
        _journal(session, "offered", by)
    first = offered[0]
    notices.tell(
        first, notices.OFFERED, participants=[p for p in first.participants if p.role != "mediator"]
    )
    return offered


def choose(
    user: User, offer_of: MediationSession, chosen: Collection[int], *, now: datetime | None = None
) -> MediationSession | None:
    """Record the offered times ``user`` can attend; returns the session once it is fixed
    (the earliest time still ahead that every party chose), else None."""
    now = now or utcnow()
    agency.check_may_act(offer_of.case, user)
    _locked(offer_of)
    open_times = [s for s in offered_with(offer_of) if s.start_at > now]
    if not open_times or offer_of.case.status not in BOOKABLE:
        raise NotPermittedError(_("These times are no longer open. A session may be fixed."))
    if not set(chosen) <= {s.id for s in open_times}:
        raise FieldError("chosen", _("Choose among the times offered."))
    for session in open_times:
        mine = next((p for p in session.participants if p.user_id == user.id), None)
        if mine is None or mine.role == "mediator":
            raise NotPermittedError(_("You may not take this step in this case."))
        mine.confirmed_at = now if session.id in chosen else None
    db.session.flush()
    journal.append(
        offer_of.case_id,
        "session.times_chosen",
        {"offer": offer_of.offer_key, "sessions": sorted(chosen)},
        actor_id=user.id,
    )
    return settle(offer_of, now)


def settle(offer_of: MediationSession, now: datetime) -> MediationSession | None:
    """Fix the earliest time still ahead that every party (and agent) chose, if there is
    one and none is fixed yet; returns it."""
    times = offered_with(offer_of)  # read again: none left once one is fixed
    for session in (s for s in times if s.start_at > now):
        if all(p.confirmed_at for p in session.participants if p.role != "mediator"):
            return _fix(session, times, now)
    return None


def _fix(
    session: MediationSession, open_times: list[MediationSession], now: datetime
) -> MediationSession:
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        elsewhere = str(CHOSEN_ELSEWHERE)  # stored once, in the platform's language
    for other in open_times:
        if other is not session:
            other.status = SessionStatus.cancelled
            other.cancelled_at = now
            other.cancel_reason = elsewhere
    session.status = SessionStatus.scheduled
    session.sequence += 1
    _flush_or_taken()
    reminders.covered_by_notice(session, now)
    _journal(session, "fixed", None)
    notices.tell(session, notices.BOOKED, calendar="REQUEST")
    return session
