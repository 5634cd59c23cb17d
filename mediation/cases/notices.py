"""Who is told when a case changes state (the rows of ``mediation.notify.table`` whose
``where`` is this module): one receiver of ``signals.status_changed`` rather than a call in
each operation, so a step taken from any edge (page, worker, court API) tells the same
people. The messages the respondent and the applicants get about the respondent's answer
are sent by ``respondent`` itself, with its personal links, and so is the mediator's notice
that the respondent never answered (only the worker's expiry knows that)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from mediation.notify import operations as notify

from . import signals
from .models import Case, Side
from .states import Action

SUBJECT = _l("Online mediation: case %(number)s")
ACCEPTED = _l(
    "Case %(number)s was accepted by mediator %(name)s. The other side is now asked whether "
    "they agree to mediation; you will be told their answer."
)
RESPONDENT_AGREED = _l(
    "Case %(number)s: the respondent agreed to mediation. Please book a session with the parties."
)
RESPONDENT_REFUSED = _l(
    "Case %(number)s: the respondent does not agree to mediation; the case has ended."
)


@signals.status_changed.connect
def _tell(case: Case, *, source: str, action: str, **_kw) -> None:
    if action == Action.accept:
        # SPC online mediation rules art 12: the applicant learns the case was taken on
        # (the respondent is asked at the same time, art 15, by respondent.invite).
        name = case.mediator.real_name if case.mediator else ""
        for user in case.party_users(Side.applicant):
            notify.tell(user, ACCEPTED, subject=SUBJECT, number=case.number, name=name)
    elif case.mediator is None:
        return
    elif action == Action.respondent_agrees:
        # Art 15: once the other side agrees, mediation starts and the mediator acts next.
        notify.tell(case.mediator, RESPONDENT_AGREED, number=case.number)
    elif action == Action.respondent_refuses:
        notify.tell(case.mediator, RESPONDENT_REFUSED, number=case.number)
