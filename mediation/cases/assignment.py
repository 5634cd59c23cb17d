"""Who mediates a case: the applicant's choice or an automatic pick, acceptance within three
working days, and reassignment when declined or left unanswered (SPC online mediation rules
arts 10 and 12)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from mediation.accounts.models import Institution, Role, User, UserRole
from mediation.core.db import utcnow
from mediation.extensions import db
from mediation.journal import operations as journal
from mediation.journal.models import JournalEntry
from mediation.notify import operations as notify

from . import categories, clocks, lapse, matching, respondent, signals, workflow
from .matching import (
    AssignmentOutcome,
    Candidate,
    eligible_mediator,
    nearest_institution,
    pick,
)
from .models import Case, CaseAssignment, Side
from .states import OPEN_STATUSES, Action, CaseStatus

ASSIGNED = _l(
    "Case %(number)s was assigned to you. Please accept or decline it within %(days)d working days."
)
REASSIGNED = _l("Your case %(number)s has been given to another mediator, %(name)s.")
# Art 12: the applicant learns at once that a mediator took the case and what comes next.
# A case no mediator takes goes to the people who can give it to one (arts 10 and 12).
QUEUE_SUBJECT = _l("Case %(number)s needs a mediator")
QUEUED = _l(
    "Case %(number)s (%(category)s) has no mediator: none takes this kind of dispute or is "
    "free. Please give it to a mediator within %(days)d working days (list of cases waiting "
    "for a mediator: %(link)s)."
)
# The institution was chosen, by the applicant or by the court that delegated the dispute
# (art 10): its administrators are told so, not that matching failed.
QUEUED_CHOSEN = _l(
    "The applicant chose %(institution)s to mediate case %(number)s (%(category)s). Please "
    "give it to one of its mediators within %(days)d working days (list of cases waiting "
    "for a mediator: %(link)s)."
)
QUEUED_DELEGATED = _l(
    "%(court)s delegated case %(number)s (%(category)s) to %(institution)s for mediation "
    "before filing; the court's reference is %(reference)s. Please give it to one of its "
    "mediators within %(days)d working days (list of cases waiting for a mediator: %(link)s)."
)
GIVEN = _l(
    "Your case %(number)s has been given to mediator %(name)s, who will answer within "
    "%(days)d working days."
)


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
    event: str = "case.assigned",
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
        event,
        {"institution_id": institution.id, "mediator_id": case.mediator_id, "how": how},
        actor_id=by.id if by else None,
    )
    if mediator is not None:
        notify.tell(mediator, ASSIGNED, number=case.number, days=clocks.ACCEPTANCE_WORKING_DAYS)
    return assignment


def assign_automatically(
    case: Case, *, by: User | None, now: datetime | None = None, avoid: int | None = None
) -> bool:
    """Assign to the best candidate; when there is none, the case goes to the assignment
    queue at once (``queue``) and False is returned. ``avoid``: an institution that did not
    take the case on when it was chosen, left out of both."""
    candidate = pick(case, avoid=avoid)
    if candidate is None:
        # The platform's finding, whoever's step led to it.
        journal.append(case.id, "case.no_mediator_available", {}, actor_id=None)
        queue(case, by=by, now=now, avoid=avoid)
        return False
    _assign_candidate(case, candidate, by=by, now=now)
    return True


def _assign_candidate(
    case: Case, candidate: Candidate, *, by: User | None, now: datetime | None
) -> None:
    assign(
        case,
        institution=candidate.institution,
        mediator=candidate.mediator,
        how="automatic",
        by=by,
        now=now,
    )


def accept(case: Case, *, by: User, now: datetime | None = None) -> None:
    """Accepting starts the art 24 period and asks the respondent (art 15); the applicant
    is told who accepted (by cases.notices, on the status change)."""
    if case.mediator is None:
        # An institution accepts through one of its mediators: somebody must mediate.
        raise workflow.TransitionError(_("Give the case to a mediator first."))
    workflow.transition(case, Action.accept, by=by, now=now)
    close_pending(case, AssignmentOutcome.accepted, "", now)
    respondent.invite(case, now=now)


def decline(case: Case, *, by: User, reason: str, now: datetime | None = None) -> None:
    """Art 12: decline with a written reason; the case goes to the next candidate, or the
    worker looks again after the next working day. An institution that was chosen and
    declines as an institution (not its mediator) has refused the choice (art 12 para 2):
    no one is picked; the case waits, with no clock, for the applicants or the court to
    choose again, or for an administrator to give it to a mediator by hand. A mediator the
    applicant chose by name who declines lets the choice lapse too: the applicants are told
    they may choose again (``lapse``), and meanwhile the platform looks for another mediator
    of the same institution."""
    choice = matching.last_choice(case)
    refused = choice is not None and by.id != case.mediator_id
    workflow.transition(case, Action.decline, by=by, note=reason, now=now)
    if refused:
        close_pending(case, AssignmentOutcome.declined, reason, now)
        case.acceptance_due_at = None
        lapse.tell(case, refused=True)
        db.session.flush()
        return
    if choice is not None and choice.mediator_id == by.id:
        # The mediator the applicant chose by name declined: they may choose again, while
        # the platform looks for another mediator of that institution.
        lapse.tell(case)
    close_pending(case, AssignmentOutcome.declined, reason, now)
    if not _reassign(case, now):
        case.acceptance_due_at = clocks.working_days_after(now or utcnow(), 1, workflow.zone())
        db.session.flush()


def reassign_overdue(now: datetime | None = None) -> list[Case]:
    """Cases whose assignment was not confirmed in time, or that are waiting for a mediator
    after a decline: flag, journal and reassign them, in this transaction (the worker does
    each in its own: ``overdue`` and ``reassign_one``). Returns the cases reassigned."""
    now = now or utcnow()
    return [case for case_id in overdue(now) if (case := reassign_one(case_id, now))]


def overdue(now: datetime) -> list[int]:
    """The ids of the cases ``reassign_one`` is for, in id order (the order of their turns)."""
    return list(
        db.session.scalars(
            select(Case.id)
            .where(
                Case.status.in_([CaseStatus.submitted, CaseStatus.declined]),
                Case.acceptance_due_at < now,
            )
            .order_by(Case.id)
        )
    )


def reassign_one(case_id: int, now: datetime) -> Case | None:
    """One overdue case flagged, journaled and reassigned (or looked at again after the next
    working day); the case if it was reassigned."""
    case = db.session.get(Case, case_id)
    if case is None:
        return None
    # Claimed (the version moves on from the one read): with several workers only one
    # acts, and a case changed since (the mediator accepted) is left alone. The case's
    # turn first (core/locks.py: the order of locks): accepting journals, then writes the
    # case.
    listed = case.version
    journal.turn(case.id)
    claimed = db.session.execute(
        update(Case)
        .where(
            Case.id == case.id,
            Case.version == listed,
            Case.status.in_([CaseStatus.submitted, CaseStatus.declined]),
            Case.acceptance_due_at < now,
        )
        .values(version=Case.version + 1)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        return None
    db.session.refresh(case)
    # Art 12 para 2: the institution chosen let its three working days pass; whoever
    # chose may choose again (told once), while the platform still looks within it.
    lapse.tell(case)
    if _waiting_in_queue(case):
        # Queued, and those who give it to a mediator were told then (``queue``): from
        # here only a mediator who has become free takes it; otherwise it goes on
        # waiting, with no new notice to them and no "overdue" line for the parties.
        if _pick_from_queue(case, now):
            return case
        case.acceptance_due_at = clocks.working_days_after(now, 1, workflow.zone())
        db.session.flush()
        return None
    assignment = current(case)
    if assignment is not None and assignment.outcome == AssignmentOutcome.pending:
        journal.append(
            case.id,
            "case.acceptance_overdue",
            {"mediator_id": case.mediator_id, "due_at": assignment.due_at.isoformat()},
            actor_id=None,
        )
        close_pending(case, AssignmentOutcome.expired, "", now)
    if _reassign(case, now):
        return case
    # Nobody free now: look again after the next working day, not never.
    case.acceptance_due_at = clocks.working_days_after(now, 1, workflow.zone())
    db.session.flush()
    return None


def close_pending(case: Case, outcome: str, reason: str, now: datetime | None) -> None:
    """The case's pending assignment, if any, decided as ``outcome``."""
    assignment = current(case)
    if assignment is not None and assignment.outcome == AssignmentOutcome.pending:
        assignment.outcome = outcome
        assignment.reason = reason
        assignment.decided_at = now or utcnow()
        db.session.flush()


