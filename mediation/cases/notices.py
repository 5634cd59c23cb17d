"""Who is told when a case changes state (the rows of ``mediation.notify.table`` whose
``where`` is this module): one receiver of ``signals.status_changed`` rather than a call in
each operation, so a step taken from any edge (page, worker, court API) tells the same
people. The messages the respondent and the applicants get about the respondent's answer
are sent by ``respondent`` itself, with its personal links, and so is the mediator's notice
that the respondent never answered (only the worker's expiry knows that).

When mediation ends for any other reason (SPC online mediation rules art 25), everyone of
the case is told why, but the one who ended it on the case page: the parties with what they
may still do (People's Mediation Law art 26), the mediator because a party or the clock may
have ended it while nobody was on the page."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from mediation.notify import operations as notify

from . import signals
from .labels import TERMINATION_REASONS
from .models import Case, Side
from .states import Action, TerminationReason

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
ENDED_TO_PARTY = _l(
    "Mediation of case %(number)s has ended: %(reason)s. You may still protect your rights "
    "through arbitration, an administrative authority or the courts."
)
ENDED_TO_MEDIATOR = _l("Mediation of case %(number)s has ended: %(reason)s.")
# Told by ``respondent`` with its own words (the applicants learn the respondent never answered).
TOLD_ELSEWHERE = frozenset({TerminationReason.unreachable})


@signals.status_changed.connect
def _tell(case: Case, *, source: str, action: str, by=None, **_kw) -> None:
    if action == Action.terminate:
        _tell_ended(case, by)
    elif action == Action.accept:
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


def _tell_ended(case: Case, by) -> None:
    """Art 25: mediation ended. PML art 26: the parties are told they may still turn to
    arbitration, an administrative authority or a court."""
    if case.termination_reason in TOLD_ELSEWHERE:
        return
    reason = TERMINATION_REASONS[TerminationReason(case.termination_reason)]
    told = set() if by is None else {by.id}
    for user in case.party_users():
        if user.id not in told:
            told.add(user.id)
            notify.tell(user, ENDED_TO_PARTY, subject=SUBJECT, number=case.number, reason=reason)
    if case.mediator is not None and case.mediator.id not in told:
        notify.tell(case.mediator, ENDED_TO_MEDIATOR, number=case.number, reason=reason)
