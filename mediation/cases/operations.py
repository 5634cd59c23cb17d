"""Case actions. Intake, assignment and deadlines grow here (cases issue)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import update

from mediation.accounts.models import Role, User
from mediation.core.db import utcnow
from mediation.extensions import db
from mediation.journal import operations as journal

from .categories import BY_CODE
from .models import Case, CaseNumberCounter, CaseParty, CaseStatus, Side


def next_case_number() -> str:
    """Numbers run per local year: 2026-000001, never reused, even after a deletion."""
    year = utcnow().astimezone(ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])).year
    if db.session.get(CaseNumberCounter, year) is None:
        db.session.add(CaseNumberCounter(year=year, last=0))
        db.session.flush()
    # One atomic statement: concurrent filings each get their own number on both databases.
    last = db.session.execute(
        update(CaseNumberCounter)
        .where(CaseNumberCounter.year == year)
        .values(last=CaseNumberCounter.last + 1)
        .returning(CaseNumberCounter.last)
    ).scalar_one()
    return f"{year}-{last:06d}"


def open_case(
    *,
    title: str,
    category: str,
    applicants: list[User],
    respondents: list[User],
    facts: str = "",
    by: User,
) -> Case:
    if category not in BY_CODE:
        raise ValueError(f"unknown category {category!r}")
    case = Case(number=next_case_number(), title=title, category=category, facts=facts)
    case.parties = [CaseParty(user=u, side=Side.applicant) for u in applicants] + [
        CaseParty(user=u, side=Side.respondent) for u in respondents
    ]
    db.session.add(case)
    db.session.flush()
    journal.append(
        case.id,
        "case.opened",
        {
            "number": case.number,
            "category": category,
            "applicants": [u.id for u in applicants],
            "respondents": [u.id for u in respondents],
        },
        actor_id=by.id,
    )
    return case


def assign(case: Case, *, institution_id: int, mediator: User | None, by: User) -> None:
    case.institution_id = institution_id
    case.mediator_id = mediator.id if mediator else None
    if mediator is not None:
        case.status = CaseStatus.mediating
    db.session.flush()
    journal.append(
        case.id,
        "case.assigned",
        {"institution_id": institution_id, "mediator_id": case.mediator_id},
        actor_id=by.id,
    )


def can_view(user: User, case: Case) -> bool:
    """Parties of the case, its mediator, its institution's administrators, platform admins."""
    if user.has_role(Role.platform_admin):
        return True
    if any(p.user_id == user.id for p in case.parties):
        return True
    if case.mediator_id == user.id:
        return True
    return (
        user.has_role(Role.institution_admin)
        and case.institution_id is not None
        and case.institution_id == user.institution_id
    )