def _waiting_in_queue(case: Case) -> bool:
    """Nobody holds the case and the last word on who should is that it was queued."""
    if case.mediator_id is not None or not in_queue(case):
        return False
    last = db.session.scalar(
        select(JournalEntry.action)
        .where(
            JournalEntry.case_id == case.id,
            JournalEntry.action.in_(("case.queued", "case.assigned")),
        )
        .order_by(JournalEntry.seq.desc())
        .limit(1)
    )
    return last == "case.queued"


def _pick_from_queue(case: Case, now: datetime) -> bool:
    candidate = pick(case)
    if candidate is None:
        return False
    close_pending(case, AssignmentOutcome.withdrawn, "", now)  # the queue's own row, if any
    _assign_candidate(case, candidate, by=None, now=now)
    workflow.transition(case, Action.reassign, by=None, now=now)
    tell_given(case)
    return True


def _reassign(case: Case, now: datetime | None) -> bool:
    if not assign_automatically(case, by=None, now=now):
        return False
    workflow.transition(case, Action.reassign, by=None, now=now)
    tell_given(case)
    return True


def tell_given(case: Case) -> None:
    """The applicants told which mediator now has their case (art 12)."""
    name = case.mediator.real_name if case.mediator else ""
    tell_applicants(case, REASSIGNED, name=name)


