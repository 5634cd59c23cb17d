"""What every step that arranges a case's sessions stands on: the mediator's calendar lock
and the case's turn, who may arrange sessions and when, the checks of a time, a new
session's rows and its journal entry, and the sessions of a case as they stand. The steps
themselves are in scheduling.py, changes.py, participants.py, offers.py and cleanup.py
(operations.py names them for the edges). Everything flushes, never commits.

Double booking is impossible because the database refuses overlapping live sessions of one
mediator (see ``models.py``). Before inserting, each operation also takes the mediator's
calendar lock (an UPDATE of their settings row) so that the daily limit, which no constraint
expresses, is counted with nothing changing underneath; and so that the person booking gets
the precise reason ("outside your hours", "the day is full") instead of a bare conflict.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel.speaklater import LazyString
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from mediation.accounts.models import User
from mediation.cases.labels import STATUS_NAMES
from mediation.cases.models import Case, Side
from mediation.cases.states import CaseStatus
from mediation.cases.workflow import NotPermittedError
from mediation.core.db import utcnow
from mediation.core.forms import FieldError
from mediation.extensions import db
from mediation.journal import operations as journal

from . import slots
from .availability import settings_for
from .models import BookingSettings, JoinsFrom, MediationSession, SessionParticipant, SessionStatus
from .slots import SlotUnavailableError

# Sessions are for cases in which both sides agreed to mediate (art 15).
BOOKABLE = (CaseStatus.in_mediation, CaseStatus.agreement_drafted)
_BEFORE_MEDIATION = (
    CaseStatus.draft,
    CaseStatus.submitted,
    CaseStatus.declined,
    CaseStatus.awaiting_respondent,
)


def lock_calendar(mediator_id: int, case_id: int | None = None) -> BookingSettings:
    """Serialise the bookings of one mediator until the transaction ends (row lock on
    PostgreSQL, the write lock on SQLite); then, for a step on ``case_id``'s sessions, the
    case's turn, before any session is written (core/locks.py: the order of locks; the
    room's end journals, then marks the session held)."""
    settings = settings_for(mediator_id)
    db.session.execute(
        update(BookingSettings)
        .where(BookingSettings.mediator_id == mediator_id)
        .values(version=BookingSettings.version + 1)
        .execution_options(synchronize_session=False)
    )
    if case_id is not None:
        journal.turn(case_id)
    return settings


def _must_be_mediator(case: Case, by: User) -> None:
    if case.mediator_id is None or case.mediator_id != by.id:
        raise NotPermittedError(_("Only the case's mediator can arrange its sessions."))
    if case.status not in BOOKABLE:
        if case.status in _BEFORE_MEDIATION:
            raise NotPermittedError(
                _("Sessions can be booked once both sides have agreed to mediate.")
            )
        # A page left open while the case was ended, or its agreement signed: said as it is.
        raise NotPermittedError(
            _(
                "This case is now %(status)s: no more sessions are arranged for it.",
                status=STATUS_NAMES[case.status],
            )
        )


def _must_be_fixed(session: MediationSession, otherwise: str) -> None:
    """The session is fixed (scheduled); a cancelled one says so, with the reason given,
    to a mediator whose page still showed it; ``otherwise`` is for times still offered."""
    if session.status == SessionStatus.cancelled:
        raise NotPermittedError(
            _(
                "This session was cancelled (%(reason)s); nothing more is done with it.",
                reason=session.cancel_reason or "",
            )
        )
    if session.status != SessionStatus.scheduled:
        raise NotPermittedError(otherwise)


def _check_side(case: Case, side: str | None) -> None:
    if side is None:
        return
    if side not in set(Side):
        raise FieldError("side", _("Choose who takes part."))
    # Art 16: separate times for each side only with the consent of every party.
    if any(p.separate_sessions_at is None for p in case.parties):
        raise FieldError("side", _("Separate sessions need the consent of every party (art 16)."))


def _check_fits(
    settings: BookingSettings,
    start: datetime,
    end: datetime,
    now: datetime,
    *,
    ignore: int | None = None,
    offer_key: str | None = None,
) -> bool:
    """Refuse a time that cannot be booked, with the reason; else say whether it lies in
    the mediator's public reception hours."""
    day = start.astimezone(ZoneInfo(settings.time_zone)).date()
    rules = slots.load_rules(settings.mediator_id, day, day)
    busy = slots.load_busy(settings.mediator_id, day, day, ignore=ignore)
    why = slots.fits(rules, start, end, busy, now=now, offer_key=offer_key)
    if why is not None:
        raise SlotUnavailableError(why)
    return slots.in_reception(rules, start, end)


# Sessions arranged per case and hour (booked, offered together, started at once): each
# texts every participant their link, and a session cancelled and booked again is another
# request, never a repeat, so a form booking and cancelling in a loop texted the parties
# without end (a session's own moves and renewals are capped: changes.MOVES_PER_HOUR,
# participants.LINK_RENEWALS_PER_HOUR). Far more than a mediator arranges honestly.
ARRANGED_PER_HOUR = 10


