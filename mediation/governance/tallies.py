"""The monthly tallies behind a province's and a city's dashboard (``governance_monthly``).

Each month of filing (Beijing time) holds, per district, the counts the dashboard shows
(docs/governance.md). They stay exact without trusting the worker's timing:

- every flush that changes what a month counts (a case's status, category, institution,
  place, termination reason or filing time; an obligation added, removed, performed or
  moved) writes the month into ``governance_dirty_months`` in the same transaction;
- the dashboard counts dirty months, months not built yet and the period's partial months
  live (mediation/governance/summary.py);
- the worker's ``refresh`` rebuilds dirty and missing months and then deletes exactly the
  markers it read (a change committed meanwhile leaves its own marker behind).

The marks come from the ORM; a bulk UPDATE of those columns must mark its months itself, or
be followed by ``mediation governance-rebuild``."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import (
    String,
    and_,
    cast,
    delete,
    event,
    func,
    insert,
    inspect,
    literal,
    literal_column,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from mediation.cases.models import Case
from mediation.cases.states import CaseStatus
from mediation.extensions import db
from mediation.followup.models import Obligation, ObligationStatus
from mediation.followup.operations import on_time

from .models import DirtyMonth, MonthlyTally
from .months import month_of, month_range, next_month

MISSED = ("unreachable", "deadline_expired")  # figures.MISSED_REASONS' values
CASE_FIELDS = ("status", "category", "institution_id", "area_code", "termination_reason")
OBLIGATION_FIELDS = ("status", "due_on", "case_id")
# Every figure of each province and city; of each district only its count by status (the
# "divisions within" of a city's page): a province's year is then a few thousand rows.
ALL_KINDS = ("category", "status", "institution", "missed", "due")
LEVELS = ((2, ALL_KINDS), (4, ALL_KINDS), (6, ("status",)))


def _is_postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def case_month():
    """The month of filing in Beijing time (UTC+8 all year), as 'YYYY-MM'."""
    if _is_postgresql():
        return func.to_char(Case.created_at + literal_column("interval '8 hours'"), "YYYY-MM")
    return func.strftime("%Y-%m", Case.created_at, "+8 hours")


def _due_month():
    if _is_postgresql():
        return func.to_char(Obligation.due_on, "YYYY-MM")
    return func.strftime("%Y-%m", Obligation.due_on)


def case_tallies(where, area, kinds=("category", "status", "institution", "missed")):
    """(area, month, kind, value, count) of the cases ``where`` selects, ``area`` being the
    place column to group by: one SELECT per kind, glued by UNION ALL."""
    month = case_month()
    counted = and_(where, Case.status != CaseStatus.draft, Case.area_code.is_not(None))

    def part(kind: str, value, *extra):
        return (
            select(area, month, literal(kind), value, func.count())
            .where(counted, *extra)
            .group_by(area, month, value)
        )

    parts = {
        "category": lambda: part("category", Case.category),
        "status": lambda: part("status", Case.status),
        "institution": lambda: part(
            "institution", func.coalesce(cast(Case.institution_id, String), "")
        ),
        "missed": lambda: part("missed", literal(""), Case.termination_reason.in_(MISSED)),
    }
    return [parts[kind]() for kind in kinds if kind in parts]


def _obligation_tallies(where, area):
    month, due = case_month(), _due_month()
    joined = (
        select(area, month, literal("due"), due, func.count())
        .select_from(Obligation)
        .join(Case, Case.id == Obligation.case_id)
    )
    counted = (
        where,
        Case.status != CaseStatus.draft,
        Case.area_code.is_not(None),
        Obligation.due_on.is_not(None),
        Obligation.status.in_([s.value for s in ObligationStatus]),
    )
    performed = on_time()  # in full by the end of the due date, as performance counts it
    return [
        joined.where(*counted).group_by(area, month, due),
        select(area, month, literal("performed"), due, func.count())
        .select_from(Obligation)
        .join(Case, Case.id == Obligation.case_id)
        .where(*counted, performed)
        .group_by(area, month, due),
    ]


def build_month(month: str) -> None:
    """Replace the month's tallies with those of the cases filed in it now."""
    start, end = month_range(month)
    filed = and_(Case.created_at >= start, Case.created_at < end)
    db.session.execute(delete(MonthlyTally).where(MonthlyTally.month == month))
    columns = ["area_code", "month", "kind", "value", "cases"]
    for length, kinds in LEVELS:
        where = and_(filed, func.length(Case.area_code) >= length)
        area = func.substr(Case.area_code, 1, length)
        rows = case_tallies(where, area, kinds)
        if "due" in kinds:
            rows += _obligation_tallies(where, area)
        db.session.execute(insert(MonthlyTally).from_select(columns, union_all(*rows)))
    db.session.add(MonthlyTally(month=month, area_code="", kind="built", value="", cases=0))
    db.session.flush()


