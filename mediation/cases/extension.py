"""The 30-day mediation period and its extension with every party's consent (SPC online
mediation rules art 24); a period that runs out unextended ends the case (art 25 (6))."""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from mediation.accounts.models import User
from mediation.core.db import utcnow
from mediation.core.forms import FieldError
from mediation.extensions import db
from mediation.journal import operations as journal

from . import agency, assignment, clocks, workflow
from .models import CalendarState, Case, ExtensionRequest
from .states import OPEN_STATUSES, Action, CaseStatus, TerminationReason

MEDIATING = (CaseStatus.in_mediation, CaseStatus.agreement_drafted)
MAX_EXTENSION_DAYS = 60


def pending(case: Case) -> ExtensionRequest | None:
    return db.session.scalar(
        select(ExtensionRequest)
        .where(ExtensionRequest.case_id == case.id, ExtensionRequest.granted_at.is_(None))
        .order_by(ExtensionRequest.id.desc())
    )


def propose(case: Case, *, by: User, days: int) -> ExtensionRequest:
    if case.status not in MEDIATING or case.mediator_id != by.id:
        raise workflow.NotPermittedError(_("You may not take this step in this case."))
    if not 1 <= days <= MAX_EXTENSION_DAYS:
        raise FieldError("days", _("Extend by 1 to %(n)d days.", n=MAX_EXTENSION_DAYS))
    request = ExtensionRequest(case_id=case.id, proposed_by_id=by.id, days=days, consented_by=[])
    db.session.add(request)
    db.session.flush()
    journal.append(case.id, "extension.proposed", {"days": days}, actor_id=by.id)
    return request


def consent(case: Case, *, by: User, now: datetime | None = None) -> bool:
    """Record one party's consent; True when it was the last one and the period is extended."""
    agency.check_may_act(case, by)
    # The case's turn before the request or the case is written (core/locks.py: the order
    # of locks), and the two parties' last consents one after the other.
    journal.turn(case.id)
    request = pending(case)
    party_ids = {p.user_id for p in case.parties}
    if request is None or by.id not in party_ids or case.status not in MEDIATING:
        raise workflow.NotPermittedError(_("You may not take this step in this case."))
    if by.id not in request.consented_by:
        request.consented_by = [*request.consented_by, by.id]
        journal.append(case.id, "extension.consented", {"days": request.days}, actor_id=by.id)
    if set(request.consented_by) != party_ids:
        db.session.flush()
        return False
    now = now or utcnow()
    request.granted_at = now
    case.mediation_due_at = clocks.period_end(case.mediation_due_at, request.days, workflow.zone())
    case.mediation_reminded_at = None  # reminded again before the new end
    db.session.flush()
    journal.append(
        case.id,
        "extension.granted",
        {"days": request.days, "until": case.mediation_due_at.isoformat()},
        actor_id=None,
    )
    return True


def end_expired(now: datetime | None = None) -> int:
    """A period over without an agreed extension ends the case: every case due, in this
    transaction (the worker does each in its own: ``expired`` and ``end_one``)."""
    now = now or utcnow()
    return sum(end_one(case_id, now) for case_id in expired(now))


def expired(now: datetime) -> list[int]:
    """The ids of the cases whose mediation period is over, in id order."""
    return list(
        db.session.scalars(
            select(Case.id)
            .where(Case.status.in_(MEDIATING), Case.mediation_due_at < now)
            .order_by(Case.id)
        )
    )


def end_one(case_id: int, now: datetime) -> int:
    """The case ended if its period is still over (1), else nothing (0)."""
    # The case's turn, then the claim, so that with several workers the case ends once.
    # The turn first (core/locks.py: the order of locks): the last party's consent to an
    # extension journals, then writes the case's new end.
    journal.turn(case_id)
    claimed = db.session.execute(
        update(Case)
        .where(
            Case.id == case_id,
            Case.closed_at.is_(None),
            Case.status.in_(MEDIATING),
            Case.mediation_due_at < now,  # not extended meanwhile
        )
        .values(closed_at=now, version=Case.version + 1)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        return 0
    case = db.session.get(Case, case_id)
    db.session.refresh(case)
    workflow.transition(
        case, Action.terminate, by=None, reason=TerminationReason.deadline_expired, now=now
    )
    return 1


def recompute_deadlines() -> int:
    """Every open case's running clock, computed again (after a calendar upgrade)."""
    changed = 0
    for case in db.session.scalars(select(Case).where(Case.status.in_(OPEN_STATUSES))).all():
        before = (case.acceptance_due_at, case.respondent_due_at, case.mediation_due_at)
        current = assignment.current(case)
        granted = db.session.scalars(
            select(ExtensionRequest.days)
            .where(ExtensionRequest.case_id == case.id, ExtensionRequest.granted_at.is_not(None))
            .order_by(ExtensionRequest.granted_at)
        ).all()
        clocks.recompute(
            case,
            assigned_at=current.assigned_at if current else None,
            extensions=list(granted),
            zone=workflow.zone(),
        )
        if (case.acceptance_due_at, case.respondent_due_at, case.mediation_due_at) != before:
            changed += 1
            journal.append(case.id, "deadlines.recomputed", {}, actor_id=None)
    db.session.flush()
    return changed


def recompute_when_calendar_grew() -> int | None:
    """The worker's job: once the calendar knows a new year's holidays (the package upgraded,
    or the year added to the operator's holiday file), compute the open cases' deadlines
    again, once, whatever the number of workers.
    Returns how many cases changed, or None when there was nothing to do."""
    latest = clocks.known_until()
    if db.session.get(CalendarState, 1) is None:
        try:
            with db.session.begin_nested():
                db.session.add(CalendarState(id=1, known_until=latest))
        except IntegrityError:
            return None  # another worker wrote it first
        return recompute_deadlines()
    claimed = db.session.execute(
        update(CalendarState)
        .where(CalendarState.id == 1, CalendarState.known_until < latest)
        .values(known_until=latest)
        .execution_options(synchronize_session=False)
    )
    return recompute_deadlines() if claimed.rowcount == 1 else None
