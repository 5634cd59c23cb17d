"""Who mediates a case: the applicant's choice or an automatic pick, acceptance within three
working days, and reassignment when declined or left unanswered (SPC online mediation rules
arts 10 and 12)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from mediation.accounts.models import Institution, MediatorProfile, Role, User, UserRole
from mediation.core.db import utcnow
from mediation.extensions import db
from mediation.journal import operations as journal
from mediation.notify import operations as notify

from . import clocks, respondent, signals, workflow
from .models import Case, CaseAssignment, Side
from .states import OPEN_STATUSES, Action, CaseStatus

ASSIGNED = _l(
    "Case %(number)s was assigned to you. Please accept or decline it within %(days)d working days."
)
REASSIGNED = _l("Your case %(number)s has been given to another mediator, %(name)s.")


class AssignmentOutcome:
    pending = "pending"
    accepted = "accepted"
    declined = "declined"
    expired = "expired"  # not confirmed within the three working days
    withdrawn = "withdrawn"  # the institution gave the case to another mediator first


def current(case: Case) -> CaseAssignment | None:
    return db.session.scalar(
        select(CaseAssignment)
        .where(CaseAssignment.case_id == case.id)
        .order_by(CaseAssignment.id.desc())
    )


def assign(
    case: Case,
    *,
    institution: Institution,
    mediator: User | None,
    how: str,
    by: User | None,
    now: datetime | None = None,
) -> CaseAssignment:
    """Give the case to an institution (and a mediator); the clock of art 12 starts."""
    now = now or utcnow()
    case.institution = institution
    case.mediator = mediator
    case.acceptance_reminded_at = None  # the new mediator is reminded in turn
    db.session.flush()
    assignment = CaseAssignment(
        case_id=case.id,
        institution_id=institution.id,
        mediator_id=case.mediator_id,
        how=how,
        assigned_at=now,
        due_at=clocks.working_days_after(now, clocks.ACCEPTANCE_WORKING_DAYS, workflow.zone()),
        outcome=AssignmentOutcome.pending,
    )
    db.session.add(assignment)
    db.session.flush()
    journal.append(
        case.id,
        "case.assigned",
        {"institution_id": institution.id, "mediator_id": case.mediator_id, "how": how},
        actor_id=by.id if by else None,
    )
    if mediator is not None:
        notify.tell(mediator, ASSIGNED, number=case.number, days=clocks.ACCEPTANCE_WORKING_DAYS)
    return assignment


def eligible_mediator(case: Case, user: User | None) -> bool:
    """An active mediator of an institution who is not a party (art 13)."""
    return (
        user is not None
        and user.active
        and user.has_role(Role.mediator)
        and user.institution_id is not None
        and user.id not in {p.user_id for p in case.parties}
    )


def open_caseload() -> dict[int, int]:
    """Open cases per mediator, for spreading new cases evenly."""
    rows = db.session.execute(
        select(Case.mediator_id, func.count(Case.id))
        .where(Case.mediator_id.is_not(None), Case.status.in_(OPEN_STATUSES))
        .group_by(Case.mediator_id)
    )
    return dict(rows.all())


def _region_score(institution_region: str, case_region: str | None) -> int:
    """3: same county, 2: same city, 1: same province, 0: elsewhere (GB/T 2260 prefixes)."""
    if not case_region:
        return 0
    for score, length in ((3, 6), (2, 4), (1, 2)):
        if institution_region[:length] == case_region[:length]:
            return score
    return 0


@dataclass(frozen=True)
class Candidate:
    mediator: User
    institution: Institution


def pick(case: Case) -> Candidate | None:
    """The mediator who accepts the category, nearest to the dispute, with the fewest open
    cases; never one who already declined or let this case expire."""
    tried = set(
        db.session.scalars(
            select(CaseAssignment.mediator_id).where(
                CaseAssignment.case_id == case.id,
                CaseAssignment.outcome.in_(
                    [
                        AssignmentOutcome.declined,
                        AssignmentOutcome.expired,
                        AssignmentOutcome.withdrawn,
                    ]
                ),
            )
        )
    )
    mediators = db.session.scalars(
        select(User)
        .join(MediatorProfile)
        .join(UserRole)
        .where(UserRole.role == Role.mediator, User.active.is_(True))
        .where(User.institution_id.is_not(None))
    ).all()
    load = open_caseload()
    candidates = [
        m
        for m in mediators
        if case.category in (m.mediator_profile.categories or [])
        and m.id not in tried
        and eligible_mediator(case, m)
    ]
    if not candidates:
        return None
    best = min(
        candidates,
        key=lambda m: (
            -_region_score(m.institution.region_code, case.region_code),
            load.get(m.id, 0),
            m.id,
        ),
    )
    return Candidate(best, best.institution)


def assign_automatically(case: Case, *, by: User | None, now: datetime | None = None) -> bool:
    """Assign to the best candidate; False (and the case stays flagged) when there is none."""
    candidate = pick(case)
    if candidate is None:
        journal.append(case.id, "case.no_mediator_available", {}, actor_id=by.id if by else None)
        return False
    assign(
        case,
        institution=candidate.institution,
        mediator=candidate.mediator,
        how="automatic",
        by=by,
        now=now,
    )
    return True


def accept(case: Case, *, by: User, now: datetime | None = None) -> None:
    """Accepting starts the art 24 period and asks the respondent (art 15)."""
    workflow.transition(case, Action.accept, by=by, now=now)
    _close(case, AssignmentOutcome.accepted, "", now)
    respondent.invite(case, now=now)


def decline(case: Case, *, by: User, reason: str, now: datetime | None = None) -> None:
    """Art 12: decline with a written reason; the case goes to the next candidate, or the
    worker looks again after the next working day."""
    workflow.transition(case, Action.decline, by=by, note=reason, now=now)
    _close(case, AssignmentOutcome.declined, reason, now)
    if not _reassign(case, now):
        case.acceptance_due_at = clocks.working_days_after(now or utcnow(), 1, workflow.zone())
        db.session.flush()


def reassign_overdue(now: datetime | None = None) -> list[Case]:
    """Cases whose assignment was not confirmed in time, or that are waiting for a mediator
    after a decline: flag, journal and reassign them. Returns the cases reassigned."""
    now = now or utcnow()
    due = db.session.scalars(
        select(Case).where(
            Case.status.in_([CaseStatus.submitted, CaseStatus.declined]),
            Case.acceptance_due_at < now,
        )
    ).all()
    reassigned = []
    for case in due:
        # Claimed first (the version moves on): with several workers only one acts.
        claimed = db.session.execute(
            update(Case)
            .where(Case.id == case.id, Case.version == case.version)
            .values(version=Case.version + 1)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:
            continue
        db.session.refresh(case)
        assignment = current(case)
        if assignment is not None and assignment.outcome == AssignmentOutcome.pending:
            journal.append(
                case.id,
                "case.acceptance_overdue",
                {"mediator_id": case.mediator_id, "due_at": assignment.due_at.isoformat()},
                actor_id=None,
            )
            _close(case, AssignmentOutcome.expired, "", now)
        if _reassign(case, now):
            reassigned.append(case)
        else:
            # Nobody free now: look again after the next working day, not never.
            case.acceptance_due_at = clocks.working_days_after(now, 1, workflow.zone())
            db.session.flush()
    return reassigned


def _close(case: Case, outcome: str, reason: str, now: datetime | None) -> None:
    assignment = current(case)
    if assignment is not None and assignment.outcome == AssignmentOutcome.pending:
        assignment.outcome = outcome
        assignment.reason = reason
        assignment.decided_at = now or utcnow()
        db.session.flush()


def _reassign(case: Case, now: datetime | None) -> bool:
    if not assign_automatically(case, by=None, now=now):
        return False
    workflow.transition(case, Action.reassign, by=None, now=now)
    _tell_applicants(case)
    return True


def _tell_applicants(case: Case) -> None:
    name = case.mediator.real_name if case.mediator else ""
    for user in case.party_users(Side.applicant):
        notify.tell(user, REASSIGNED, number=case.number, name=name)


def reassign_by_institution(case: Case, *, mediator: User, by: User) -> None:
    """An institution administrator gives one of its cases to another of its mediators:
    before acceptance (the art 12 clock starts again) or later, on a party's request to
    change mediator (art 14) or a disclosed conflict of interest (art 13)."""
    if (
        not by.has_role(Role.institution_admin)
        or by.institution_id is None
        or case.institution_id != by.institution_id
        or mediator.institution_id != by.institution_id
        or not eligible_mediator(case, mediator)
    ):
        raise workflow.NotPermittedError(_("You may not take this step in this case."))
    if case.status not in OPEN_STATUSES:
        raise workflow.TransitionError(_("This case can no longer be reassigned."))
    if case.mediator_id == mediator.id:
        return
    previous = case.mediator_id
    _close(case, AssignmentOutcome.withdrawn, _("reassigned by the institution"), None)
    new = assign(
        case, institution=mediator.institution, mediator=mediator, how="institution", by=by
    )
    if case.status in (CaseStatus.submitted, CaseStatus.declined):
        # A new mediator has the full three working days (art 12).
        case.acceptance_due_at = new.due_at
    if case.status == CaseStatus.declined:
        workflow.transition(case, Action.reassign, by=by)
    elif case.status != CaseStatus.submitted:
        # Already accepted: the institution's decision stands for the new mediator.
        new.outcome = AssignmentOutcome.accepted
        new.decided_at = utcnow()
        journal.append(
            case.id,
            "case.mediator_changed",
            {"from": previous, "to": mediator.id},
            actor_id=by.id,
        )
    db.session.flush()
    signals.mediator_changed.send(case, previous=previous)
