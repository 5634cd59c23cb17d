"""The figures of a region as the dashboard shows them: for a province or a city, the
monthly tallies (tallies.py) of the whole months of the period that are built and clean,
plus the rest counted live from the cases (the period's partial first and last months,
months changed since the worker's last refresh); for a district or a street, everything
live (a district's year is a few thousand cases on ``ix_cases_area_created``). Either way the
figures equal figures.region_figures' (tests/governance/test_summary.py); only the clocks
still running (open cases past a deadline, which depends on now) are always counted live,
from the partial index ``ix_cases_open_created``."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select, union_all

from mediation.accounts.models import Institution
from mediation.cases.models import Case
from mediation.cases.states import OPEN_STATUSES, CaseStatus
from mediation.cases.statistics import SETTLED
from mediation.core.db import utcnow
from mediation.extensions import db

from . import performance, tallies
from .figures import RegionFigures, in_region, region_figures
from .listing import NEXT_LEVEL, child_areas
from .models import MonthlyTally
from .months import BEIJING, month_range, next_month, whole_months

SUMMARISED = (2, 4)  # a province, a city: their children (cities, districts) are tallied


def region_overview(
    area: str, since: datetime, until: datetime, now: datetime | None = None
) -> RegionFigures:
    now = now or utcnow()
    if len(area) not in SUMMARISED:
        data = region_figures(area, since, until, now)
        data.children = child_areas(area, since, until)
        return data
    whole = whole_months(since, until)
    usable = tallies.built_months(whole) - tallies.dirty_months() if whole else set()
    covered = [m for m in whole if m in usable]
    return _assemble(area, since, until, now, covered)


def _ranges(months: list[str]) -> list[tuple[datetime, datetime]]:
    """Consecutive months merged into [start, end) ranges."""
    out: list[tuple[datetime, datetime]] = []
    for month in months:
        start, end = month_range(month)
        if out and out[-1][1] == start:
            out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def _gaps(since: datetime, until: datetime, covered) -> list[tuple[datetime, datetime]]:
    gaps, cursor = [], since
    for start, end in covered:
        if cursor < start:
            gaps.append((cursor, start))
        cursor = end
    if cursor < until:
        gaps.append((cursor, until))
    return gaps


def _assemble(area, since, until, now, covered: list[str]) -> RegionFigures:
    length = NEXT_LEVEL[len(area)]
    counts: dict[tuple[str, str], int] = defaultdict(int)
    months: dict[str, int] = defaultdict(int)
    children: dict[str, int] = defaultdict(int)

    def add(rows) -> None:
        for child, month, kind, value, n in rows:
            counts[kind, value] += n
            if kind == "status":
                months[month] += n
                if child and len(child) >= length:
                    children[child] += n

    blocks = _ranges(covered)
    if covered:
        # The area's own rows, and its children's counts by status (primary-key ranges).
        for place, month, kind, value, n in db.session.execute(
            select(
                MonthlyTally.area_code,
                MonthlyTally.month,
                MonthlyTally.kind,
                MonthlyTally.value,
                MonthlyTally.cases,
            ).where(
                MonthlyTally.month.in_(covered),
                or_(
                    and_(
                        MonthlyTally.area_code == area,
                        MonthlyTally.kind.in_(["category", "status", "institution", "missed"]),
                    ),
                    and_(
                        MonthlyTally.area_code.like(f"{area}%"),
                        func.length(MonthlyTally.area_code) == length,
                        MonthlyTally.kind == "status",
                    ),
                ),
            )
        ):
            if place != area:
                children[place] += n
                continue
            counts[kind, value] += n
            if kind == "status":
                months[month] += n
    live_child = func.substr(Case.area_code, 1, length)
    gaps = _gaps(since, until, blocks)
    for start, end in gaps:
        add(
            db.session.execute(
                union_all(*tallies.case_tallies(in_region(area, start, end), live_child))
            ).all()
        )

    data = RegionFigures(area, since, until)
    by = defaultdict(list)
    for (kind, value), n in counts.items():
        if n:
            by[kind].append((value, n))
    for kind in by:
        by[kind].sort(key=lambda row: (-row[1], row[0]))
    data.by_category = by["category"]
    data.by_status = by["status"]
    data.total = sum(n for _s, n in data.by_status)
    status = dict(data.by_status)
    data.settled = sum(status.get(s, 0) for s in SETTLED)
    data.terminated = status.get(CaseStatus.terminated, 0)
    data.confirmed = status.get(CaseStatus.confirmed, 0)
    data.by_month = sorted((m, n) for m, n in months.items() if n)
    ids = [int(v) for v, _n in by["institution"] if v]
    names = (
        dict(
            db.session.execute(
                select(Institution.id, Institution.name).where(Institution.id.in_(ids))
            ).all()
        )
        if ids
        else {}
    )
    data.by_institution = [(names.get(int(v), "") if v else "", n) for v, n in by["institution"]]
    data.children = sorted(children.items())
    data.clocks_missed = counts["missed", ""] + _clocks_running(area, since, until, now)
    data.performance = _performance(area, since, now, covered, blocks, gaps)
    return data


def _clocks_running(area, since, until, now) -> int:
    """Open cases past a deadline, not already counted as ended by a clock: the part of
    figures.region_figures' "clocks missed" that depends on now."""
    open_ = [s.value for s in OPEN_STATUSES]
    return db.session.scalar(
        select(func.count()).where(
            in_region(area, since, until),
            Case.status.in_(open_),
            or_(Case.termination_reason.is_(None), Case.termination_reason.not_in(tallies.MISSED)),
            or_(
                Case.mediation_due_at < now,
                and_(Case.status == CaseStatus.submitted, Case.acceptance_due_at < now),
            ),
        )
    )


def _performance(area, since, now, covered, blocks, gaps) -> tuple[int, int]:
    """performance.performed_and_due, from the tallies for the obligations of covered
    months falling due in whole months between the period's first day and this month."""
    first = since.astimezone(BEIJING).date()
    today = now.astimezone(BEIJING).date()
    # Due today is not yet late (performance.performed_and_due): counted up to yesterday.
    last = today - timedelta(days=1)
    low = first.strftime("%Y-%m") if first.day == 1 else next_month(first.strftime("%Y-%m"))
    high = today.strftime("%Y-%m")
    performed = due = 0
    for start, end in gaps:
        p, d = performance.counted(in_region(area, start, end), [(first, last)])
        performed, due = performed + p, due + d
    if not covered:
        return performed, due
    if low < high:
        rows = db.session.execute(
            select(MonthlyTally.kind, func.sum(MonthlyTally.cases))
            .where(
                MonthlyTally.month.in_(covered),
                MonthlyTally.area_code == area,
                MonthlyTally.kind.in_(["due", "performed"]),
                MonthlyTally.value >= low,
                MonthlyTally.value < high,
            )
            .group_by(MonthlyTally.kind)
        ).all()
        summed = dict(rows)
        performed += summed.get("performed") or 0
        due += summed.get("due") or 0
        days = [(first, month_range(low)[0].astimezone(BEIJING).date() - timedelta(days=1))]
        days.append((month_range(high)[0].astimezone(BEIJING).date(), last))
    else:
        days = [(first, last)]
    days = [(a, b) for a, b in days if a <= b]
    for start, end in blocks:
        p, d = performance.counted(in_region(area, start, end), days)
        performed, due = performed + p, due + d
    return performed, due
