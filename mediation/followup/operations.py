"""The rules of follow-up (回访): obligations tracked from the agreement, reminders before
the date, missed dates noticed, the obligee's confirmation, the mediator's follow-ups.

People's Mediation Law art 31: an agreement binds the parties, who shall perform it; the
committee supervises its performance and urges the parties to keep their obligations.
Everything here flushes; the view or the worker job commits.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import and_, func, select, update
from sqlalchemy import case as when

from mediation.accounts.models import User
from mediation.agreements import signals as agreement_signals
from mediation.agreements.models import Agreement
from mediation.cases import signals as case_signals
from mediation.cases.models import Case, CaseParty
from mediation.cases.states import CaseStatus
from mediation.core.db import utcnow
from mediation.core.forms import FieldError
from mediation.extensions import db
from mediation.journal import operations as journal

from . import notices
from .models import FollowUp, FollowUpKind, FollowUpResult, Obligation, ObligationStatus

MAX_OUTCOME = 2000
MAX_NOTE = 500
MAX_DESCRIPTION = 500
# Still open to the obligee's confirmation: performance may come late (art 31 urges it).
OPEN = (ObligationStatus.pending, ObligationStatus.missed, ObligationStatus.partly)


class NotAllowedError(Exception):
    """The user has no part in this obligation (the view answers 404)."""


def today(now: datetime | None = None) -> date:
    """The calendar day in the platform's zone: a due date is a day in China, not in UTC."""
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    return (now or utcnow()).astimezone(zone).date()


# -- tracking ---------------------------------------------------------------------------


def _party_row(case: Case, user_id: object) -> CaseParty | None:
    """The party's own row (not an agent's) for a user id written in the agreement."""
    rows = [p for p in case.parties if p.user_id == user_id]
    return next((p for p in rows if not p.is_agent), rows[0] if rows else None)


def _amount(value: object) -> Decimal | None:
    try:
        return Decimal(str(value)) if value not in (None, "") else None
    except InvalidOperation:
        return None


def _due(value: object) -> date | None:
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def track(agreement: Agreement) -> list[Obligation]:
    """Each obligation of the agreement in force becomes a tracked item. Once only: the
    items are keyed by (agreement, position)."""
    existing = db.session.scalar(
        select(func.count(Obligation.id)).where(Obligation.agreement_id == agreement.id)
    )
    content = agreement.current.content if agreement.current else {}
    if existing or not content:
        return []
    case = agreement.case
    made = []
    for position, item in enumerate(content.get("obligations") or []):
        obligor = _party_row(case, item.get("obligor"))
        obligee = _party_row(case, item.get("obligee"))
        words = [item.get("action") or "", item.get("method") or "", item.get("place") or ""]
        made.append(
            Obligation(
                case_id=case.id,
                agreement_id=agreement.id,
                position=position,
                obligor_party_id=obligor.id if obligor else None,
                obligee_party_id=obligee.id if obligee else None,
                description="，".join(w for w in words if w)[:MAX_DESCRIPTION],
                amount=_amount(item.get("amount")),
                due_on=_due(item.get("due")),
            )
        )
    db.session.add_all(made)
    db.session.flush()
    return made


@agreement_signals.agreement_effective.connect
def _agreement_in_force(agreement: Agreement) -> None:
    track(agreement)


def of_case(case: Case) -> list[Obligation]:
    return list(
        db.session.scalars(
            select(Obligation).where(Obligation.case_id == case.id).order_by(Obligation.position)
        )
    )


def may_see(user: User, case: Case) -> bool:
    """The case's parties (and agents) and its mediator: performance is between them."""
    return user.is_authenticated and (
        case.mediator_id == user.id or any(p.user_id == user.id for p in case.parties)
    )


def may_confirm(user: User, obligation: Obligation) -> bool:
    """Only the obligee of this obligation says it was received."""
    return (
        user.is_authenticated
        and obligation.obligee is not None
        and obligation.obligee.user_id == user.id
        and obligation.status in OPEN
    )


def may_follow_up(user: User, obligation: Obligation) -> bool:
    case = db.session.get(Case, obligation.case_id)
    return user.is_authenticated and case is not None and case.mediator_id == user.id


def failed(obligations: list[Obligation]) -> bool:
    return any(o.status in (ObligationStatus.missed, ObligationStatus.partly) for o in obligations)


def enforcement_open(case: Case, obligations: list[Obligation]) -> bool:
    """Civil Procedure Law art 206, People's Mediation Law art 33 para 2: after the court
    confirmed the agreement, a party may apply to it for enforcement when the other
    refuses to perform or performs only in part."""
    return case.status == CaseStatus.confirmed and failed(obligations)


# -- the obligee and the mediator -------------------------------------------------------


