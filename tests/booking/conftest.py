"""Shared for booking tests: a case in mediation whose mediator keeps weekday hours."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.factories import add_weekly_hours, make_mediating_case

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)  # Friday morning in Shanghai


def at(day: int, hhmm: str) -> datetime:
    """A time in Shanghai on ``day`` November 2026, as UTC."""
    return datetime.combine(
        date(2026, 11, day), time.fromisoformat(hhmm), tzinfo=SHANGHAI
    ).astimezone(UTC)


@pytest.fixture
def case(app_ctx):
    case = make_mediating_case()
    add_weekly_hours(case.mediator)
    return case


def _clear_week_ahead() -> date:
    """The Monday of the first week starting two days ahead or later whose weekdays all are
    working days, for tests that go through the real clock (pages, links, the browser).
    Outside holiday weeks its Monday to Friday lie within the two weeks the booking page
    offers (``booking.views.SEARCH_DAYS``), whatever today's weekday: Monday is 2 to 8 days
    ahead."""
    from mediation.cases import clocks

    today = datetime.now(SHANGHAI).date()
    monday = today + timedelta(days=(7 - today.weekday()) % 7)
    if monday - today < timedelta(days=2):
        monday += timedelta(days=7)
    while not all(clocks.is_working_day(monday + timedelta(days=d)) for d in range(5)):
        monday += timedelta(days=7)
    return monday


AHEAD = _clear_week_ahead()


def ahead(weekday: int, hhmm: str) -> datetime:
    """A time in Shanghai on ``weekday`` (0 = Monday) of the clear week ahead, as UTC."""
    return datetime.combine(
        AHEAD + timedelta(days=weekday), time.fromisoformat(hhmm), tzinfo=SHANGHAI
    ).astimezone(UTC)
