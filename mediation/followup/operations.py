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
from sqlalchemy import and_, func, literal_column, or_, select, update
from sqlalchemy import case as when
from sqlalchemy.sql.elements import ColumnElement

from mediation.accounts.models import User
from mediation.agreements import signals as agreement_signals
from mediation.agreements.models import Agreement
from mediation.cases import signals as case_signals
from mediation.cases.models import Case, CaseParty
from mediation.cases.states import CaseStatus
from mediation.core.db import utcnow
from mediation.core.forms import FieldError
from mediation.core.locks import lock_rows
from mediation.extensions import db
from mediation.journal import operations as journal

from . import notices
from .models import FollowUp, FollowUpKind, FollowUpResult, Obligation, ObligationStatus

MAX_OUTCOME = 2000
MAX_NOTE = 500
MAX_DESCRIPTION = 500
# Still open to the obligee's confirmation: performance may come late (art 31 urges it).
OPEN = (ObligationStatus.pending, ObligationStatus.missed, ObligationStatus.partly)
# Not yet (fully) performed: the obligor is reminded and a passed date is noticed (art 31).
OWED = (ObligationStatus.pending, ObligationStatus.partly)
# No text message before this hour, local time: the worker sees the date change at midnight.
FIRST_HOUR = 8


class NotAllowedError(Exception):
    """The user has no part in this obligation (the view answers 404)."""


class RepeatedError(Exception):
    """The same confirmation or follow-up arrived again (a double tap, a phone retrying
    the POST, a second tab): it is recorded once, and the page says it was."""


# A 回访记录 in the same words as the last one is the same form sent again only within
# this window (a double tap comes within a second, a phone on a weak network retries its
# POST within a minute or so); later it is another call or visit, each one a record of its
# own (People's Mediation Law art 31: the committee follows up on what was agreed, and
# "nobody answered" on Monday and on Wednesday are two attempts).
REPEAT_WINDOW = timedelta(minutes=2)


def _lock(obligation: Obligation) -> None:
    """Take the obligation's row lock (on SQLite, the write lock) before reading what an
    action decides on, so the same form sent twice at once is recorded once: the second
    request waits and reads what the first one did."""
    db.session.flush()
    lock_rows(Obligation.id, obligation.id)
    db.session.expire_all()


def _local(now: datetime | None = None) -> datetime:
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    return (now or utcnow()).astimezone(zone)


def today(now: datetime | None = None) -> date:
    """The calendar day in the platform's zone: a due date is a day in China, not in UTC."""
    return _local(now).date()


def _night(now: datetime | None) -> bool:
    """Before FIRST_HOUR local time: reminders and notices wait for the morning."""
    return _local(now).hour < FIRST_HOUR


def on_time(now: datetime | None = None) -> ColumnElement[bool]:
    """Performed in full by the end of the due date in the platform's zone. performed_at is
    naive UTC and due_on a day in China: the cut-off is the next day's midnight there,
    i.e. due_on plus (24 hours - the zone's offset) in UTC (16:00 UTC for Beijing time,
    which has had no daylight saving since 1991). A confirmation at 00:30 the next morning
    in China is late although its UTC date is still the due date."""
    offset = _local(now).utcoffset() or timedelta(0)
    seconds = int((timedelta(days=1) - offset).total_seconds())
    if db.session.get_bind().dialect.name == "postgresql":
        cut_off = Obligation.due_on + literal_column(f"interval '{seconds} seconds'")
    else:  # SQLite keeps both as text: 'YYYY-MM-DD HH:MM:SS[.ffffff]' compares in order
        cut_off = func.datetime(Obligation.due_on, f"+{seconds} seconds")
    return and_(Obligation.status == ObligationStatus.performed, Obligation.performed_at < cut_off)


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


def already_performed(user: User, obligation: Obligation) -> bool:
    """The obligee of an obligation performed in full (confirmed by them, or found by the
    mediator's follow-up): nothing is left for them to confirm."""
    return (
        user.is_authenticated
        and obligation.obligee is not None
        and obligation.obligee.user_id == user.id
        and obligation.status == ObligationStatus.performed
        and obligation.performed_at is not None
    )


def may_follow_up(user: User, obligation: Obligation) -> bool:
    case = db.session.get(Case, obligation.case_id)
    return user.is_authenticated and case is not None and case.mediator_id == user.id


