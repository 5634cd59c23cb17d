"""A region's figures, each one SQL aggregate (GROUP BY) over the cases whose area lies in
the region: no case is loaded. The filter is ``area_code LIKE '<prefix>%'`` and a period of
filing dates, which the index ``ix_cases_area_created`` answers (docs/governance.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, case, func, literal_column, select
from sqlalchemy.sql.elements import ColumnElement

from mediation.accounts.models import Institution
from mediation.cases.models import Case
from mediation.cases.states import OPEN_STATUSES, CaseStatus, TerminationReason
from mediation.cases.statistics import SETTLED
from mediation.core.db import utcnow
from mediation.extensions import db

from . import performance

# The clocks of SPC online mediation rules arts 12, 15 and 24: a case ended because one ran
# out, or an open case past one now.
MISSED_REASONS = (TerminationReason.unreachable, TerminationReason.deadline_expired)


@dataclass
class RegionFigures:
    area: str
    since: datetime
    until: datetime
    total: int = 0
    by_category: list[tuple[str, int]] = field(default_factory=list)
    by_status: list[tuple[str, int]] = field(default_factory=list)
    by_institution: list[tuple[str, int]] = field(default_factory=list)
    by_month: list[tuple[str, int]] = field(default_factory=list)
    settled: int = 0
    terminated: int = 0
    confirmed: int = 0
    clocks_missed: int = 0
    # (performed, due) over obligations due in the period; None: follow-up not available.
    performance: tuple[int, int] | None = None
    # The divisions one level down with their counts (summary.region_overview fills it).
    children: list[tuple[str, int]] = field(default_factory=list)

    @property
    def resolution_rate(self) -> float | None:
        done = self.settled + self.terminated
        return self.settled / done if done else None

    @property
    def confirmation_rate(self) -> float | None:
        return self.confirmed / self.settled if self.settled else None

    @property
    def performance_rate(self) -> float | None:
        if not self.performance or not self.performance[1]:
            return None
        return self.performance[0] / self.performance[1]


def in_region(area: str, since: datetime, until: datetime) -> ColumnElement[bool]:
    """The cases filed in the period whose place lies in ``area`` (a validated prefix of
    digits, so nothing in it is a LIKE wildcard)."""
    return and_(
        Case.area_code.like(f"{area}%"),
        Case.created_at >= since,
        Case.created_at < until,
        Case.status != CaseStatus.draft,
    )


def _month():
    """The month of filing in Beijing time (UTC+8 all year), as 'YYYY-MM'."""
    if db.session.get_bind().dialect.name == "postgresql":
        return func.to_char(Case.created_at + literal_column("interval '8 hours'"), "YYYY-MM")
    return func.strftime("%Y-%m", Case.created_at, "+8 hours")


def _grouped(column, where) -> list[tuple]:
    rows = db.session.execute(
        select(column, func.count()).where(where).group_by(column).order_by(func.count().desc())
    ).all()
    return [tuple(row) for row in rows]


def region_figures(
    area: str, since: datetime, until: datetime, now: datetime | None = None
) -> RegionFigures:
    now = now or utcnow()
    where = in_region(area, since, until)
    data = RegionFigures(area, since, until)
    data.by_category = _grouped(Case.category, where)
    data.by_status = _grouped(Case.status, where)
    data.total = sum(n for _status, n in data.by_status)
    counts = dict(data.by_status)
    data.settled = sum(counts.get(s, 0) for s in SETTLED)
    data.terminated = counts.get(CaseStatus.terminated, 0)
    data.confirmed = counts.get(CaseStatus.confirmed, 0)
    month = _month()
    data.by_month = sorted(_grouped(month, where))
    per_institution = _grouped(Case.institution_id, where)
    names = dict(
        db.session.execute(
            select(Institution.id, Institution.name).where(
                Institution.id.in_([i for i, _n in per_institution if i is not None])
            )
        ).all()
    )
    data.by_institution = [(names.get(i, ""), n) for i, n in per_institution]
    open_ = [s.value for s in OPEN_STATUSES]
    data.clocks_missed = db.session.scalar(
        select(
            func.coalesce(
                func.sum(
                    case(
                        (Case.termination_reason.in_([r.value for r in MISSED_REASONS]), 1),
                        (and_(Case.status.in_(open_), Case.mediation_due_at < now), 1),
                        (
                            and_(
                                Case.status == CaseStatus.submitted,
                                Case.acceptance_due_at < now,
                            ),
                            1,
                        ),
                        else_=0,
                    )
                ),
                0,
            )
        ).where(where)
    )
    data.performance = performance.performed_and_due(where, since, now)
    return data
