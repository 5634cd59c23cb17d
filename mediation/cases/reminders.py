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
    """Every reminder due, in this transaction (the worker sends each in its own: ``due``
    and ``send_one``); returns how many were queued."""
    now = now or utcnow()
    return sum(send_one(item, now) for item in due(now))


def _accept_soon(now: datetime) -> tuple:
    return (
        Case.status == CaseStatus.submitted,
        Case.mediator_id.is_not(None),
        Case.acceptance_due_at <= now + ACCEPTANCE_NOTICE,
        Case.acceptance_due_at > now,
    )


def _period_ends(now: datetime) -> tuple:
    return (
        Case.status.in_([CaseStatus.in_mediation, CaseStatus.agreement_drafted]),
        Case.mediation_due_at <= now + PERIOD_NOTICE,
        Case.mediation_due_at > now,
    )


def due(now: datetime) -> list[tuple[str, int]]:
    """The reminders to send: ("acceptance" or "period", case id), each kind in id order."""

    def ids(column, *where) -> list[int]:
        found = select(Case.id).where(column.is_(None), *where).order_by(Case.id)
        return list(db.session.scalars(found))

    return [("acceptance", i) for i in ids(Case.acceptance_reminded_at, *_accept_soon(now))] + [
        ("period", i) for i in ids(Case.mediation_reminded_at, *_period_ends(now))
    ]


def send_one(item: tuple[str, int], now: datetime) -> int:
    """One reminder, claimed under the case's turn with the conditions it was found by,
    read again then (1 if sent, 0 if no longer due)."""
    kind, case_id = item
    case = db.session.get(Case, case_id)
    if case is None:
        return 0
    if kind == "acceptance":
        if not _claim(case, Case.acceptance_reminded_at, now, *_accept_soon(now)):
            return 0
        notify.tell(case.mediator, ACCEPT_SOON, number=case.number, date=case.acceptance_due_at)
        journal.append(case.id, "reminder.acceptance", {}, actor_id=None)
        return 1
    if not _claim(case, Case.mediation_reminded_at, now, *_period_ends(now)):
        return 0
    for user in [case.mediator, *case.party_users()]:
        if user is not None:
            notify.tell(user, PERIOD_ENDS, number=case.number, date=case.mediation_due_at)
    journal.append(case.id, "reminder.mediation_period", {}, actor_id=None)
    return 1
