"""Months of filing as the dashboard counts them: calendar months in Beijing time (UTC+8,
no daylight saving), named 'YYYY-MM'."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

BEIJING = ZoneInfo("Asia/Shanghai")


def month_of(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(BEIJING).strftime("%Y-%m")


def month_range(month: str) -> tuple[datetime, datetime]:
    """[start, end) of the month, in UTC."""
    year, number = int(month[:4]), int(month[5:7])
    start = datetime(year, number, 1, tzinfo=BEIJING)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=BEIJING)
    return start.astimezone(UTC), end.astimezone(UTC)


def next_month(month: str) -> str:
    year, number = int(month[:4]), int(month[5:7])
    return f"{year + number // 12}-{number % 12 + 1:02d}"


def whole_months(since: datetime, until: datetime) -> list[str]:
    """The months lying wholly within [since, until)."""
    month = month_of(since)
    if month_range(month)[0] < since:
        month = next_month(month)
    months = []
    while month_range(month)[1] <= until:
        months.append(month)
        month = next_month(month)
    return months
