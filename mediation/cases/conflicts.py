"""A mediator's disclosure of a conflict of interest (SPC online mediation rules art 13) and
a party's request to change mediator (art 14). Both go to the institution, which reassigns
the case from its page; the parties' answers are journaled."""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from mediation.accounts.models import Role, User, UserRole
from mediation.core.forms import FieldError
from mediation.extensions import db
from mediation.journal import operations as journal
from mediation.journal.models import JournalEntry
from mediation.notify import operations as notify

from . import agency, assignment, matching, workflow
from .models import Case, ConflictDisclosure
from .states import OPEN_STATUSES

TO_INSTITUTION = _l("Case %(number)s: %(what)s. Please look at the case and reassign it if needed.")
DISCLOSED = _l("the mediator disclosed a possible conflict of interest")
OBJECTED = _l("a party does not accept the mediator after the disclosure")
CHANGE_ASKED = _l("a party asks for another mediator")


def _tell_institution(case: Case, what) -> None:
    admins = db.session.scalars(
        select(User)
        .join(UserRole)
        .where(UserRole.role == Role.institution_admin, User.institution_id == case.institution_id)
    ).all()
    for admin in admins:
        notify.tell(admin, TO_INSTITUTION, number=case.number, what=what)


def open_disclosure(case: Case) -> ConflictDisclosure | None:
    return db.session.scalar(
        select(ConflictDisclosure)
        .where(ConflictDisclosure.case_id == case.id, ConflictDisclosure.settled.is_(False))
        .order_by(ConflictDisclosure.id.desc())
    )


def disclose(case: Case, *, by: User, text: str) -> ConflictDisclosure:
    """Art 13: the mediator tells the parties of a relationship that may affect fairness."""
    if case.mediator_id != by.id or case.status not in OPEN_STATUSES:
        raise workflow.NotPermittedError(_("You may not take this step in this case."))
    if not text.strip():
        raise FieldError("text", _("Describe the relationship you disclose."))
    disclosure = ConflictDisclosure(case_id=case.id, mediator_id=by.id, text=text.strip())
    db.session.add(disclosure)
    db.session.flush()
    journal.append(case.id, "conflict.disclosed", {"text": disclosure.text}, actor_id=by.id)
    _tell_institution(case, DISCLOSED)
    return disclosure


def answer_disclosure(case: Case, *, by: User, accept: bool) -> None:
    """Art 13 second paragraph: knowing it, a party may still agree to this mediator."""
    disclosure = open_disclosure(case)
    if disclosure is None or by.id not in {p.user_id for p in case.parties}:
        raise workflow.NotPermittedError(_("You may not take this step in this case."))
    agency.check_may_act(case, by)
    journal.append(
        case.id, "conflict.accepted" if accept else "conflict.objected", {}, actor_id=by.id
    )
    if not accept:
        disclosure.settled = True
        _tell_institution(case, OBJECTED)
    else:
        disclosure.accepted_by = [*disclosure.accepted_by, by.id]
        if set(disclosure.accepted_by) >= {p.user_id for p in case.parties}:
            disclosure.settled = True  # everyone agreed: the mediator continues
    db.session.flush()


def request_change(case: Case, *, by: User, reason: str) -> None:
    """Art 14: a party may ask for another mediator during mediation."""
    if by.id not in {p.user_id for p in case.parties} or case.status not in OPEN_STATUSES:
        raise workflow.NotPermittedError(_("You may not take this step in this case."))
    agency.check_may_act(case, by)
    if not reason.strip():
        raise FieldError("reason", _("Say why you want another mediator."))
    # Say so plainly rather than accept a request nobody can grant.
    if case.mediator_id is None or assignment.in_queue(case):
        raise FieldError(
            "reason",
            _(
                "Your case has no mediator yet: it is waiting to be given to one. You will be "
                "told by text message who it is, and may then ask for another one."
            ),
        )
    others = [
        m
        for m in assignment.mediators_of(case.institution_id)
        if m.id != case.mediator_id and matching.eligible_mediator(case, m)
    ]
    if not others:
        raise FieldError(
            "reason",
            _(
                "%(institution)s has no other mediator who could take your case, so your "
                "request cannot be granted. You may continue with this mediator, or end the "
                "mediation (art 25) and go to court.",
                institution=case.institution.name if case.institution else "",
            ),
        )
    journal.append(case.id, "mediator.change_requested", {"reason": reason.strip()}, actor_id=by.id)
    _tell_institution(case, CHANGE_ASKED)


def change_asked_at(case: Case, user: User) -> datetime | None:
    """When ``user`` asked for another mediator (art 14) while the case still has the same
    one: the request waits for the institution. None once the mediator was changed."""
    entries = select(JournalEntry.seq).where(JournalEntry.case_id == case.id)
    changed = db.session.scalar(
        entries.where(JournalEntry.action.in_(("case.mediator_changed", "case.assigned"))).order_by(
            JournalEntry.seq.desc()
        )
    )
    return db.session.scalar(
        select(JournalEntry.created_at)
        .where(
            JournalEntry.case_id == case.id,
            JournalEntry.action == "mediator.change_requested",
            JournalEntry.actor_id == user.id,
            JournalEntry.seq > (changed or 0),
        )
        .order_by(JournalEntry.seq.desc())
        .limit(1)
    )
