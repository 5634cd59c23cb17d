"""Read-side queries of booking: a mediator's week, the sessions of a case, a user's own
sessions, the next session of each case in a caseload, the calendar feed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from mediation.accounts.models import User
from mediation.cases import clocks
from mediation.core.db import utcnow
from mediation.extensions import db

from . import links, slots
from .models import AvailabilityRule, MediationSession, SessionParticipant, SessionStatus

FEED_PAST = timedelta(days=90)


@dataclass
class Day:
    day: date
    holiday: bool
    worked: bool = False  # a weekend day made into a working day (调休): Monday's hours
    sessions: list[MediationSession] = field(default_factory=list)
    free: list[slots.Slot] = field(default_factory=list)


@dataclass
class Week:
    monday: date
    days: list[Day]

    @property
    def previous(self) -> date:
        return self.monday - timedelta(days=7)

    @property
    def next(self) -> date:
        return self.monday + timedelta(days=7)


def week_of(mediator_id: int, shown: date, zone: ZoneInfo, *, now: datetime) -> Week:
    """Monday to Sunday around ``shown``: each day's live sessions and free slots."""
    monday = shown - timedelta(days=shown.weekday())
    since = datetime.combine(monday, time(), tzinfo=zone).astimezone(UTC)
    # Not since + 7 days: a week with a daylight-saving change is 167 or 169 hours long.
    until = datetime.combine(monday + timedelta(days=7), time(), tzinfo=zone).astimezone(UTC)
    sessions = db.session.scalars(
        select(MediationSession)
        .where(
            MediationSession.mediator_id == mediator_id,
            MediationSession.status != SessionStatus.cancelled,
            MediationSession.start_at >= since,
            MediationSession.start_at < until,
        )
        .order_by(MediationSession.start_at)
        .options(selectinload(MediationSession.case))
    ).all()
    free = slots.free_slots(mediator_id, monday, 7, now=now)
    days = [
        Day(d, clocks.is_public_holiday(d), clocks.is_makeup_working_day(d))
        for d in (monday + timedelta(days=i) for i in range(7))
    ]
    for session in sessions:
        days[(session.start_at.astimezone(zone).date() - monday).days].sessions.append(session)
    for slot in free:
        days[(slot.start.astimezone(zone).date() - monday).days].free.append(slot)
    return Week(monday, days)


@dataclass(frozen=True)
class Reception:
    """One public reception time of a mediator on a date."""

    mediator: User
    day: date
    window: slots.Window


def reception_times(first_day: date, days: int) -> list[Reception]:
    """Every mediator's public reception hours on the coming days (holidays and leave
    taken out), by date, for the public reception page."""
    mediator_ids = db.session.scalars(
        select(AvailabilityRule.mediator_id).where(AvailabilityRule.reception.is_(True)).distinct()
    ).all()
    found = []
    last_day = first_day + timedelta(days=days - 1)
    for mediator_id in mediator_ids:
        rules = slots.load_rules(mediator_id, first_day, last_day)
        mediator = db.session.get(User, mediator_id)
        for offset in range(days):
            day = first_day + timedelta(days=offset)
            for window in slots.day_windows(day, rules):
                if window.reception:
                    found.append(Reception(mediator, day, window))
    return sorted(found, key=lambda r: (r.day, r.window.starts, r.mediator.real_name))


def of_case(case_id: int) -> list[MediationSession]:
    return db.session.scalars(
        select(MediationSession)
        .where(MediationSession.case_id == case_id)
        .order_by(MediationSession.start_at)
    ).all()


def open_to(case_id: int, user: User, *, now: datetime | None = None) -> list[MediationSession]:
    """The case's sessions whose room ``user`` may enter at ``now``: they take part, and it
    is from shortly before the start to shortly after the end (for the "enter the room"
    button). Whether the mediator already ended it is the room's to say."""
    now = now or utcnow()
    return [
        s
        for s in db.session.scalars(
            select(MediationSession)
            .join(SessionParticipant)
            .where(
                MediationSession.case_id == case_id,
                MediationSession.status == SessionStatus.scheduled,
                MediationSession.end_at > now - links.AFTER_END,
                SessionParticipant.user_id == user.id,
            )
            .order_by(MediationSession.start_at)
        )
        if links.window_open(s.status, s.start_at, s.end_at, now)
    ]


def of_user(user_id: int, *, now: datetime) -> list[SessionParticipant]:
    """The user's participations in sessions that have not ended long ago, soonest first."""
    return db.session.scalars(
        select(SessionParticipant)
        .join(MediationSession)
        .where(
            SessionParticipant.user_id == user_id,
            MediationSession.end_at > now - timedelta(hours=2),
        )
        .order_by(MediationSession.start_at)
        .options(selectinload(SessionParticipant.session))
    ).all()


def next_of_cases(case_ids: Iterable[int], *, now: datetime) -> dict[int, datetime]:
    """The start of the next booked session of each case (for the caseload)."""
    ids = list(case_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        select(MediationSession.case_id, func.min(MediationSession.start_at))
        .where(
            MediationSession.case_id.in_(ids),
            MediationSession.status == SessionStatus.scheduled,
            MediationSession.ended_at.is_(None),
            MediationSession.end_at > now,
        )
        .group_by(MediationSession.case_id)
    )
    return dict(rows.all())


def feed_sessions(mediator_id: int, *, now: datetime) -> list[MediationSession]:
    """Booked sessions from 90 days back, and recently cancelled ones, so that a subscribed
    calendar drops them."""
    return db.session.scalars(
        select(MediationSession)
        .where(
            MediationSession.mediator_id == mediator_id,
            MediationSession.status != SessionStatus.offered,
            MediationSession.start_at >= now - FEED_PAST,
        )
        .order_by(MediationSession.start_at)
        .options(selectinload(MediationSession.case), selectinload(MediationSession.participants))
    ).all()


def feed_summary(session: MediationSession) -> str:
    return _("Mediation session, case %(number)s", number=session.case.number)
