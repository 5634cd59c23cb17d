"""A signing round that ends without taking effect: a party refuses to sign (which ends
mediation, SPC online mediation rules art 25 (7)), or the round's signatures are voided
(the text edited again, the case ended or sent back, a new mediator, an agent in it whom
their party refused). The round itself,
each signer in turn, is in ``signing``.
"""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from mediation.accounts.models import User
from mediation.cases import agency, workflow
from mediation.cases.states import Action, CaseStatus, TerminationReason
from mediation.cases.workflow import NotPermittedError
from mediation.core.db import utcnow
from mediation.core.forms import FieldError
from mediation.extensions import db
from mediation.journal import operations as journal
from mediation.notify import operations as notify

from .models import Agreement, AgreementStatus, SignerRole
from .signing import MAX_REFUSAL, lock, next_signature, no_longer_signed, seal_people

AGENT_REFUSED = _l(
    "Case %(number)s: a party said the person signing for them does not act for them, so "
    "this round of signing the mediation agreement is void. The mediator will send the "
    "agreement for signing again."
)
MEDIATOR_CHANGED = _l(
    "Case %(number)s: the mediator has changed, so this round of signing the mediation "
    "agreement is void. The new mediator will fix the agreement's text again."
)


def refuse(agreement: Agreement, user: User, reason: str) -> None:
    """A party refuses to sign: mediation ends (SPC online mediation rules art 25 (7))."""
    agency.check_may_act(agreement.case, user)  # a refusal too is the party's own act
    lock(agreement)
    signature = next(
        (
            s
            for s in agreement.round_signatures()
            if s.role == SignerRole.party and s.user_id == user.id and s.signed_at is None
        ),
        None,
    )
    if (
        agreement.status != AgreementStatus.signing
        or agreement.case.status != CaseStatus.agreement_drafted
        or signature is None
    ):
        why = no_longer_signed(agreement)
        raise NotPermittedError(why or _("You have nothing to sign in this agreement."))
    reason = (reason or "").strip()
    if len(reason) > MAX_REFUSAL:
        raise FieldError("reason", _("At most %(n)d characters.", n=MAX_REFUSAL))
    agreement.status = AgreementStatus.refused
    agreement.refused_at = utcnow()
    agreement.refused_by_id = user.id
    db.session.flush()
    journal.append(
        agreement.case_id,
        "agreement.refused",
        {"round": agreement.round, "user_id": user.id, "reason": reason},
        actor_id=user.id,
    )
    # The platform ends the case on the party's act (journaled above with who and why):
    # refusing to sign is not one of the reasons a party picks from the case page.
    workflow.transition(
        agreement.case,
        Action.terminate,
        by=None,
        reason=TerminationReason.refused_to_sign,
        note=reason or str(_("refused to sign the agreement")),
    )


def void_round(agreement: Agreement, *, by: User | None, reason: str) -> None:
    """Every signature of the round stops counting; the draft is open again."""
    now = utcnow()
    signed = [s.position for s in agreement.round_signatures() if s.signed_at is not None]
    for signature in agreement.round_signatures():
        signature.voided_at = now
    agreement.status = AgreementStatus.drafting
    # The round's files stay in storage (the journal holds their hashes), but none of them
    # is "the document" any more: the next round makes a new one.
    agreement.document_path = agreement.document_sha256 = None
    db.session.flush()
    journal.append(
        agreement.case_id,
        "agreement.signatures_voided",
        {"round": agreement.round, "signed": signed, "reason": reason},
        actor_id=by.id if by else None,
    )


def void_for_new_mediator(agreement: Agreement) -> None:
    """The case has a new mediator while its agreement is out for signing: the round is void.
    The document names the mediator who signs it (People's Mediation Law art 29: the parties
    and the people's mediator sign, the committee seals), and the one it names can no longer
    open the case, so the round could never be finished. The new mediator fixes the text
    again and a new round starts; an agreement in force is a record and stays as it is.
    Whoever signed the round or was to sign it is told (the parties or agents still in the
    case, the mediator it named, the seal's people once they were asked)."""
    lock(agreement)
    if (
        agreement.status != AgreementStatus.signing
        or agreement.case.status != CaseStatus.agreement_drafted
    ):
        return  # in force, refused, a draft, or already voided by the case's own step
    case = agreement.case
    turn = next_signature(agreement)
    in_case = {p.user_id for p in case.parties}
    told = [
        s.user
        for s in agreement.round_signatures()
        if s.user is not None and (s.role == SignerRole.mediator or s.user_id in in_case)
    ]
    if turn is not None and turn.role == SignerRole.institution:
        told += seal_people(case)
    void_round(agreement, by=None, reason="mediator changed")
    for person in dict.fromkeys(told):  # each once, in signing order
        if person.id != case.mediator_id:
            notify.tell(person, MEDIATOR_CHANGED, number=case.number)


def void_for_refused_agent(agreement: Agreement, user_id: int) -> None:
    """A party said the agent who signs for them in the round does not act for them
    (cases/agency.refuse): the round could never end as it stands (the agent may no longer
    sign, the party holds no seat in it and cannot refuse), and a signature the agent gave
    in their name no longer stands. The round is void; the mediator sends the agreement
    again, and the party signs in person (``signing.signers_of``). Whoever is in the round
    and still in the case is told, the mediator and every party too."""
    lock(agreement)
    if (
        agreement.status != AgreementStatus.signing
        or agreement.case.status != CaseStatus.agreement_drafted
    ):
        return
    seats = agreement.round_signatures()
    if not any(s.user_id == user_id for s in seats):
        return
    case = agreement.case
    in_case = {p.user_id for p in case.parties}
    told = [
        s.user
        for s in seats
        if s.user is not None and (s.role == SignerRole.mediator or s.user_id in in_case)
    ]
    told += [p.user for p in case.parties if not p.is_agent]  # the party who signs now
    void_round(agreement, by=None, reason="agent refused")
    for person in dict.fromkeys(told):  # each once, in signing order
        notify.tell(person, AGENT_REFUSED, number=case.number)