def _not_arranged_too_often(case: Case) -> None:
    """``NotPermittedError`` once ``ARRANGED_PER_HOUR`` sessions of ``case`` were arranged
    in the last hour (the times of one offer count once). Call with the calendar locked:
    two requests at once take turns, and the second sees the first one's rows."""
    rows = db.session.execute(
        select(MediationSession.id, MediationSession.offer_key).where(
            MediationSession.case_id == case.id,
            MediationSession.created_at > utcnow() - timedelta(hours=1),
        )
    ).all()
    if len({row.offer_key or row.id for row in rows}) >= ARRANGED_PER_HOUR:
        raise NotPermittedError(
            _(
                "%(n)d sessions of this case were arranged in the last hour, and each texts "
                "everyone; try again later.",
                n=ARRANGED_PER_HOUR,
            )
        )


def _flush_or_taken() -> None:
    """Flush; the database's refusal of an overlapping session becomes a clear message."""
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as error:
        if "no_double_booking" in str(error.orig):
            raise SlotUnavailableError("taken") from None
        raise


def _new_session(
    case: Case,
    settings: BookingSettings,
    start: datetime,
    minutes: int,
    *,
    by: User,
    status: SessionStatus,
    side: str | None,
    at_site: Collection[int],
    note: str,
    reception: bool,
    offer_key: str | None = None,
) -> MediationSession:
    end = start + timedelta(minutes=minutes)
    session = MediationSession(
        case_id=case.id,
        mediator_id=case.mediator_id,
        start_at=start,
        end_at=end,
        busy_until=end + timedelta(minutes=settings.buffer_minutes),
        local_day=start.astimezone(ZoneInfo(settings.time_zone)).date(),
        status=status,
        offer_key=offer_key,
        side=side,
        uid=f"{uuid.uuid4()}@online-mediation",
        reception=reception,
        note=note.strip(),
        created_by_id=by.id,
    )
    session.participants.append(SessionParticipant(user_id=case.mediator_id, role="mediator"))
    for party in case.parties:
        if side is not None and party.side != side:
            continue
        session.participants.append(
            SessionParticipant(
                user_id=party.user_id,
                role="agent" if party.is_agent else "party",
                joins_from=JoinsFrom.site if party.user_id in at_site else JoinsFrom.home,
            )
        )
    db.session.add(session)
    _flush_or_taken()
    return session


def _journal(session: MediationSession, kind: str, by: User | None, **extra) -> None:
    journal.append(
        session.case_id,
        f"session.{kind}",
        {
            "session_id": session.id,
            "start": session.start_at.isoformat(),
            "end": session.end_at.isoformat(),
            "side": session.side,
            **extra,
        },
        actor_id=by.id if by else None,
    )


def offered_with(session: MediationSession) -> list[MediationSession]:
    """The times offered together with ``session`` that are still open, by start, as the
    database has them now (call with the calendar locked)."""
    key = session.offer_key
    query = select(MediationSession).where(MediationSession.status == SessionStatus.offered)
    query = query.where(
        MediationSession.offer_key == key if key else MediationSession.id == session.id
    )
    return db.session.scalars(
        query.order_by(MediationSession.start_at).execution_options(populate_existing=True)
    ).all()


def _locked(session: MediationSession, *, calendar: bool = True) -> MediationSession:
    """Lock the mediator's calendar and take the case's turn, then read ``session`` again:
    whatever another request or worker did to it before the lock is seen, and nothing
    changes it until the commit. ``calendar=False``: the case's turn alone, for a step that
    holds it already (a calendar is taken before any case's turn, never after)."""
    if calendar:
        lock_calendar(session.mediator_id, session.case_id)
    else:
        journal.turn(session.case_id)
    db.session.refresh(session)
    return session


def _not_held(session: MediationSession) -> None:
    """A session that took place (ended in its room) is a record now: not moved,
    cancelled, re-sent or joined by more people."""
    if session.ended_at is not None:
        raise NotPermittedError(_("This session has already taken place."))


def _reason(reason: str | LazyString) -> str:
    if isinstance(reason, LazyString):  # the platform's own reason: stored in its language
        with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
            reason = str(reason)
    reason = reason.strip()
    if not reason:
        raise FieldError("reason", _("Please give the reason; everyone is told."))
    return reason[:500]


def _cancel_rows(rows: list[MediationSession], by: User | None, reason: str, now: datetime) -> None:
    for each in rows:
        each.status = SessionStatus.cancelled
        each.cancelled_at = now
        each.cancel_reason = reason
        each.sequence += 1
        _journal(each, "cancelled", by, reason=reason)
    db.session.flush()


def _live_of_case(case_id: int, *, since: datetime) -> list[MediationSession]:
    return db.session.scalars(
        select(MediationSession)
        .where(
            MediationSession.case_id == case_id,
            MediationSession.status != SessionStatus.cancelled,
            MediationSession.ended_at.is_(None),
            MediationSession.end_at > since,
        )
        .order_by(MediationSession.start_at)
    ).all()
