"""Drafting the agreement: start from the category's text, save versions (each checked,
each kept), the parties' comments. Operations flush and journal; the edges commit."""

from __future__ import annotations

import secrets

from flask_babel import gettext as _
from sqlalchemy import select

from mediation.accounts.models import User
from mediation.cases import agency, workflow
from mediation.cases.models import Case
from mediation.cases.states import FINAL_STATUSES, Action, CaseStatus
from mediation.cases.workflow import NotPermittedError
from mediation.core.forms import FieldError
from mediation.extensions import db
from mediation.journal import operations as journal

from . import checks, draft, round_end, signing
from .models import Agreement, AgreementComment, AgreementStatus, AgreementVersion

MAX_COMMENT = 2_000
# Letters and digits nobody confuses when reading them off paper (no 0/O, 1/I/L).
_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def of_case(case: Case) -> Agreement | None:
    return db.session.scalar(select(Agreement).where(Agreement.case_id == case.id))


def by_short_code(code: str) -> Agreement | None:
    return db.session.scalar(
        select(Agreement).where(Agreement.short_code == code.strip().upper().replace("-", ""))
    )


def _new_short_code() -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(10))


def _mediator_only(case: Case, by: User) -> None:
    if by.id != case.mediator_id:
        raise NotPermittedError(_("Only the case's mediator drafts the agreement."))


def start(case: Case, *, by: User) -> Agreement:
    """The mediator starts the draft from the category's text and the claims, or takes up
    the existing one again after going back to mediation; the case moves to "agreement
    drafted"."""
    _mediator_only(case, by)
    agreement = of_case(case)
    if agreement is not None and agreement.status in (
        AgreementStatus.effective,
        AgreementStatus.refused,
    ):
        raise NotPermittedError(_("This case has an agreement already."))
    if case.status == CaseStatus.in_mediation:
        workflow.transition(case, Action.draft_agreement, by=by)
    elif case.status != CaseStatus.agreement_drafted:
        raise NotPermittedError(_("An agreement is drafted while the case is in mediation."))
    if agreement is not None:
        if agreement.status == AgreementStatus.signing:
            round_end.void_round(agreement, by=by, reason="back to mediation")
        return agreement
    agreement = Agreement(case_id=case.id, short_code=_new_short_code(), version=0, round=0)
    db.session.add(agreement)
    db.session.flush()
    _add_version(agreement, case, draft.starting_draft(case), by=by)
    return agreement


def _add_version(agreement: Agreement, case: Case, content: dict, *, by: User) -> AgreementVersion:
    concerns = checks.check(case, content)
    agreement.version += 1
    version = AgreementVersion(
        number=agreement.version,
        content=content,
        warnings=[c.as_dict() for c in concerns],
        created_by_id=by.id,
    )
    agreement.versions.append(version)
    db.session.flush()
    journal.append(
        case.id,
        "agreement.saved",
        {
            "version": version.number,
            "content": content,
            # The check's findings are part of the record (they block confirmation later).
            "warnings": [c.code for c in concerns],
        },
        actor_id=by.id,
    )
    return version


def save(agreement: Agreement, data: dict, *, by: User) -> AgreementVersion:
    """A new version of the draft. Once signing has begun, any change voids every
    signature of the round: the signers signed other words."""
    content = draft.read(agreement.case, data)  # the shape first: nothing to lock for
    signing.lock(agreement)
    case = agreement.case
    _mediator_only(case, by)
    if (
        agreement.status in (AgreementStatus.effective, AgreementStatus.refused)
        or case.status != CaseStatus.agreement_drafted
    ):
        raise NotPermittedError(_("The agreement can no longer be changed."))
    if agreement.current is not None and agreement.current.content == content:
        return agreement.current  # nothing changed: no new version, nothing voided
    if agreement.status == AgreementStatus.signing:
        round_end.void_round(agreement, by=by, reason="edited")
    return _add_version(agreement, case, content, by=by)


class CommentRepeatedError(Exception):
    """The same remark arrived again (a double tap, a phone retrying the POST): it is kept
    once, and the page says it was added."""