def built_months(months: list[str] | None = None) -> set[str]:
    """The months whose tallies are complete (of ``months``: primary-key lookups)."""
    query = select(MonthlyTally.month).where(
        MonthlyTally.area_code == "", MonthlyTally.kind == "built"
    )
    if months is not None:
        query = query.where(MonthlyTally.month.in_(months))
    return set(db.session.scalars(query))


def dirty_months() -> set[str]:
    return set(db.session.scalars(select(DirtyMonth.month).distinct()))


def _all_months(now: datetime) -> list[str]:
    first = db.session.scalar(select(func.min(Case.created_at)))
    if first is None:
        return []
    months, month = [], month_of(first)
    last = month_of(now)
    while month <= last:
        months.append(month)
        month = next_month(month)
    return months


def _locked() -> bool:
    """One worker rebuilds at a time (PostgreSQL; SQLite has one writer anyway)."""
    if not _is_postgresql():
        return True
    return bool(db.session.scalar(select(func.pg_try_advisory_xact_lock(21_0001))))


def refresh(now: datetime | None = None) -> int:
    """Rebuild the months marked dirty and those never built; the edge commits."""
    if not _locked():
        return 0
    now = now or datetime.now(UTC)
    marks = db.session.execute(select(DirtyMonth.id, DirtyMonth.month)).all()
    built = built_months()
    todo = {month for _id, month in marks} | (set(_all_months(now)) - built)
    for month in sorted(todo):
        build_month(month)
    if marks:
        db.session.execute(delete(DirtyMonth).where(DirtyMonth.id.in_([i for i, _m in marks])))
    return len(todo)


def rebuild(now: datetime | None = None) -> int:
    """Everything from scratch (``mediation governance-rebuild``)."""
    if not _locked():
        return 0
    db.session.execute(delete(MonthlyTally))
    db.session.execute(delete(DirtyMonth))
    months = _all_months(now or datetime.now(UTC))
    for month in months:
        build_month(month)
    return len(months)


def _changed(obj, fields: Iterable[str]) -> list:
    """Old values of the fields a flush changed (empty: nothing that counts changed)."""
    state = inspect(obj)
    old = []
    for name in fields:
        history = state.attrs[name].history
        if history.has_changes():
            old.extend(history.deleted or [None])
    return old


@event.listens_for(Session, "after_flush")
def _mark_dirty(session: Session, _context) -> None:
    months: set[str] = set()
    case_ids: set[int] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Case):
            moved = _changed(obj, ("created_at",))
            if obj in session.dirty and not moved and not _changed(obj, CASE_FIELDS):
                continue
            if obj.status == CaseStatus.draft and not _changed(obj, ("status",)):
                continue
            months.update(month_of(t) for t in (obj.created_at, *moved) if t is not None)
        elif isinstance(obj, Obligation):
            if obj in session.dirty and not _changed(obj, OBLIGATION_FIELDS):
                continue
            case_ids.update(i for i in (obj.case_id, *_changed(obj, ("case_id",))) if i)
    connection = session.connection()
    if case_ids:
        filed = connection.execute(select(Case.created_at).where(Case.id.in_(case_ids)))
        months.update(month_of(t) for (t,) in filed)
    if months:
        connection.execute(insert(DirtyMonth), [{"month": m} for m in sorted(months)])
