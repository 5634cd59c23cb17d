"""Free slots: a mediator's weekly hours and date exceptions, minus public holidays, sessions
already booked (with the buffer after each), the minimum notice and the daily limit.

``compute`` is pure (rules and sessions in, slots out), so every edge case is testable
without a database; ``free_slots`` loads what it needs for one mediator and one range.
Local times are the mediator's; a local time that does not exist (a daylight-saving gap)
offers no slot, and one that exists twice is taken at its first occurrence.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from mediation.cases import clocks
from mediation.core.forms import FieldError
from mediation.extensions import db

from . import signals
from .models import (
    AvailabilityException,
    AvailabilityRule,
    BookingSettings,
    MediationSession,
    SessionStatus,
)

UNAVAILABLE = {
    "notice": _l("This time is too soon: the participants need more notice."),
    "hours": _l("This time is outside the mediator's hours."),
    "daily_limit": _l("The mediator already has the most sessions allowed on that day."),
    "taken": _l("This time has just been taken. Please choose another."),
}


class SlotUnavailableError(FieldError):
    """A time that cannot be booked, and why (a key of ``UNAVAILABLE``, as ``fits`` says)."""

    def __init__(self, why: str) -> None:
        super().__init__("start", str(UNAVAILABLE[why]))
        self.why = why


# Slots start on the hour and half hour of a window: easy to read out on the phone.
STEP = timedelta(minutes=30)
# On a weekend made into a working day (调休) the office keeps the hours of a Monday.
MAKEUP_DAY_RULES = 0
# Hours are typed as times of day, and 24:00 is not one: hours "until 23:59" run to the end of
# the day, so that a session from 23:00 to midnight fits in them.
END_OF_DAY = time(23, 59)


@dataclass(frozen=True)
class Slot:
    start: datetime  # UTC
    end: datetime
    reception: bool = False
    place: str = ""


@dataclass(frozen=True)
class Busy:
    """A live session as the calendar sees it: from its start to its end plus buffer.

    ``key`` tells sessions apart for the daily limit: the times of one offer share it, as
    only one of them will take place."""

    start: datetime
    busy_until: datetime
    local_day: date
    key: str = ""
    # False for what is not a session (a reception talk): it takes its time, but does not
    # count towards the mediator's sessions a day.
    counts: bool = True


def _sessions_on(busy: Iterable[Busy], day: date) -> set[str]:
    return {b.key or f"{b.start.isoformat()}" for b in busy if b.counts and b.local_day == day}


@dataclass(frozen=True)
class Window:
    starts: time
    ends: time
    reception: bool = False
    place: str = ""


@dataclass(frozen=True)
class Rules:
    """Everything about a mediator that slot computation needs, detached from the session."""

    zone: ZoneInfo
    session_minutes: int = 60
    buffer_minutes: int = 15
    min_notice_hours: int = 2
    max_sessions_per_day: int = 4
    holidays_off: bool = True
    weekly: Sequence[AvailabilityRule] = ()
    exceptions: Sequence[AvailabilityException] = ()

    @classmethod
    def of(
        cls,
        settings: BookingSettings,
        weekly: Sequence[AvailabilityRule],
        exceptions: Sequence[AvailabilityException],
    ) -> Rules:
        return cls(
            zone=ZoneInfo(settings.time_zone),
            session_minutes=settings.session_minutes,
            buffer_minutes=settings.buffer_minutes,
            min_notice_hours=settings.min_notice_hours,
            max_sessions_per_day=settings.max_sessions_per_day,
            holidays_off=settings.holidays_off,
            weekly=weekly,
            exceptions=exceptions,
        )

    @property
    def buffer(self) -> timedelta:
        return timedelta(minutes=self.buffer_minutes)


def _subtract(windows: list[Window], starts: time, ends: time) -> list[Window]:
    """The windows with the hours ``starts``-``ends`` (leave) taken out."""
    result = []
    for w in windows:
        if ends <= w.starts or w.ends <= starts:
            result.append(w)
            continue
        if w.starts < starts:
            result.append(Window(w.starts, starts, w.reception, w.place))
        if ends < w.ends:
            result.append(Window(ends, w.ends, w.reception, w.place))
    return result


def day_windows(day: date, rules: Rules) -> list[Window]:
    """The hours open for sessions on the mediator's local ``day``."""
    if rules.holidays_off and clocks.is_public_holiday(day):
        weekday = None
    elif clocks.is_makeup_working_day(day):
        weekday = MAKEUP_DAY_RULES
    else:
        weekday = day.weekday()
    windows = [
        Window(r.starts, r.ends, r.reception, r.place)
        for r in rules.weekly
        if weekday is not None and r.weekday == weekday
    ]
    todays = [exc for exc in rules.exceptions if exc.day == day]
    # Extra hours first, leave after: leave wins, whatever order they were entered in.
    windows += [Window(exc.starts, exc.ends) for exc in todays if exc.available]
    for exc in (exc for exc in todays if not exc.available):
        # Leave for the whole day, or for some hours.
        windows = [] if exc.starts is None else _subtract(windows, exc.starts, exc.ends)
    return sorted(windows, key=lambda w: w.starts)


