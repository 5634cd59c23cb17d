"""The mediator's caseload: one query with filters and sorting, plus counts per status.

The next deadline of a case is whichever of its clocks runs out first; it is computed in SQL
so that sorting and the "overdue" filter stay in the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Select, func, select
from sqlalchemy import case as sql_case
from sqlalchemy.orm import selectinload

from mediation.accounts.models import User
from mediation.core.db import utcnow
from mediation.extensions import db

from .models import Case, CaseParty
from .states import ACTIVE_STATUSES, CaseStatus

SORTS = ("deadline", "filed", "number")
PAGE_SIZE = 50


@dataclass
class CaseloadFilter:
    status: str | None = None
    category: str | None = None
    party: str = ""  # part of a party's name
    due_within_days: int | None = None  # 0: overdue only
    sort: str = "deadline"
    page: int = 1


@dataclass
class Caseload:
    cases: list[Case]
    total: int
    counts: dict[str, int] = field(default_factory=dict)


def next_deadline():
    """The clock that runs in the case's state, as a SQL expression (NULL when none runs)."""
    return sql_case(
        (Case.status.in_([CaseStatus.submitted, CaseStatus.declined]), Case.acceptance_due_at),
        (Case.status == CaseStatus.awaiting_respondent, Case.respondent_due_at),
        (
            Case.status.in_([CaseStatus.in_mediation, CaseStatus.agreement_drafted]),
            Case.mediation_due_at,
        ),
        else_=None,
    )


def _filtered(query: Select, flt: CaseloadFilter, now: datetime) -> Select:
    if flt.status:
        query = query.where(Case.status == flt.status)
    if flt.category:
        query = query.where(Case.category == flt.category)
    if flt.party.strip():
        # Escaped, and case-insensitive on both databases (Latin names of foreign parties).
        text = flt.party.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(
            Case.id.in_(
                select(CaseParty.case_id)
                .join(User, User.id == CaseParty.user_id)
                .where(User.real_name.ilike(f"%{text}%", escape="\\"))
            )
        )
    if flt.due_within_days is not None:
        query = query.where(next_deadline() <= now + timedelta(days=flt.due_within_days))
    return query


def caseload_for(mediator: User, flt: CaseloadFilter, *, now: datetime | None = None) -> Caseload:
    now = now or utcnow()
    mine = select(Case).where(Case.mediator_id == mediator.id)
    if not flt.status:
        mine = mine.where(Case.status.in_(ACTIVE_STATUSES))
    query = _filtered(mine, flt, now)
    order = {
        "deadline": (next_deadline().is_(None), next_deadline(), Case.id),
        "filed": (Case.submitted_at.desc(), Case.id.desc()),
        "number": (Case.number,),
    }[flt.sort if flt.sort in SORTS else "deadline"]
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    cases = db.session.scalars(
        query.order_by(*order)
        .options(selectinload(Case.parties).selectinload(CaseParty.user))
        .limit(PAGE_SIZE)
        .offset((max(flt.page, 1) - 1) * PAGE_SIZE)
    ).all()
    counts = dict(
        db.session.execute(
            select(Case.status, func.count())
            .where(Case.mediator_id == mediator.id)
            .group_by(Case.status)
        ).all()
    )
    return Caseload(list(cases), total, counts)


def running_deadline(case: Case) -> datetime | None:
    """The same choice as ``next_deadline``, for a loaded case."""
    if case.status in (CaseStatus.submitted, CaseStatus.declined):
        return case.acceptance_due_at
    if case.status == CaseStatus.awaiting_respondent:
        return case.respondent_due_at
    if case.status in (CaseStatus.in_mediation, CaseStatus.agreement_drafted):
        return case.mediation_due_at
    return None


def is_overdue(case: Case, now: datetime | None = None) -> bool:
    due = running_deadline(case)
    return due is not None and due < (now or utcnow())
