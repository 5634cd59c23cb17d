"""The case state machine: one table of allowed transitions, and who may take each.

submitted -> accepted (awaiting the respondent) or declined -> in mediation -> agreement
drafted -> signed -> judicial confirmation requested -> confirmed or rejected; and
terminated, with one of the reasons of SPC online mediation rules art 25, from any state
before the agreement is signed.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class CaseStatus(StrEnum):
    draft = "draft"  # the applicant is still filling in the intake
    submitted = "submitted"  # waiting for the institution or mediator to accept (art 12)
    declined = "declined"  # declined with a reason; waiting to be reassigned (art 12)
    awaiting_respondent = "awaiting_respondent"  # accepted; the respondent is asked (art 15)
    in_mediation = "in_mediation"  # both sides agreed to mediate; the 30 days run (art 24)
    agreement_drafted = "agreement_drafted"
    signed = "signed"  # every party signed: the agreement is in force (art 19)
    confirmation_requested = "confirmation_requested"  # CPL art 205
    confirmed = "confirmed"
    rejected = "rejected"
    terminated = "terminated"  # ended without agreement (art 25)


class Action(StrEnum):
    submit = "submit"
    accept = "accept"
    decline = "decline"
    reassign = "reassign"
    respondent_agrees = "respondent_agrees"
    respondent_refuses = "respondent_refuses"
    draft_agreement = "draft_agreement"
    revise_agreement = "revise_agreement"
    all_signed = "all_signed"
    request_confirmation = "request_confirmation"
    withdraw_confirmation = "withdraw_confirmation"
    refuse_acceptance = "refuse_acceptance"
    confirm = "confirm"
    reject = "reject"
    terminate = "terminate"


class Actor(StrEnum):
    """How the person acting relates to the case."""

    applicant = "applicant"
    respondent = "respondent"
    mediator = "mediator"  # the mediator assigned to the case
    institution = "institution"  # an administrator of the assigned institution
    court = "court"  # staff of the court the application went to
    system = "system"  # the platform itself: the worker, a deadline


class TerminationReason(StrEnum):
    """SPC online mediation rules art 25: the eight ways online mediation ends."""

    agreement_reached = "agreement_reached"  # (1) reached through ``signed``, not here
    withdrawn = "withdrawn"  # (2) settled between themselves, application withdrawn
    unreachable = "unreachable"  # (3) a party cannot be reached within the period
    party_unwilling = "party_unwilling"  # (4) a party clearly refuses to go on
    too_far_apart = "too_far_apart"  # (5) positions too far apart to agree
    deadline_expired = "deadline_expired"  # (6) period over, no agreement to extend it
    refused_to_sign = "refused_to_sign"  # (7) a party refuses to sign the agreement
    other = "other"  # (8) anything else that makes mediation impossible


@dataclass(frozen=True)
class Transition:
    source: CaseStatus
    action: Action
    target: CaseStatus
    actors: frozenset[Actor]


def _t(source: CaseStatus, action: Action, target: CaseStatus, *actors: Actor) -> Transition:
    return Transition(source, action, target, frozenset(actors))


S, A, W = CaseStatus, Action, Actor
_STAFF = (W.mediator, W.institution)
# Before the agreement takes effect mediation can end; afterwards only the court decides.
_OPEN = (S.submitted, S.declined, S.awaiting_respondent, S.in_mediation, S.agreement_drafted)

TRANSITIONS: tuple[Transition, ...] = (
    # The platform files a dispute a court delegates (court/delegation.py; CPL art 125).
    _t(S.draft, A.submit, S.submitted, W.applicant, W.system),
    # Art 12: accept within 3 working days, or decline with a reason.
    _t(S.submitted, A.accept, S.awaiting_respondent, *_STAFF),
    _t(S.submitted, A.decline, S.declined, *_STAFF),
    # Art 12, second paragraph: declined or not confirmed in time -> choose again; the
    # applicant chooses another institution, or the court designates one for a dispute it
    # delegated (rechoice.choose_again).
    _t(S.submitted, A.reassign, S.submitted, W.institution, W.system, W.applicant, W.court),
    _t(S.declined, A.reassign, S.submitted, W.institution, W.system, W.applicant, W.court),
    # Art 15 / People's Mediation Law art 17: the respondent's consent is needed.
    _t(S.awaiting_respondent, A.respondent_agrees, S.in_mediation, W.respondent),
    _t(S.awaiting_respondent, A.respondent_refuses, S.terminated, W.respondent),
    _t(S.in_mediation, A.draft_agreement, S.agreement_drafted, W.mediator),
    _t(S.agreement_drafted, A.revise_agreement, S.in_mediation, W.mediator),
    # Art 19: in force once every party has signed.
    _t(S.agreement_drafted, A.all_signed, S.signed, W.system),
    # CPL art 205: the parties apply jointly; the court rules.
    _t(S.signed, A.request_confirmation, S.confirmation_requested, W.applicant, W.respondent),
    _t(S.confirmation_requested, A.confirm, S.confirmed, W.court),
    _t(S.confirmation_requested, A.reject, S.rejected, W.court),
    # Withdrawn before the ruling, or not accepted (SPC provisions art 4): the agreement
    # stays in force and may go to a competent court while the 30 days last.
    _t(S.confirmation_requested, A.withdraw_confirmation, S.signed, W.applicant, W.respondent),
    _t(S.confirmation_requested, A.refuse_acceptance, S.signed, W.court),
    # Art 25; People's Mediation Law art 23: either party may stop mediation.
    *(
        _t(source, A.terminate, S.terminated, W.applicant, W.system)
        for source in (S.submitted, S.declined)
    ),
    # A respondent who has not yet agreed is not in mediation: they answer yes or no (PML
    # art 17, SPC online mediation rules art 15), and their no ends it (respondent_refuses,
    # above). Ending mediation (art 25; PML art 23 (2) "要求终止调解") is theirs once they
    # agreed; before that it would be a second, less clear way of saying no.
    _t(
        S.awaiting_respondent,
        A.terminate,
        S.terminated,
        W.applicant,
        W.mediator,
        W.institution,
        W.system,
    ),
    *(
        _t(
            source,
            A.terminate,
            S.terminated,
            W.applicant,
            W.respondent,
            W.mediator,
            W.institution,
            W.system,
        )
        for source in (S.in_mediation, S.agreement_drafted)
    ),
)

_BY_KEY = {(t.source, t.action): t for t in TRANSITIONS}

OPEN_STATUSES = frozenset(_OPEN)
FINAL_STATUSES = frozenset({S.confirmed, S.rejected, S.terminated})
# What a mediator still has on the desk: filed and not yet finished.
ACTIVE_STATUSES = frozenset(set(CaseStatus) - FINAL_STATUSES - {S.draft})


def find(source: str, action: str) -> Transition | None:
    return _BY_KEY.get((CaseStatus(source), Action(action)))


def actions_from(source: str) -> list[Transition]:
    return [t for t in TRANSITIONS if t.source == source]