def window_end(day: date, window: Window) -> datetime:
    """The local (naive) end of ``window`` on ``day``: midnight after it for hours that run
    until 23:59 (see ``END_OF_DAY``)."""
    if window.ends >= END_OF_DAY:
        return datetime.combine(day + timedelta(days=1), time())
    return datetime.combine(day, window.ends)


def _inside(day: date, window: Window, local_start: datetime, local_end: datetime) -> bool:
    """Whether local (naive) ``local_start``-``local_end`` lies within ``window`` on ``day``."""
    return datetime.combine(day, window.starts) <= local_start and local_end <= window_end(
        day, window
    )


def _to_utc(day: date, at: time, zone: ZoneInfo) -> datetime | None:
    """The instant of local ``day`` ``at``; None inside a daylight-saving gap."""
    local = datetime.combine(day, at, tzinfo=zone)
    instant = local.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
        return None
    return instant


def conflicts(start: datetime, end: datetime, busy: Iterable[Busy], buffer: timedelta) -> bool:
    """Whether a session from ``start`` to ``end`` (plus buffer) overlaps a booked one."""
    return any(start < b.busy_until and b.start < end + buffer for b in busy)


def compute(
    rules: Rules,
    first_day: date,
    days: int,
    busy: Sequence[Busy],
    *,
    now: datetime,
    minutes: int | None = None,
    reception_only: bool = False,
) -> list[Slot]:
    """Free slots on ``days`` local days from ``first_day``, in time order."""
    length = timedelta(minutes=minutes or rules.session_minutes)
    earliest = now + timedelta(hours=rules.min_notice_hours)
    slots = []
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        if len(_sessions_on(busy, day)) >= rules.max_sessions_per_day:
            continue
        for window in day_windows(day, rules):
            if reception_only and not window.reception:
                continue
            ends = window_end(day, window)
            window_ends = _to_utc(ends.date(), ends.time(), rules.zone)
            at = datetime.combine(day, window.starts)
            while at.time() >= window.starts and at.date() == day:
                start = _to_utc(day, at.time(), rules.zone)
                at += STEP
                if start is None:
                    continue
                end = start + length
                if window_ends is None or end > window_ends:
                    break
                if start < earliest or conflicts(start, end, busy, rules.buffer):
                    continue
                slots.append(Slot(start, end, window.reception, window.place))
    return slots