def tell_applicants(case: Case, message, **values) -> None:
    """Every applicant of ``case`` (one chose for all) told ``message``."""
    for user in case.party_users(Side.applicant):
        notify.tell(user, message, number=case.number, **values)


def was_given_to(case_id: int, user: User) -> bool:
    """Whether the case was ever given to ``user`` as its mediator."""
    return bool(
        db.session.scalar(
            select(CaseAssignment.id)
            .where(CaseAssignment.case_id == case_id, CaseAssignment.mediator_id == user.id)
            .limit(1)
        )
    )


def reassign_by_institution(case: Case, *, mediator: User, by: User) -> None:
    """An institution administrator gives one of its cases to another of its mediators:
    before acceptance (the art 12 clock starts again) or later, on a party's request to
    change mediator (art 14) or a disclosed conflict of interest (art 13)."""
    # The case's turn before anything of the case is written (core/locks.py: the order of
    # locks): the agreement's round and the sessions are voided after the journal entry, and
    # a signature holding the agreement while it waited for the journal was a deadlock.
    # The case as it is once it is this step's turn (a signature may have put it in force).
    journal.turn(case.id)
    db.session.refresh(case)
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
    close_pending(case, AssignmentOutcome.withdrawn, _("reassigned by the institution"), None)
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


# -- the assignment queue ------------------------------------------------------------------
#
# SPC online mediation rules art 10: where the parties leave the choice to the platform, a
# mediator is designated within three working days; art 12: the institution or mediator
# confirms within three working days, and a case declined or left unconfirmed is given
# again. A case the automatic pick cannot place therefore never waits for a deadline: it
# goes at once to the institution of its region (or, when none fits, to the platform's
# administrators), whose administrators are told and give it to any of their mediators.


def in_queue(case: Case) -> bool:
    """Filed and waiting for somebody to give it to a mediator."""
    return case.status == CaseStatus.declined or (
        case.status == CaseStatus.submitted and case.mediator_id is None
    )


def _queue_condition():
    return (Case.status == CaseStatus.declined) | (
        (Case.status == CaseStatus.submitted) & Case.mediator_id.is_(None)
    )


def queue_managers(case: Case) -> list[User]:
    """Who gives a queued case to a mediator: its institution's administrators, or the
    platform's when it has no institution (or that institution has no administrator)."""
    admins: list[User] = []
    if case.institution_id is not None:
        admins = list(
            db.session.scalars(
                select(User)
                .join(UserRole)
                .where(
                    UserRole.role == Role.institution_admin,
                    User.institution_id == case.institution_id,
                    User.active.is_(True),
                )
                .order_by(User.id)
            )
        )
    if not admins:
        admins = list(
            db.session.scalars(
                select(User)
                .join(UserRole)
                .where(UserRole.role == Role.platform_admin, User.active.is_(True))
                .order_by(User.id)
            )
        )
    return admins


@dataclass(frozen=True)
class DelegatedBy:
    """The court that delegated the dispute and chose its institution (art 10); given by
    court/delegation.py, which this feature cannot import."""

    court: str
    reference: str


