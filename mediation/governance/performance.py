"""Performance of agreements in force (People's Mediation Law art 31), from the follow-up
feature's obligations: of those whose date has passed, how many were performed in full on
time (the same rule as the follow-up feature's own rate, followup.operations.on_time)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.sql.elements import ColumnElement

from mediation.cases.models import Case
from mediation.extensions import db
from mediation.followup.models import Obligation, ObligationStatus
from mediation.followup.operations import on_time

BEIJING = ZoneInfo("Asia/Shanghai")  # due dates are days in Beijing time


def performed_and_due(
    where: ColumnElement[bool], since: datetime, now: datetime
) -> tuple[int, int]:
    """(performed in full on time, due) for the obligations of the cases ``where`` selects (filed
    since ``since``). An agreement comes after the filing, so its obligations fall due after
    ``since`` too: saying so lets PostgreSQL read only the period's obligations from
    ix_obligations_status_due instead of all of them."""
    today = now.astimezone(BEIJING).date()
    first = since.astimezone(BEIJING).date()
    # Due today is not yet late: performance may still come on time.
    return counted(where, [(first, today - timedelta(days=1))])


def counted(where: ColumnElement[bool], days: list[tuple[date, date]]) -> tuple[int, int]:
    """(performed in full, due) for the obligations of the cases ``where`` selects that fall
    due within one of the inclusive ranges ``days``."""
    if not days:
        return 0, 0
    performed, due = db.session.execute(
        select(
            func.coalesce(func.sum(case((on_time(), 1), else_=0)), 0),
            func.count(),
        )
        .select_from(Obligation)
        .join(Case, Case.id == Obligation.case_id)
        .where(
            where,
            Obligation.status.in_([s.value for s in ObligationStatus]),
            or_(*(and_(Obligation.due_on >= a, Obligation.due_on <= b) for a, b in days)),
        )
    ).one()
    return performed, due
