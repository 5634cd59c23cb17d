"""Statutory clocks: working days by the State Council's holiday calendar, and periods in days.

Working days come from the chinese-calendar package (public holidays and the weekend days
made into working days, 调休), and for the years the operator's holiday file gives, from that
file (cases/holidays.py): the State Council publishes each year's calendar in its last weeks,
before the package's next release. A year neither knows falls back to Monday-Friday and says
so in the log.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import chinese_calendar
from flask import current_app, has_app_context

from .holidays import EMPTY, Supplement

log = logging.getLogger(__name__)

# SPC online mediation rules art 10 and art 12: assign, and accept, within 3 working days.
ACCEPTANCE_WORKING_DAYS = 3
# Art 15: the mediator helps to ask the respondent within 3 working days of accepting.
RESPONDENT_WORKING_DAYS = 3
# Art 24: 30 days of mediation before filing, counted from the acceptance.
MEDIATION_DAYS = 30
# CPL 2023 art 205: the joint application within 30 days of the agreement taking effect.
CONFIRMATION_DAYS = 30


SUPPLEMENT = "holidays"  # app.extensions key: the operator's file, read at start-up


def supplement() -> Supplement:
    """The operator's holiday file of the running app (none outside an app)."""
    return current_app.extensions.get(SUPPLEMENT, EMPTY) if has_app_context() else EMPTY


def known_until() -> int:
    """The last year whose public holidays are known, by the package or, for the years after
    it, the operator's file."""
    year = max(chinese_calendar.holidays).year
    years = supplement().years
    while year + 1 in years:
        year += 1
    return year


def missing_year(today: date) -> int | None:
    """The next year whose holidays nobody has given, once it is near (from 15 November of
    the last year known, when the State Council's notice is due), for the administrators'
    page to say so; None otherwise."""
    last = known_until()
    return last + 1 if today >= date(last, 11, 15) else None


def is_working_day(day: date) -> bool:
    extra = supplement()
    if extra.decides(day):
        return extra.is_working_day(day)
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        _warn_no_calendar(day.year)
        return day.weekday() < 5


def is_public_holiday(day: date) -> bool:
    """A State Council public holiday (not merely a weekend)."""
    extra = supplement()
    if extra.decides(day):
        return extra.holiday(day) is not None
    try:
        holiday, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        _warn_no_calendar(day.year)
        return False
    return holiday and name is not None


def is_makeup_working_day(day: date) -> bool:
    """A Saturday or Sunday made into a working day (调休)."""
    return day.weekday() >= 5 and is_working_day(day)


@cache
def _warn_no_calendar(year: int) -> None:
    log.warning(
        "chinese-calendar has no holidays for %d yet; counting Monday-Friday as working "
        "days. Once the State Council has published the calendar, give the year in the "
        "holiday file (MEDIATION_HOLIDAYS_FILE, see `mediation cases calendar --help`) or "
        "upgrade the package.",
        year,
    )


def _end_of_day(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.max, tzinfo=zone).astimezone(UTC)


def working_days_after(start: datetime, days: int, zone: ZoneInfo) -> datetime:
    """The end of the ``days``-th working day after the local day of ``start``."""
    day = start.astimezone(zone).date()
    counted = 0
    while counted < days:
        day += timedelta(days=1)
        if is_working_day(day):
            counted += 1
    return _end_of_day(day, zone)


def period_end(start: datetime, days: int, zone: ZoneInfo) -> datetime:
    """The end of a period of ``days`` days beginning at ``start``.

    Civil Code arts 201 and 203: the first day is not counted, and a period whose last day
    is a public holiday ends on the first working day after it.
    """
    day = start.astimezone(zone).date() + timedelta(days=days)
    while not is_working_day(day):
        day += timedelta(days=1)
    return _end_of_day(day, zone)


def remaining_days(due: datetime, now: datetime, zone: ZoneInfo) -> int:
    """Whole local days left until ``due`` (0 on the last day, negative when overdue)."""
    return (due.astimezone(zone).date() - now.astimezone(zone).date()).days


def recompute(case, *, assigned_at: datetime | None, extensions: list[int], zone: ZoneInfo) -> None:
    """Compute the running clock of ``case`` again from the facts it started from.

    Deadlines are stored when a step is taken; one that crossed into a year the calendar
    package did not yet know was counted Monday-Friday. The worker runs this for every open
    case once the calendar knows a later year (a package upgrade, a year added to the holiday
    file; ``extension.recompute_when_calendar_grew``); ``mediation cases recompute-deadlines``
    does it at once (needed after a known year's days were changed in the file).
    """
    if case.status in ("submitted", "declined") and assigned_at is not None:
        case.acceptance_due_at = working_days_after(assigned_at, ACCEPTANCE_WORKING_DAYS, zone)
    elif case.status == "awaiting_respondent" and case.accepted_at is not None:
        case.respondent_due_at = working_days_after(case.accepted_at, RESPONDENT_WORKING_DAYS, zone)
    if case.status in ("in_mediation", "agreement_drafted", "awaiting_respondent") and (
        case.accepted_at is not None
    ):
        due = period_end(case.accepted_at, MEDIATION_DAYS, zone)
        for days in extensions:  # granted extensions, in the order they were granted
            due = period_end(due, days, zone)
        case.mediation_due_at = due