def queue(
    case: Case,
    *,
    by: User | None,
    now: datetime | None = None,
    how: str = "queue",
    delegated_by: DelegatedBy | None = None,
    avoid: int | None = None,
) -> None:
    """Put a case nobody was picked for into the assignment queue and tell those who act on
    it, once: the institution it already has (chosen by the applicant or a delegating
    court, or whose mediator declined), else the nearest one by region, else the platform.

    ``how`` "chosen": the institution was chosen (arts 10, 11), and the notice says who
    chose it (``delegated_by`` for a court) instead of "no mediator could be picked"."""

    if case.mediator_id is not None and case.status == CaseStatus.submitted:
        # Its mediator let the art 12 period pass: nobody holds it any longer.
        case.mediator = None
    already = db.session.scalar(
        select(func.count())
        .select_from(CaseAssignment)
        .where(CaseAssignment.case_id == case.id)
        .where(CaseAssignment.how == "queue", CaseAssignment.mediator_id.is_(None))
        .where(CaseAssignment.outcome == AssignmentOutcome.pending)
    )
    if already:
        return  # queued and told before: the worker's later look changes nothing
    institution = case.institution or nearest_institution(case, avoid=avoid)
    now = now or utcnow()
    if institution is not None:
        case.institution = institution
        close_pending(case, AssignmentOutcome.withdrawn, "", now)
        # The platform routes it (no one chose this institution but an applicant's choice).
        assign(
            case,
            institution=institution,
            mediator=None,
            how=how,
            by=by if how == "chosen" else None,
            now=now,
            event="case.queued",
        )
    else:
        db.session.flush()
        journal.append(case.id, "case.queued", {"institution_id": None}, actor_id=None)
    if case.status == CaseStatus.submitted:
        # Art 10: designated within three working days of the application.
        case.acceptance_due_at = clocks.working_days_after(
            now, clocks.ACCEPTANCE_WORKING_DAYS, workflow.zone()
        )
    db.session.flush()
    link = current_app.config["BASE_URL"].rstrip("/") + "/cases/queue"
    category = categories.get_category(case.category)
    default_locale = current_app.config["BABEL_DEFAULT_LOCALE"]
    message, named = QUEUED, {}
    if how == "chosen" and case.institution is not None:
        named = {"institution": case.institution.name}
        message = QUEUED_CHOSEN
        if delegated_by is not None:
            message = QUEUED_DELEGATED
            named |= {"court": delegated_by.court, "reference": delegated_by.reference}
    for admin in queue_managers(case):
        english = (admin.locale or default_locale).startswith("en")
        notify.tell(
            admin,
            message,
            subject=QUEUE_SUBJECT,
            number=case.number,
            category=category.name_en if english else category.name_zh,
            days=clocks.ACCEPTANCE_WORKING_DAYS,
            link=link,
            **named,
        )


def waiting_because(case: Case) -> str:
    """Why a case in the queue waits, as its page and the queue say it: "declined" (its
    mediator declined, art 12), "chosen" (the applicant or a delegating court chose its
    institution, art 10, which gives it to one of its mediators) or "unmatched" (no
    mediator could be picked automatically)."""
    if case.status == CaseStatus.declined:
        return "declined"
    last = current(case)
    if (
        last is not None
        and last.how == "chosen"
        and last.mediator_id is None
        and last.outcome == AssignmentOutcome.pending
    ):
        return "chosen"
    return "unmatched"


def may_manage_queue(user: User, case: Case | None = None) -> bool:
    """Platform administrators act on every queued case; an institution's administrators
    on those of their institution."""
    if user.has_role(Role.platform_admin):
        return True
    if not user.has_role(Role.institution_admin) or user.institution_id is None:
        return False
    return case is None or case.institution_id == user.institution_id


def queued_cases(user: User) -> list[Case]:
    """The cases waiting for a mediator that ``user`` may give to one, oldest first."""
    query = select(Case).where(_queue_condition()).order_by(Case.submitted_at, Case.id)
    if not user.has_role(Role.platform_admin):
        if not may_manage_queue(user):
            return []
        query = query.where(Case.institution_id == user.institution_id)
    return list(db.session.scalars(query))


def mediators_of(institution_id: int | None) -> list[User]:
    """The active mediators of an institution."""
    return list(
        db.session.scalars(
            select(User)
            .join(UserRole)
            .where(UserRole.role == Role.mediator, User.active.is_(True))
            .where(User.institution_id == institution_id)
            .order_by(User.real_name, User.id)
        )
    )


def mediators_for(user: User, case: Case) -> list[User]:
    """Whom ``user`` may give ``case`` to: any active mediator of their institution (whatever
    the categories they listed), or of any institution for the platform's administrators."""
    query = (
        select(User)
        .join(UserRole)
        .where(UserRole.role == Role.mediator, User.active.is_(True))
        .where(User.institution_id.is_not(None))
        .order_by(User.real_name, User.id)
    )
    if not user.has_role(Role.platform_admin):
        query = query.where(User.institution_id == user.institution_id)
    return [m for m in db.session.scalars(query) if eligible_mediator(case, m)]


def give(case: Case, *, mediator: User, by: User, now: datetime | None = None) -> CaseAssignment:
    """An administrator gives a queued case to a mediator, who has three working days to
    accept it (art 12); the applicant is told who it is."""
    if not may_manage_queue(by, case) or mediator not in mediators_for(by, case):
        raise workflow.NotPermittedError(_("You may not take this step in this case."))
    if not in_queue(case):
        raise workflow.TransitionError(_("This case is no longer waiting for a mediator."))
    now = now or utcnow()
    close_pending(case, AssignmentOutcome.withdrawn, "", now)
    new = assign(
        case, institution=mediator.institution, mediator=mediator, how="queue", by=by, now=now
    )
    if case.status == CaseStatus.declined:
        workflow.transition(case, Action.reassign, by=None, now=now)
    case.acceptance_due_at = new.due_at
    db.session.flush()
    tell_applicants(case, GIVEN, name=mediator.real_name, days=clocks.ACCEPTANCE_WORKING_DAYS)
    return new
