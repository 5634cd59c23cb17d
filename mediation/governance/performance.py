"""Performance of agreements in force (People's Mediation Law art 31), from the follow-up
feature's obligations: of those due by today, how many the obligee confirmed performed."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.sql.elements import ColumnElement

from mediation.cases.models import Case
from mediation.extensions import db
from mediation.followup.models import Obligation, ObligationStatus

BEIJING = ZoneInfo("Asia/Shanghai")  # due dates are days in Beijing time


def performed_and_due(
    where: ColumnElement[bool], since: datetime, now: datetime
) -> tuple[int, int]:
    """(performed in full, due) for the obligations of the cases ``where`` selects (filed
    since ``since``). An agreement comes after the filing, so its obligations fall due after
    ``since`` too: saying so lets PostgreSQL read only the period's obligations from
    ix_obligations_status_due instead of all of them."""
    today = now.astimezone(BEIJING).date()
    first = since.astimezone(BEIJING).date()
    return counted(where, [(first, today)])


def counted(where: ColumnElement[bool], days: list[tuple[date, date]]) -> tuple[int, int]:
    """(performed in full, due) for the obligations of the cases ``where`` selects that fall
    due within one of the inclusive ranges ``days``."""
    if not days:
        return 0, 0
    performed, due = db.session.execute(
        select(
            func.coalesce(
                func.sum(case((Obligation.status == ObligationStatus.performed, 1), else_=0)), 0
            ),
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