def comment(agreement: Agreement, text: str, *, by: User) -> AgreementComment:
    """A party (or the mediator) remarks on the current version."""
    case = agreement.case
    if by.id != case.mediator_id and not any(p.user_id == by.id for p in case.parties):
        raise NotPermittedError(_("Only the parties and the mediator comment on the draft."))
    agency.check_may_act(case, by)
    text = (text or "").strip()
    if not text:
        raise FieldError("text", _("Write your comment."))
    if len(text) > MAX_COMMENT:
        raise FieldError("text", _("At most %(n)d characters.", n=MAX_COMMENT))
    # Two requests with the same remark take turns, so the second one sees the first one's
    # comment; and what the comment depends on (the draft still open, the case still
    # mediated) is read once it is its turn, so a draft sent for signing or a case ended
    # meanwhile is said as it is. The case's turn (core/locks.py: the order of locks) is
    # all it needs: the comment locks nothing else.
    journal.turn(case.id)
    db.session.expire(agreement)
    db.session.refresh(case)
    if case.status in FINAL_STATUSES:
        # Terminated (or ruled on) while a draft: nobody will sign it, and a remark would
        # read as if the mediation went on.
        raise NotPermittedError(_("The mediation of this case has ended: the draft is closed."))
    if agreement.status != AgreementStatus.drafting:
        raise NotPermittedError(_("Comments are taken while the agreement is a draft."))
    last = db.session.scalars(
        select(AgreementComment)
        .where(AgreementComment.agreement_id == agreement.id)
        .order_by(AgreementComment.id.desc())
        .limit(1)
    ).first()
    if last is not None and (last.user_id, last.version, last.text) == (
        by.id,
        agreement.version,
        text,
    ):
        raise CommentRepeatedError
    remark = AgreementComment(
        agreement_id=agreement.id, version=agreement.version, user_id=by.id, text=text
    )
    db.session.add(remark)
    db.session.flush()
    journal.append(
        case.id,
        "agreement.commented",
        {"version": agreement.version, "text": text},
        actor_id=by.id,
    )
    return remark


def comments(agreement: Agreement) -> list[AgreementComment]:
    return list(
        db.session.scalars(
            select(AgreementComment)
            .where(AgreementComment.agreement_id == agreement.id)
            .order_by(AgreementComment.id)
        )
    )


def concerns(agreement: Agreement) -> list[dict]:
    """The check's concerns on the current version as they stand now: those about the
    document's words as saved with it, those about the parties read afresh (an identity
    entered or confirmed since, even after the agreement took effect, ends its concern:
    the application and the package carry the identity as it is then)."""
    if agreement.current is None:
        return []
    saved = [w for w in agreement.current.warnings if w["code"] not in checks.PARTY_CODES]
    return [c.as_dict() for c in checks.party_concerns(agreement.case)] + saved


def confirmable(agreement: Agreement) -> bool:
    """No concern on the version in force: a court could accept the application."""
    return agreement.current is not None and not concerns(agreement)


def case_moved(case: Case, *, source: str, action: str) -> None:
    """The case left "agreement drafted" from its own page (back to mediation, or ended):
    signing stops, and what was signed so far no longer counts."""
    if source != CaseStatus.agreement_drafted or case.status == CaseStatus.signed:
        return
    agreement = of_case(case)
    if agreement is not None and agreement.status == AgreementStatus.signing:
        round_end.void_round(agreement, by=None, reason=f"case {action}")


def mediator_changed(case: Case) -> None:
    """The case was given to another mediator (SPC online mediation rules arts 13, 14): a
    round out for signing names the former one and is voided; the new mediator fixes the
    text again (round_end.void_for_new_mediator)."""
    agreement = of_case(case)
    if agreement is not None:
        round_end.void_for_new_mediator(agreement)


def agent_refused(case: Case, user_id: int) -> None:
    """A party said ``user_id`` does not act for them: a round they sign in is void
    (round_end.void_for_refused_agent)."""
    agreement = of_case(case)
    if agreement is not None:
        round_end.void_for_refused_agent(agreement, user_id)
