"""Shared for booking tests: a case in mediation whose mediator keeps weekday hours."""

from datetime import UTC, date, datetime, time
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
