"""Reminders before the statutory clocks run out: the mediator a day before the art 12
acceptance deadline; the mediator and the parties three days before the art 24 period ends
(an extension needs every party's consent). Each goes out once, whatever the workers."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from mediation.core.db import utcnow
from mediation.extensions import db
from mediation.journal import operations as journal
from mediation.notify import operations as notify

from .models import Case
from .states import CaseStatus

ACCEPTANCE_NOTICE = timedelta(days=1)
PERIOD_NOTICE = timedelta(days=3)

ACCEPT_SOON = _l(
    "Case %(number)s waits for you: accept or decline it by %(date)s, or it goes to "
    "another mediator."
)
PERIOD_ENDS = _l(
    "The mediation period of case %(number)s ends on %(date)s. It can be extended only if "
    "every party agrees; otherwise mediation ends then."
)


def _claim(case: Case, column, now: datetime, *still) -> bool:
    """The reminder is this job's to send (``column`` unset), and ``still`` holds once it
    is this job's turn (the mediator may have just accepted)."""
    # The case's turn before its row (core/locks.py: the order of locks): a step that
    # journaled first (the mediator accepting) writes the case after it.
    journal.turn(case.id)
    result = db.session.execute(
        update(Case)
        .where(Case.id == case.id, column.is_(None), *still)
        .values({column.key: now, "version": Case.version + 1})
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 1:
        db.session.refresh(case)
    return result.rowcount == 1


def send_due(now: datetime | None = None) -> int:
    """The worker's job; returns how many reminders were queued. Each case's reminder is
    claimed under its turn with the conditions it was found by, read again then."""
    now = now or utcnow()
    sent = 0
    accept_soon = (
        Case.status == CaseStatus.submitted,
        Case.mediator_id.is_not(None),
        Case.acceptance_due_at <= now + ACCEPTANCE_NOTICE,
        Case.acceptance_due_at > now,
    )
    period_ends = (
        Case.status.in_([CaseStatus.in_mediation, CaseStatus.agreement_drafted]),
        Case.mediation_due_at <= now + PERIOD_NOTICE,
        Case.mediation_due_at > now,
    )
    for case in db.session.scalars(
        select(Case).where(Case.acceptance_reminded_at.is_(None), *accept_soon).order_by(Case.id)
    ).all():
        if _claim(case, Case.acceptance_reminded_at, now, *accept_soon):
            notify.tell(case.mediator, ACCEPT_SOON, number=case.number, date=case.acceptance_due_at)
            journal.append(case.id, "reminder.acceptance", {}, actor_id=None)
            sent += 1
    for case in db.session.scalars(
        select(Case).where(Case.mediation_reminded_at.is_(None), *period_ends).order_by(Case.id)
    ).all():
        if _claim(case, Case.mediation_reminded_at, now, *period_ends):
            for user in [case.mediator, *case.party_users()]:
                if user is not None:
                    notify.tell(user, PERIOD_ENDS, number=case.number, date=case.mediation_due_at)
            journal.append(case.id, "reminder.mediation_period", {}, actor_id=None)
            sent += 1
    return sent
