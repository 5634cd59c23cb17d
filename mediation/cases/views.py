"""HTTP handlers of the cases feature."""

from __future__ import annotations

from flask import abort, render_template
from flask_login import current_user, login_required
from sqlalchemy import select

from mediation.accounts.models import Role
from mediation.core.access import role_required
from mediation.extensions import db
from mediation.journal.operations import verify_chain

from .models import Case, CaseParty, CaseStatus
from .operations import can_view

OPEN_STATUSES = (CaseStatus.intake, CaseStatus.mediating)


@role_required(Role.party)
def my_cases():
    cases = db.session.scalars(
        select(Case)
        .join(CaseParty)
        .where(CaseParty.user_id == current_user.id)
        .order_by(Case.created_at.desc())
    ).all()
    return render_template("cases/my_cases.html", cases=cases)


@role_required(Role.mediator)
def caseload():
    cases = db.session.scalars(
        select(Case)
        .where(Case.mediator_id == current_user.id, Case.status.in_(OPEN_STATUSES))
        .order_by(Case.created_at)
    ).all()
    return render_template("cases/caseload.html", cases=cases)


@login_required
def case_detail(case_id: int):
    case = db.session.get(Case, case_id)
    if case is None or not can_view(current_user, case):
        abort(404)  # the same answer for "not yours" and "not there"
    return render_template("cases/detail.html", case=case, chain=verify_chain(case.id))
