"""How similar disputes went on this platform, as figures nobody can be recognised in.

Similar means the same category, the same province when one is chosen, and the claim in the
same amount band. Only closed cases count (an agreement signed, or mediation ended without
one). A group smaller than MIN_GROUP is never shown: with a handful of cases a neighbour
could tell whose dispute a figure describes, so the page then widens to every province, and
failing that says the platform has too few cases yet and shows the statutory limits alone.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import case as when
from sqlalchemy import func, select

from mediation.cases.models import Case, Claim
from mediation.cases.states import CaseStatus
from mediation.cases.statistics import SETTLED
from mediation.extensions import db

MIN_GROUP = 10
# The most recent closed cases of a group that its durations are taken from.
SAMPLE = 2_000

# Lower edges of the amount bands, in yuan; the last band is open.
BANDS: tuple[Decimal, ...] = (
    Decimal(0),
    Decimal(10_000),
    Decimal(100_000),
    Decimal(500_000),
    Decimal(1_000_000),
)

CLOSED = frozenset({*SETTLED, CaseStatus.terminated})


def band(amount: Decimal) -> tuple[Decimal, Decimal | None]:
    """The band ``amount`` falls in, as (lower, upper) with upper exclusive or None."""
    lower, upper = BANDS[0], None
    for n, edge in enumerate(BANDS):
        if amount >= edge:
            lower = edge
            upper = BANDS[n + 1] if n + 1 < len(BANDS) else None
    return lower, upper


@dataclass(frozen=True)
class Outcomes:
    cases: int
    settled: int
    median_days: float | None  # from acceptance to the agreement or the end
    nationwide: bool  # the province's own group was too small, so every province counts

    @property
    def settled_share(self) -> float:
        return self.settled / self.cases if self.cases else 0.0


def _days(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None or end < start:
        return None
    return (end - start).total_seconds() / 86_400


def _group(category: str, amount: Decimal, province: str | None) -> tuple[int, int, list]:
    lower, upper = band(amount)
    totals = (
        select(Claim.case_id, func.sum(Claim.amount).label("total"))
        .group_by(Claim.case_id)
        .subquery()
    )
    settled = Case.status.in_([str(s) for s in SETTLED])
    conditions = [
        Case.category == category,
        Case.status.in_([str(s) for s in CLOSED]),
        totals.c.total >= lower,
    ]
    if upper is not None:
        conditions.append(totals.c.total < upper)
    if province:
        conditions.append(Case.region_code.startswith(province[:2]))
    base = select(Case).join(totals, totals.c.case_id == Case.id).where(*conditions)
    counted = base.with_only_columns(
        func.count(Case.id), func.sum(when((settled, 1), else_=0))
    ).order_by(None)
    total, settled_count = db.session.execute(counted).one()
    ended_at = func.coalesce(Case.signed_at, Case.closed_at)
    recent = base.with_only_columns(Case.accepted_at, Case.signed_at, Case.closed_at).order_by(
        ended_at.desc()
    )
    rows = db.session.execute(recent.limit(SAMPLE)).all() if total >= MIN_GROUP else []
    return int(total or 0), int(settled_count or 0), rows


def similar(category: str, amount: Decimal, province: str | None = None) -> Outcomes | None:
    """Figures of closed cases like this one, or None while there are too few to show."""
    for scope in [province, None] if province else [None]:
        total, settled, rows = _group(category, amount, scope)
        if total < MIN_GROUP:
            continue
        days = [d for a, s, c in rows if (d := _days(a, s or c)) is not None]
        return Outcomes(
            cases=total,
            settled=settled,
            median_days=statistics.median(days) if days else None,
            nationwide=scope is None and province is not None,
        )
    return None