def failed(obligations: list[Obligation], now: datetime | None = None) -> bool:
    """Missed, or performed only in part once the date has passed: before the date, part
    performance is just performance under way."""
    day = today(now)

    def _failed(o: Obligation) -> bool:
        if o.status == ObligationStatus.partly:
            return o.due_on is not None and o.due_on < day
        return o.status == ObligationStatus.missed

    return any(_failed(o) for o in obligations)


def enforcement_open(
    case: Case, obligations: list[Obligation], now: datetime | None = None
) -> bool:
    """Civil Procedure Law art 206, People's Mediation Law art 33 para 2: after the court
    confirmed the agreement, a party may apply to it for enforcement when the other
    refuses to perform or performs only in part."""
    return case.status == CaseStatus.confirmed and failed(obligations, now)


# -- the obligee and the mediator -------------------------------------------------------


def confirm(obligation: Obligation, user: User, *, full: bool, note: str = "") -> None:
    """The obligee confirms the obligation performed, in full or in part."""
    note = (note or "").strip()
    _lock(obligation)
    # The same part performance said again within the window (performed in full is
    # refused below: nothing is left to confirm, and the view says so). Later, the same
    # words are another payment: 'received 500 yuan' in March and again in April.
    if (
        not full
        and (obligation.status, obligation.performed_note) == (ObligationStatus.partly, note)
        and obligation.obligee is not None
        and obligation.obligee.user_id == user.id
        and obligation.performed_at is not None
        and utcnow() - obligation.performed_at < REPEAT_WINDOW
    ):
        raise RepeatedError
    if not may_confirm(user, obligation):
        raise NotAllowedError
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
    _lock(obligation)
    last = db.session.scalars(
        select(FollowUp)
        .where(FollowUp.obligation_id == obligation.id)
        .order_by(FollowUp.id.desc())
        .limit(1)
    ).first()
    if (
        last is not None
        and (last.mediator_id, last.kind, last.result, last.outcome)
        == (user.id, kind, result, outcome)
        and utcnow() - last.recorded_at < REPEAT_WINDOW
    ):
        raise RepeatedError
    entry = FollowUp(
        obligation_id=obligation.id,
        case_id=obligation.case_id,
        mediator_id=user.id,
        kind=kind,
        result=result,
        outcome=outcome,
    )
    db.session.add(entry)
    found = result == FollowUpResult.performed and obligation.status in OPEN
    if found:
        # Art 31: the committee's own finding counts, or an obligation with no obligee on
        # the platform (or one who never logs in) would stay missed for ever.
        obligation.status = ObligationStatus.performed
        obligation.performed_at = utcnow()
    db.session.flush()
    journal.append(
        obligation.case_id,
        "followup.recorded",
        {"obligation": obligation.position + 1, "kind": kind, "result": result},
        actor_id=user.id,
    )
    if found:
        journal.append(
            obligation.case_id,
            "followup.performance_found",
            {"obligation": obligation.position + 1, "kind": kind},
            actor_id=user.id,
        )
    return entry


def missed_for(mediator: User, now: datetime | None = None) -> list[Obligation]:
    """The mediator's obligations past their date and not performed in full (missed, or
    performed only in part), oldest date first: whom to call."""
    return list(
        db.session.scalars(
            select(Obligation)
            .join(Case, Case.id == Obligation.case_id)
            .where(
                Case.mediator_id == mediator.id,
                or_(
                    Obligation.status == ObligationStatus.missed,  # only ever after the date
                    and_(
                        Obligation.status == ObligationStatus.partly,
                        Obligation.due_on < today(now),
                    ),
                ),
            )
            .order_by(Obligation.due_on, Obligation.id)
        )
    )


# -- the worker -------------------------------------------------------------------------


def _claim(obligation_id: int, column, condition) -> bool:
    """Set ``column`` only if nobody did yet: of two workers, one wins and sends; and only
    while its case is still urged (``_urged``)."""
    done = db.session.execute(
        update(Obligation)
        .where(Obligation.id == obligation_id, column.is_(None), condition, _urged(obligation_id))
        .values({column.key: utcnow()})
        .execution_options(synchronize_session=False)
    )
    return done.rowcount == 1


