"""The respondent's say: invited once the case is accepted, they agree (with consent and a
service address) or refuse; unanswered, they are reminded once, then the case ends.

SPC online mediation rules art 15 (ask the other side; unreachable or refusing ends it),
art 25 (3) and (4), People's Mediation Law art 17 (a party's refusal means no mediation).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import select, update

from mediation.accounts.models import Role, User
from mediation.core.db import utcnow
from mediation.extensions import db
from mediation.journal import operations as journal
from mediation.notify import operations as notify

from . import identity, invitations, workflow
from .consent import record_consent
from .models import Case, Side
from .states import Action, CaseStatus, TerminationReason

# The reminder goes out once a full day before the deadline, so "answer by" is still ahead.
REMIND_BEFORE = timedelta(days=2)

SUBJECT = _l("Online mediation: case %(number)s")
INVITATION = _l(
    "%(applicants)s asked for mediation of a dispute with you (case %(number)s). "
    "Do you agree? Answer here: %(link)s"
)
REMINDER = _l(
    "Reminder: %(applicants)s asked for mediation with you (case %(number)s). "
    "Please answer by %(date)s: %(link)s"
)
REFUSED = _l(
    "The other side does not agree to mediation; case %(number)s has ended. "
    "You may still go to court."
)
AGREED = _l(
    "The other side agreed to mediation of case %(number)s. The mediator will contact you "
    "about a session."
)
UNANSWERED = _l(
    "The other side did not answer in time; case %(number)s has ended. You may still go to court."
)
TO_MEDIATOR_UNANSWERED = _l(
    "Case %(number)s: the respondent did not answer in time; the case has ended."
)


def _say(user: User, message: LazyString, **params: object) -> None:
    """A text message, and an e-mail when they gave an address (some parties read e-mail
    more easily than a link in an SMS)."""
    notify.tell(user, message, subject=SUBJECT, **params)


def _entry_link(user: User, case: Case, now: datetime) -> str:
    if user.roles == {Role.party}:
        token = invitations.create_invitation(user, case.id, now=now)
        return f"{current_app.config['BASE_URL'].rstrip('/')}/join/{token}"
    # Someone who also works on the platform logs in with their password.
    return f"{current_app.config['BASE_URL'].rstrip('/')}/cases/{case.id}"


def invite(case: Case, *, now: datetime | None = None, reminder: bool = False) -> None:
    """Ask every respondent whether they agree to mediation, with a personal link."""
    now = now or utcnow()
    applicants = "、".join(u.real_name for u in case.party_users(Side.applicant))
    for user in case.party_users(Side.respondent):
        link = _entry_link(user, case, now)
        if reminder:
            _say(
                user,
                REMINDER,
                applicants=applicants,
                number=case.number,
                link=link,
                date=case.respondent_due_at,
            )
        else:
            _say(user, INVITATION, applicants=applicants, number=case.number, link=link)
        journal.append(
            case.id,
            "respondent.reminded" if reminder else "respondent.invited",
            {"user_id": user.id},
            actor_id=None,
        )


def answer(
    case: Case,
    *,
    by: User,
    agree: bool,
    consent: bool = False,
    service_address: str = "",
    service_confirmed: bool = False,
    note: str = "",
    id_number: str | None = None,
    ethnicity: str | None = None,
) -> None:
    """The respondent's answer. Agreeing, they give their consent, an address for
    documents and their identity (SPC online mediation rules art 8): an ID number unless
    they have one on record (then ``id_number`` corrects it while it is not confirmed)."""
    if not agree:
        workflow.transition(case, Action.respondent_refuses, by=by, note=note)
        _tell_applicants(case, refused=True)
        return
    now = utcnow()
    record_consent(
        case,
        by=by,
        side=Side.respondent,
        consent=consent,
        service_address=service_address,
        service_confirmed=service_confirmed,
        now=now,
    )
    identity.record_own(case, by=by, id_number=id_number, ethnicity=ethnicity)
    workflow.transition(case, Action.respondent_agrees, by=by, now=now)
    _tell_applicants(case, refused=False)


def _tell_applicants(case: Case, *, refused: bool) -> None:
    for user in case.party_users(Side.applicant):
        if refused:
            _say(user, REFUSED, number=case.number)
        else:
            _say(user, AGREED, number=case.number)


def remind_and_expire(now: datetime | None = None) -> tuple[int, int]:
    """Remind once a day before the deadline; after it, end the case: every case due, in
    this transaction (the worker does each in its own: ``due`` with ``remind`` and
    ``expire``). Returns how many were reminded and how many ended.

    Each case is claimed with a conditional UPDATE first, so with several workers a
    reminder goes out once and a case ends once.
    """
    now = now or utcnow()
    to_remind, to_end = due(now)
    return sum(remind(i, now) for i in to_remind), sum(expire(i, now) for i in to_end)


_WAITING = Case.status == CaseStatus.awaiting_respondent


def _soon(now: datetime) -> tuple:
    return (
        Case.respondent_reminded_at.is_(None),
        Case.respondent_due_at <= now + REMIND_BEFORE,
        Case.respondent_due_at > now,
    )


def due(now: datetime) -> tuple[list[int], list[int]]:
    """The ids of the cases to remind and of those to end, each in id order."""

    def ids(*where) -> list[int]:
        return list(db.session.scalars(select(Case.id).where(_WAITING, *where).order_by(Case.id)))

    return ids(*_soon(now)), ids(Case.respondent_due_at <= now)


def remind(case_id: int, now: datetime) -> int:
    """The respondent reminded once, the day before the deadline (1, or 0 if not due)."""
    case = db.session.get(Case, case_id)
    if case is None or not _claim(case, *_soon(now), respondent_reminded_at=now):
        return 0
    db.session.refresh(case)
    invite(case, now=now, reminder=True)
    return 1


def expire(case_id: int, now: datetime) -> int:
    """The case ended once its deadline passed unanswered (1, or 0 if not due)."""
    case = db.session.get(Case, case_id)
    if case is None or not _claim(case, Case.respondent_due_at <= now, respondent_due_at=None):
        return 0
    db.session.refresh(case)
    # Art 15: a respondent who cannot be reached ends online mediation (art 25 (3)).
    workflow.transition(
        case, Action.terminate, by=None, reason=TerminationReason.unreachable, now=now
    )
    for user in case.party_users(Side.applicant):
        _say(user, UNANSWERED, number=case.number)
    if case.mediator is not None:
        # Ended by the clock, with nobody on the case page to see it.
        notify.tell(case.mediator, TO_MEDIATOR_UNANSWERED, number=case.number)
    return 1


def _claim(case: Case, *conditions, **values) -> bool:
    # The case's turn before its row (core/locks.py: the order of locks): a step that
    # journaled first (the respondent agreeing at the deadline) writes the case after it.
    journal.turn(case.id)
    result = db.session.execute(
        update(Case)
        # Still waiting once it is this job's turn: the respondent may have just answered.
        .where(Case.id == case.id, _WAITING, *conditions)
        .values(**values, version=Case.version + 1)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1