def confirm(obligation: Obligation, user: User, *, full: bool, note: str = "") -> None:
    """The obligee confirms the obligation performed, in full or in part."""
    if not may_confirm(user, obligation):
        raise NotAllowedError
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise FieldError("note", _("At most %(n)d characters.", n=MAX_NOTE))
    if not full and not note:
        raise FieldError("note", _("Say what was received so far."))
    obligation.status = ObligationStatus.performed if full else ObligationStatus.partly
    obligation.performed_at = utcnow()
    obligation.performed_note = note or None
    db.session.flush()
    journal.append(
        obligation.case_id,
        "followup.performance_confirmed",
        {"obligation": obligation.position + 1, "full": full, "note": note},
        actor_id=user.id,
    )


def record(obligation: Obligation, user: User, *, kind: str, result: str, outcome: str):
    """The mediator's 回访记录: a call or a visit and what came of it."""
    if not may_follow_up(user, obligation):
        raise NotAllowedError
    if kind not in set(FollowUpKind):
        raise FieldError("kind", _("Choose a call or a visit."))
    if result not in set(FollowUpResult):
        raise FieldError("result", _("Choose the result."))
    outcome = (outcome or "").strip()
    if not outcome:
        raise FieldError("outcome", _("Write what was said or found."))
    if len(outcome) > MAX_OUTCOME:
        raise FieldError("outcome", _("At most %(n)d characters.", n=MAX_OUTCOME))
    entry = FollowUp(
        obligation_id=obligation.id,
        case_id=obligation.case_id,
        mediator_id=user.id,
        kind=kind,
        result=result,
        outcome=outcome,
    )
    db.session.add(entry)
    db.session.flush()
    journal.append(
        obligation.case_id,
        "followup.recorded",
        {"obligation": obligation.position + 1, "kind": kind, "result": result},
        actor_id=user.id,
    )
    return entry


def missed_for(mediator: User) -> list[Obligation]:
    """The mediator's missed obligations, oldest date first: whom to call."""
    return list(
        db.session.scalars(
            select(Obligation)
            .join(Case, Case.id == Obligation.case_id)
            .where(Case.mediator_id == mediator.id, Obligation.status == ObligationStatus.missed)
            .order_by(Obligation.due_on, Obligation.id)
        )
    )


# -- the worker -------------------------------------------------------------------------


def _claim(obligation_id: int, column, condition) -> bool:
    """Set ``column`` only if nobody did yet: of two workers, one wins and sends."""
    done = db.session.execute(
        update(Obligation)
        .where(Obligation.id == obligation_id, column.is_(None), condition)
        .values({column.key: utcnow()})
        .execution_options(synchronize_session=False)
    )
    return done.rowcount == 1


def remind_due(now: datetime | None = None) -> int:
    """The obligor is reminded once, ``FOLLOWUP_REMIND_DAYS`` days before the date."""
    day = today(now)
    ahead = day + timedelta(days=current_app.config["FOLLOWUP_REMIND_DAYS"])
    due = db.session.scalars(
        select(Obligation).where(
            Obligation.status == ObligationStatus.pending,
            Obligation.reminded_at.is_(None),
            Obligation.due_on.between(day, ahead),
        )
    ).all()
    sent = 0
    for obligation in due:
        if _claim(obligation.id, Obligation.reminded_at, Obligation.status == "pending"):
            db.session.refresh(obligation)
            notices.reminder(obligation)
            sent += 1
    db.session.flush()
    return sent


def mark_missed(now: datetime | None = None) -> int:
    """Past the date without the obligee's confirmation: missed; the mediator is told, and
    the obligee is asked to confirm if it was in fact performed. Once per obligation."""
    late = db.session.scalars(
        select(Obligation.id).where(
            Obligation.status == ObligationStatus.pending,
            Obligation.missed_noticed_at.is_(None),
            Obligation.due_on < today(now),
        )
    ).all()
    marked = 0
    for obligation_id in late:
        claimed = db.session.execute(
            update(Obligation)
            .where(
                Obligation.id == obligation_id,
                Obligation.status == ObligationStatus.pending,
                Obligation.missed_noticed_at.is_(None),
            )
            .values(status=ObligationStatus.missed, missed_noticed_at=now or utcnow())
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount == 1:
            obligation = db.session.get(Obligation, obligation_id)
            db.session.refresh(obligation)
            notices.missed(obligation)
            marked += 1
    db.session.flush()
    return marked


# -- statistics -------------------------------------------------------------------------


def rate_counts(institution_id: int | None, now: datetime | None = None) -> tuple[int, int]:
    """(obligations due, of them performed in full on time): the performance rate."""
    performed_day = func.date(Obligation.performed_at)
    on_time = and_(
        Obligation.status == ObligationStatus.performed, performed_day <= Obligation.due_on
    )
    query = select(func.count(Obligation.id), func.count(when((on_time, 1)))).where(
        Obligation.due_on < today(now)
    )
    if institution_id is not None:
        query = query.join(Case, Case.id == Obligation.case_id).where(
            Case.institution_id == institution_id
        )
    due, kept = db.session.execute(query).one()
    return due, kept


@case_signals.figures_asked.connect
def _counts(institution_id: int | None) -> dict[str, int]:
    """The statistics page's performance figures (cases.statistics asks by signal)."""
    due, kept = rate_counts(institution_id)
    return {"obligations_due": due, "obligations_on_time": kept}
