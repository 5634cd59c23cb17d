"""Figures for institutions and the platform: cases by category and state, how often
mediation succeeds, how long it takes, per mediator."""

from __future__ import annotations

import csv
import io
import statistics
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import select

from mediation.accounts.models import User
from mediation.extensions import db

from . import signals
from .categories import category_name
from .models import Case
from .states import CaseStatus

# An agreement was reached (art 25 (1)), whatever the court later decides.
SETTLED = frozenset(
    {
        CaseStatus.signed,
        CaseStatus.confirmation_requested,
        CaseStatus.confirmed,
        CaseStatus.rejected,
    }
)


@dataclass
class MediatorFigures:
    name: str
    cases: int = 0
    settled: int = 0
    ended: int = 0
    days: list[float] = field(default_factory=list)

    @property
    def success_rate(self) -> float | None:
        done = self.settled + self.ended
        return self.settled / done if done else None

    @property
    def median_days(self) -> float | None:
        return statistics.median(self.days) if self.days else None


@dataclass
class Figures:
    total: int
    by_category: list[tuple[str, int]]
    by_status: list[tuple[str, int]]
    settled: int
    ended: int
    median_days: float | None
    mediators: list[MediatorFigures]
    # Counts of other features by name (signals.figures_asked), e.g. consultations.
    others: dict[str, int] = field(default_factory=dict)

    @property
    def success_rate(self) -> float | None:
        done = self.settled + self.ended
        return self.settled / done if done else None


def figures(institution_id: int | None = None) -> Figures:
    """All cases past the draft, or those of one institution."""
    query = select(Case).where(Case.status != CaseStatus.draft)
    if institution_id is not None:
        query = query.where(Case.institution_id == institution_id)
    cases = db.session.scalars(query).all()
    names = dict(db.session.execute(select(User.id, User.real_name)).all())
    per_mediator: dict[int, MediatorFigures] = {}
    days = []
    for case in cases:
        duration = None
        if case.status in SETTLED and case.accepted_at and case.signed_at:
            duration = (case.signed_at - case.accepted_at).total_seconds() / 86400
            days.append(duration)
        if case.mediator_id is not None:
            row = per_mediator.setdefault(
                case.mediator_id, MediatorFigures(names.get(case.mediator_id, "?"))
            )
            row.cases += 1
            row.settled += case.status in SETTLED
            row.ended += case.status == CaseStatus.terminated
            if duration is not None:
                row.days.append(duration)
    by_category = Counter(case.category for case in cases)
    by_status = Counter(case.status for case in cases)
    return Figures(
        total=len(cases),
        by_category=[(category_name(code), n) for code, n in by_category.most_common()],
        by_status=sorted(by_status.items(), key=lambda item: -item[1]),
        settled=sum(n for status, n in by_status.items() if status in SETTLED),
        ended=by_status.get(CaseStatus.terminated, 0),
        median_days=statistics.median(days) if days else None,
        mediators=sorted(per_mediator.values(), key=lambda m: -m.cases),
        others={
            name: count
            for _receiver, counts in signals.figures_asked.send(institution_id)
            for name, count in (counts or {}).items()
        },
    )


def to_csv(data: Figures, headings: dict[str, str]) -> str:
    """One row per mediator, then the totals; UTF-8 with BOM so that Excel reads Chinese."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(
        [
            headings["mediator"],
            headings["cases"],
            headings["settled"],
            headings["ended"],
            headings["success_rate"],
            headings["median_days"],
        ]
    )
    rows = [*data.mediators]
    for m in rows:
        writer.writerow(
            [
                spreadsheet_text(m.name),
                m.cases,
                m.settled,
                m.ended,
                _pct(m.success_rate),
                _num(m.median_days),
            ]
        )
    writer.writerow(
        [
            headings["total"],
            data.total,
            data.settled,
            data.ended,
            _pct(data.success_rate),
            _num(data.median_days),
        ]
    )
    return out.getvalue()


# A cell a spreadsheet would read as a formula (OWASP "CSV Injection": = + - @, and tab and
# carriage return, which some programs skip before looking; the full-width forms a Chinese
# input method types, which some spreadsheets normalise).
_FORMULA_START = tuple("=+-@\t\r\n＝＋－＠")


def spreadsheet_text(value: str) -> str:
    """Text a person typed (a mediator's name), as a cell Excel or WPS shows and never runs:
    a leading apostrophe makes a formula plain text. Numbers are written as numbers and need
    none."""
    return f"'{value}" if value.startswith(_FORMULA_START) else value


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f}%"


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"
