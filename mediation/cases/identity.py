"""A party's identity in a case: the ID number (with the sex and date of birth it carries)
and ethnicity, entered by the party or by the case's mediator, and confirmed by the
mediator who saw the person and their identity card on camera.

SPC online mediation rules art 8 (a party who agrees to online mediation gives their
identity) and art 17 (before mediating online, the mediator verifies who takes part);
People's Mediation Law art 29 (1) (the agreement states the parties' basic information);
SPC judicial confirmation provisions art 3 and CPL interpretation art 354 (the court is
given both parties' identities). An ID number is only a claim until confirmed
(docs/security.md): many accounts may claim one, one may hold it confirmed.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _

from mediation.accounts import operations as accounts
from mediation.accounts.models import User
from mediation.core.db import utcnow
from mediation.core.forms import FieldError
from mediation.journal import operations as journal

from .models import Case
from .states import ACTIVE_STATUSES
from .workflow import NotPermittedError


def journal_identity(case_id: int, user: User, *, by: User, **extra) -> None:
    """The journal keeps the masked number only: the whole one is in the account and the
    documents that need it, not in a chain every party of the case reads."""
    journal.append(
        case_id,
        "party.identity_recorded",
        {
            "user_id": user.id,
            "id_number": user.id_number_masked,
            "ethnicity": user.ethnicity,
            "by": "self" if by.id == user.id else "mediator",
            **extra,
        },
        actor_id=by.id,
    )


def record_own(case: Case, *, by: User, id_number: str | None, ethnicity: str | None) -> None:
    """A party gives their own identity in a case (when answering the invitation)."""
    if not any(p.user_id == by.id for p in case.parties):
        raise NotPermittedError(_("You may not take this step in this case."))
    if accounts.set_identity(by, id_number=id_number, ethnicity=ethnicity):
        journal_identity(case.id, by, by=by)


def record_by_mediator(
    case: Case,
    user: User,
    *,
    by: User,
    id_number: str | None,
    ethnicity: str | None,
    confirm: bool,
    now: datetime | None = None,
) -> bool:
    """The case's mediator enters or corrects a party's (or agent's) identity from the
    card shown on camera and, with ``confirm``, confirms it. Only the case's mediator, and
    only for someone in the case; a confirmed number is not changed (``set_identity``).
    Returns whether the number is confirmed now."""
    if by.id != case.mediator_id:
        raise NotPermittedError(_("Only the case's mediator confirms a party's identity."))
    if case.status not in ACTIVE_STATUSES:
        # A finished case's mediator no longer sees anyone on camera for it (art 17).
        raise NotPermittedError(_("You may not take this step in this case."))
    if not any(p.user_id == user.id for p in case.parties):
        raise NotPermittedError(_("This person is not a party of this case."))
    if accounts.set_identity(user, id_number=id_number, ethnicity=ethnicity, vouched=True):
        journal_identity(case.id, user, by=by)
    if not confirm:
        return user.id_confirmed_at is not None
    if user.id_confirmed_at is not None:
        return True
    if not accounts.confirm_id_number(user, by=by, now=now or utcnow()):
        raise FieldError(
            "id_number",
            _(
                "Another account holds this ID number confirmed already: check the card "
                "again, or ask the platform's administrators to look into both accounts."
            ),
        )
    journal.append(
        case.id,
        "party.identity_confirmed",
        {"user_id": user.id, "id_number": user.id_number_masked},
        actor_id=by.id,
    )
    return True