def fits(
    rules: Rules,
    start: datetime,
    end: datetime,
    busy: Sequence[Busy],
    *,
    now: datetime,
    offer_key: str | None = None,
) -> str | None:
    """Why a session cannot be booked from ``start`` to ``end``; None when it can.

    Unlike ``compute`` any start inside the hours is accepted, not only the half hours.
    """
    local_start = start.astimezone(rules.zone).replace(tzinfo=None)
    local_end = end.astimezone(rules.zone).replace(tzinfo=None)
    day = local_start.date()
    if start < now + timedelta(hours=rules.min_notice_hours):
        return "notice"
    if not any(_inside(day, w, local_start, local_end) for w in day_windows(day, rules)):
        return "hours"
    already = _sessions_on(busy, day)
    if offer_key not in already and len(already) >= rules.max_sessions_per_day:
        return "daily_limit"
    if conflicts(start, end, busy, rules.buffer):
        return "taken"
    return None


def in_reception(rules: Rules, start: datetime, end: datetime) -> bool:
    """Whether the whole session lies in public reception hours."""
    local_start = start.astimezone(rules.zone).replace(tzinfo=None)
    local_end = end.astimezone(rules.zone).replace(tzinfo=None)
    day = local_start.date()
    return any(
        w.reception and _inside(day, w, local_start, local_end) for w in day_windows(day, rules)
    )


def load_rules(mediator_id: int, first_day: date, last_day: date) -> Rules:
    from .availability import settings_for  # the settings row is created on first use

    settings = settings_for(mediator_id)
    weekly = db.session.scalars(
        select(AvailabilityRule)
        .where(AvailabilityRule.mediator_id == mediator_id)
        .order_by(AvailabilityRule.weekday, AvailabilityRule.starts)
    ).all()
    exceptions = db.session.scalars(
        select(AvailabilityException).where(
            AvailabilityException.mediator_id == mediator_id,
            AvailabilityException.day.between(first_day, last_day),
        )
    ).all()
    return Rules.of(settings, weekly, exceptions)


def load_busy(
    mediator_id: int,
    first_day: date,
    last_day: date,
    *,
    ignore: int | None = None,
    others: bool = True,
) -> list[Busy]:
    """The mediator's live sessions that touch the local days ``first_day``..``last_day``,
    and (``others``) what other features promised of their time then (signals.busy_asked)."""
    # A local day in any zone lies within a day either side of the same UTC date; sessions
    # are shorter than a day.
    since = datetime.combine(first_day - timedelta(days=2), time(), tzinfo=UTC)
    until = datetime.combine(last_day + timedelta(days=2), time(), tzinfo=UTC)
    query = select(
        MediationSession.start_at,
        MediationSession.busy_until,
        MediationSession.local_day,
        MediationSession.offer_key,
        MediationSession.id,
    ).where(
        MediationSession.mediator_id == mediator_id,
        MediationSession.status != SessionStatus.cancelled,
        MediationSession.start_at < until,
        MediationSession.start_at >= since,
    )
    if ignore is not None:
        query = query.where(MediationSession.id != ignore)
    busy = [
        Busy(start, until, day, offer_key or f"#{id_}")
        for start, until, day, offer_key, id_ in db.session.execute(query)
    ]
    if others:
        for _receiver, promised in signals.busy_asked.send(mediator_id, since=since, until=until):
            busy.extend(promised)
    return busy


def free_slots(
    mediator_id: int,
    first_day: date,
    days: int,
    *,
    now: datetime,
    minutes: int | None = None,
    ignore: int | None = None,
    reception_only: bool = False,
) -> list[Slot]:
    """The mediator's free slots on ``days`` local days from ``first_day``."""
    last_day = first_day + timedelta(days=days - 1)
    rules = load_rules(mediator_id, first_day, last_day)
    # A reception slot is searched among reception talks by reception itself (without the
    # buffer sessions keep between them: talks follow one another).
    busy = load_busy(mediator_id, first_day, last_day, ignore=ignore, others=not reception_only)
    return compute(
        rules, first_day, days, busy, now=now, minutes=minutes, reception_only=reception_only
    )