def _urged(obligation_id: int) -> ColumnElement[bool]:
    """The obligation's case, read again under its turn, is still urged (``_still_urged``):
    the worker lists what is due and then acts on each, one after the other, and the court
    may refuse to confirm the agreement in between (CPL art 205). The case's turn is taken
    first (core/locks.py: the order of locks; the court's refusal journals under it, then
    writes the case), so a refusal under way is waited for and then seen."""
    case_id = db.session.scalar(select(Obligation.case_id).where(Obligation.id == obligation_id))
    if case_id is not None:
        journal.turn(case_id)
    return Obligation.case_id.in_(select(Case.id).where(Case.id == case_id, _still_urged()))


def _still_urged():
    """The cases whose obligations are still urged: not after the court refused to confirm
    the agreement (CPL art 205; People's Mediation Law art 33 para 2: the parties may then
    change it or sue), when reminding them of it would mislead."""
    return Case.status != CaseStatus.rejected


def remind_due(now: datetime | None = None) -> int:
    """The obligor is reminded once, ``FOLLOWUP_REMIND_DAYS`` days before the date; also of
    the rest of an obligation performed only in part. Not at night. All due, in this
    transaction (the worker does each in its own: ``reminders_due`` and ``remind_one``)."""
    return sum(remind_one(i) for i in reminders_due(now))


def reminders_due(now: datetime | None = None) -> list[int]:
    """The ids of the obligations to remind of now (none at night), in id order."""
    if _night(now):
        return []
    day = today(now)
    ahead = day + timedelta(days=current_app.config["FOLLOWUP_REMIND_DAYS"])
    return _owed(Obligation.reminded_at.is_(None), Obligation.due_on.between(day, ahead))


def _owed(*where) -> list[int]:
    """The ids of the obligations still owed, of cases still urged, that match ``where``,
    in id order (the order the worker takes them in, each in a unit of its own)."""
    return list(
        db.session.scalars(
            select(Obligation.id)
            .join(Case, Case.id == Obligation.case_id)
            .where(_still_urged(), Obligation.status.in_(OWED), *where)
            .order_by(Obligation.id)
        )
    )


def remind_one(obligation_id: int) -> int:
    """One obligor reminded, once (1 if this did, else 0)."""
    if not _claim(obligation_id, Obligation.reminded_at, Obligation.status.in_(OWED)):
        return 0
    obligation = db.session.get(Obligation, obligation_id)
    db.session.refresh(obligation)
    notices.reminder(obligation)
    db.session.flush()
    return 1


def mark_missed(now: datetime | None = None) -> int:
    """Past the date without the obligee's confirmation: missed; the mediator is told, and
    the obligee is asked to confirm if it was in fact performed. Once per obligation. An
    obligation performed only in part is noticed the same way but stays "partly" (what
    was received is on record). Not at night. All due, in this transaction (the worker
    does each in its own: ``missed_due`` and ``mark_one_missed``)."""
    return sum(mark_one_missed(i, now) for i in missed_due(now))


def missed_due(now: datetime | None = None) -> list[int]:
    """The ids of the obligations past their date unnoticed (none at night), in id order."""
    if _night(now):
        return []
    return _owed(Obligation.missed_noticed_at.is_(None), Obligation.due_on < today(now))


def mark_one_missed(obligation_id: int, now: datetime | None = None) -> int:
    """One obligation noticed as missed, once (1 if this did, else 0)."""
    claimed = db.session.execute(
        update(Obligation)
        .where(
            Obligation.id == obligation_id,
            Obligation.status.in_(OWED),
            Obligation.missed_noticed_at.is_(None),
            _urged(obligation_id),
        )
        .values(
            status=when(
                (Obligation.status == ObligationStatus.pending, ObligationStatus.missed),
                else_=Obligation.status,
            ),
            missed_noticed_at=now or utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        return 0
    obligation = db.session.get(Obligation, obligation_id)
    db.session.refresh(obligation)
    notices.missed(obligation)
    db.session.flush()
    return 1


# -- statistics -------------------------------------------------------------------------


def rate_counts(institution_id: int | None, now: datetime | None = None) -> tuple[int, int]:
    """(obligations due, of them performed in full on time): the performance rate."""
    query = select(func.count(Obligation.id), func.count(when((on_time(now), 1)))).where(
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
