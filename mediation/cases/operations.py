"""Case actions: opening, assignment, who may see a case, invitations into it.

Intake, the state machine and deadlines grow here (cases issue)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from mediation.accounts.models import Role, User
from mediation.core.db import utcnow
from mediation.core.forms import FieldError
from mediation.extensions import db
from mediation.journal import operations as journal

from . import assignment, workflow
from .categories import get_category
from .models import Case, CaseNumberCounter, CaseParty, FailureRecord, Side
from .states import Action, CaseStatus, TerminationReason, actions_from

# Steps people take from the case page; the others belong to the platform (all_signed),
# to the assignment operations, or to the judicial-confirmation feature (the joint
# application of CPL art 205 and the court's ruling).
ASSIGNMENT_ACTIONS = frozenset({Action.accept, Action.decline})
# The respondent answers through ``respondent.answer`` (consent and service address).
RESPONDENT_ACTIONS = frozenset({Action.respondent_agrees, Action.respondent_refuses})
# The agreement is drafted on its own page (mediation/agreements), which takes that step.
PERSONAL_ACTIONS = frozenset({Action.revise_agreement, Action.terminate})


def next_case_number() -> str:
    """Numbers run per local year: 2026-000001, never reused, even after a deletion."""
    year = utcnow().astimezone(ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])).year
    # The year's first filings may race to create its counter: the loser's insert is a no-op.
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    db.session.execute(insert(CaseNumberCounter).values(year=year, last=0).on_conflict_do_nothing())
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
    by: User | None,
) -> Case:
    """A new case in draft; ``by`` is None when a court delegates it (court/delegation.py)."""
    found = get_category(category)
    if found is None or not found.active:
        raise FieldError("category", _("Choose one of the dispute categories."))
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
        actor_id=by.id if by else None,
    )
    return case


def take_step(
    case: Case,
    action: Action,
    *,
    by: User,
    reason: TerminationReason | None = None,
    note: str = "",
) -> None:
    """One step of the state machine as a person takes it from the case page."""
    if action == Action.accept:
        assignment.accept(case, by=by)
    elif action == Action.decline:
        assignment.decline(case, by=by, reason=note)
    elif action in PERSONAL_ACTIONS:
        workflow.transition(case, action, by=by, reason=reason, note=note)
    else:
        raise workflow.NotPermittedError(_("You may not take this step in this case."))


def record_failure(
    case: Case,
    *,
    by: User,
    situation: str,
    reasons: str,
    cost_raising_conduct: str = "",
    notes_for_court: str = "",
) -> FailureRecord:
    """SPC online mediation rules art 21: what the mediator records when mediation fails —
    the basic situation, why it failed, conduct that raised the other side's costs, and
    anything the court should know — for the referral to online case filing."""
    if case.mediator_id != by.id or case.status != CaseStatus.terminated:
        raise workflow.NotPermittedError(_("You may not take this step in this case."))
    if not situation.strip() or not reasons.strip():
        raise FieldError("situation", _("Describe the situation and why mediation failed."))
    # The case's turn first (core/locks.py), then the record as stored: the same form sent
    # twice (a double tap, two tabs) takes turns here, and the second finds the first's.
    journal.turn(case.id)
    record = db.session.get(FailureRecord, case.id, populate_existing=True)
    fields = (
        situation.strip(),
        reasons.strip(),
        cost_raising_conduct.strip(),
        notes_for_court.strip(),
    )
    if record is not None and fields == (
        record.situation,
        record.reasons,
        record.cost_raising_conduct,
        record.notes_for_court,
    ):
        # Saved again as it stands: its time and the journal stay as they are (a change
        # is journaled, each with its own time, below).
        return record
    record = record or FailureRecord(case_id=case.id)
    record.situation, record.reasons, record.cost_raising_conduct, record.notes_for_court = fields
    record.recorded_by_id, record.recorded_at = by.id, utcnow()
    db.session.add(record)
    db.session.flush()
    journal.append(
        case.id,
        "failure.recorded",
        {
            "situation": record.situation,
            "reasons": record.reasons,
            "cost_raising_conduct": record.cost_raising_conduct,
            "notes_for_court": record.notes_for_court,
        },
        actor_id=by.id,
    )
    return record


def available_steps(user: User, case: Case) -> list[Action]:
    """The steps ``user`` may take on ``case`` now (what the case page offers)."""
    acting = workflow.actors_for(user, case)
    return [
        step.action
        for step in actions_from(case.status)
        if step.actors & acting
        and step.action in PERSONAL_ACTIONS | ASSIGNMENT_ACTIONS | RESPONDENT_ACTIONS
        # Accepted through a mediator only: a queued case is first given to one.
        and not (step.action == Action.accept and case.mediator_id is None)
    ]


def viewable_case(case_id: int, user: User) -> Case | None:
    """The case, if ``user`` may see it; None otherwise (edges answer 404 for both)."""
    case = db.session.get(Case, case_id)
    return case if case is not None and can_view(user, case) else None


def can_view(user: User, case: Case) -> bool:
    """Parties of the case, its mediator, its institution's administrators, platform admins.

    A draft belongs to the applicant alone: the respondent named in it, like everyone
    else, learns of the case only once it is submitted.
    """
    if case.status == CaseStatus.draft:
        return any(p.user_id == user.id and p.side == Side.applicant for p in case.parties)
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
