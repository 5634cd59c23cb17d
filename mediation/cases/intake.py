"""Filing a dispute from home, step by step; every step is saved, so nothing typed is lost.

1. the dispute (category, what happened, where, the claims) opens a draft case;
2. the respondent (name and mobile number; a new one gets an account without password);
3. evidence files, checked by their content and kept under their SHA-256;
4. consent to online mediation (SPC online mediation rules art 4), the service address
   (arts 8 and 17) and the choice of mediator (art 10), then the case is submitted.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import filetype
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from mediation.accounts import operations as accounts
from mediation.accounts.identity import IdentityError, validate_phone
from mediation.accounts.models import Institution, User
from mediation.core.db import utcnow
from mediation.core.forms import FieldError
from mediation.core.locks import lock_rows
from mediation.core.storage import storage
from mediation.extensions import db
from mediation.journal import operations as journal

from . import agency, assignment, matching, workflow
from .categories import get_category
from .consent import record_consent
from .models import Case, CaseParty, Claim, Evidence, Side
from .operations import open_case
from .states import Action, CaseStatus

# What may be uploaded, recognised by content: photos, scans and PDF documents.
EVIDENCE_TYPES = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "image/heic": ".heic",
    "application/pdf": ".pdf",
}
MAX_CLAIMS = 10


@dataclass(frozen=True)
class ClaimInput:
    text: str
    amount: Decimal | None = None


def _check_dispute(category: str, title: str, claims: list[ClaimInput]) -> None:
    found = get_category(category)
    if found is None or not found.active:
        raise FieldError("category", _("Choose one of the dispute categories."))
    if not title.strip():
        raise FieldError("title", _("Say in a few words what the dispute is about."))
    if not [c for c in claims if c.text.strip()]:
        raise FieldError("claims", _("Say at least once what you ask for."))
    for claim in claims:
        if claim.amount is not None and claim.amount < 0:
            raise FieldError("claims", _("An amount cannot be negative."))


def save_dispute(
    case: Case | None,
    *,
    applicant: User,
    category: str,
    title: str,
    facts: str,
    region_code: str | None,
    claims: list[ClaimInput],
    for_principal: str | None = None,
) -> Case:
    """Step 1: open the draft, or change it while it is still a draft. ``for_principal``:
    the mobile number of the party the applicant files for as their agent (``set_principal``
    follows), None when they file for themselves."""
    _check_dispute(category, title, claims)
    if case is None:
        case = _same_draft(applicant, for_principal, category, title, facts, region_code, claims)
    if case is None:
        case = open_case(
            title=title.strip(),
            category=category,
            applicants=[applicant],
            respondents=[],
            facts=facts,
            by=applicant,
        )
    elif case.status != CaseStatus.draft:
        raise FieldError("title", _("This case has been submitted and can no longer be edited."))
    case.title, case.category, case.facts = title.strip(), category, facts.strip()
    case.region_code = region_code or None
    case.claims = [
        Claim(text=c.text.strip(), amount=c.amount, position=n)
        for n, c in enumerate(c for c in claims[:MAX_CLAIMS] if c.text.strip())
    ]
    db.session.flush()
    return case


def _same_draft(
    applicant: User,
    for_principal: str | None,
    category: str,
    title: str,
    facts: str,
    region_code: str | None,
    claims: list[ClaimInput],
) -> Case | None:
    """The draft this very first step opened already, still untouched since (no other
    side named yet): the same form arrived twice (a double tap, a phone retrying the POST),
    and the applicant goes on with that one draft rather than find two in their list. Filed
    for the same party: an agent files the same dispute for each of several workers of one
    employer, and one worker's draft must not become another's (nor the filer's own)."""
    principal = None
    if for_principal is not None:
        try:
            principal = validate_phone(for_principal, current_app.config["DEFAULT_PHONE_REGION"])
        except IdentityError:
            return None  # a new draft, refused with the number's error (set_principal)
    # Two such requests at once take turns here: the applicant's row is locked (on SQLite,
    # the write lock), so the second one sees the draft the first one made.
    lock_rows(User.id, applicant.id)
    wanted = [(c.text.strip(), c.amount) for c in claims[:MAX_CLAIMS] if c.text.strip()]
    drafts = db.session.scalars(
        select(Case)
        .join(CaseParty)
        .where(
            CaseParty.user_id == applicant.id,
            CaseParty.side == Side.applicant,
            Case.status == CaseStatus.draft,
            Case.title == title.strip(),
            Case.category == category,
        )
        .order_by(Case.id.desc())
    )
    for draft in drafts:
        if (
            (draft.facts or "") == facts.strip()
            and draft.region_code == (region_code or None)
            and not draft.party_users(Side.respondent)
            and [(c.text, c.amount) for c in draft.claims] == wanted
            and _filed_by(draft, applicant, principal)
        ):
            return draft
    return None


def _filed_by(draft: Case, applicant: User, principal: str | None) -> bool:
    """``applicant`` files ``draft`` as agent for the party with the mobile number
    ``principal``; or, ``principal`` None, for themselves, with no agent (a draft an agent
    files in their name is the agent's to go on with)."""
    agents = [p for p in draft.parties if p.is_agent]
    if principal is None:
        return not agents
    return any(
        a.user_id == applicant.id and a.represents is not None and a.represents.phone == principal
        for a in agents
    )


def set_principal(
    case: Case, *, agent: User, real_name: str, phone: str, id_number: str | None
) -> User:
    """The person filing is an agent (委托代理人) for the applicant named here; a power of
    attorney must be among the evidence before the case can be submitted."""
    _editable(case)
    try:
        phone = validate_phone(phone, current_app.config["DEFAULT_PHONE_REGION"])
    except IdentityError as error:
        raise FieldError("principal_phone", str(error)) from None
    if phone == agent.phone:
        raise FieldError("principal_phone", _("This is your own number; give the party's."))
    try:
        principal = accounts.party_with_phone(phone, real_name=real_name, id_number=id_number)
    except FieldError as error:
        raise FieldError(f"principal_{error.field}", error.message) from None
    case.parties = [
        p for p in case.parties if not (p.side == Side.applicant and p.user_id != agent.id)
    ]
    own = next(p for p in case.parties if p.user_id == agent.id)
    own.is_agent, own.represents = True, principal
    # Named by the agent: the agency holds once the party confirms it (agency.py).
    own.agency_confirmed_at = own.agency_confirmed_how = None
    case.parties.insert(
        0, CaseParty(user=principal, side=Side.applicant, named_name=real_name.strip())
    )
    db.session.flush()
    return principal


def set_respondent(
    case: Case, *, by: User, real_name: str, phone: str, id_number: str | None = None
) -> User:
    """Step 2: who the other side is; they are invited once the case is accepted."""
    _editable(case)
    try:
        phone = validate_phone(phone, current_app.config["DEFAULT_PHONE_REGION"])
    except IdentityError as error:
        raise FieldError("phone", str(error)) from None
    if phone == by.phone:
        raise FieldError("phone", _("This is your own number; give the other side's."))
    respondent = accounts.party_with_phone(phone, real_name=real_name, id_number=id_number)
    case.parties = [p for p in case.parties if p.side != Side.respondent]
    case.parties.append(
        CaseParty(user=respondent, side=Side.respondent, named_name=real_name.strip())
    )
    db.session.flush()
    return respondent


def check_upload(filename: str, data: bytes) -> str:
    """An uploaded document must be a photo or a PDF (by its content, not its name), not
    empty, and within the size limit."""
    limit = current_app.config["MAX_EVIDENCE_BYTES"]
    if len(data) > limit:
        raise FieldError(
            "file",
            _(
                "%(name)s is too large: at most %(mb)d MB per file.",
                name=filename,
                mb=limit // 2**20,
            ),
        )
    if not data:
        raise FieldError("file", _("%(name)s is empty.", name=filename))
    guessed = filetype.guess(data)
    if guessed is None or guessed.mime not in EVIDENCE_TYPES:
        raise FieldError(
            "file",
            _(
                "%(name)s cannot be uploaded: only photos (JPEG, PNG, WebP, HEIC) and PDF "
                "documents are accepted.",
                name=filename,
            ),
        )
    return guessed.mime


def add_evidence(
    case: Case,
    *,
    by: User,
    filename: str,
    data: bytes,
    shared: bool,
    kind: str = "evidence",
) -> Evidence:
    """Store one file after checking what it really is and how large it is."""
    mime = check_upload(filename, data)
    digest = storage().put_content(data)
    evidence = Evidence(
        case_id=case.id,
        uploaded_by_id=by.id,
        filename=filename[:255] or f"evidence{EVIDENCE_TYPES[mime]}",
        content_type=mime,
        size=len(data),
        sha256=digest,
        shared=shared,
        kind=kind if kind in ("evidence", "power_of_attorney") else "evidence",
    )
    db.session.add(evidence)
    db.session.flush()
    journal.append(
        case.id,
        "evidence.added",
        {
            "evidence_id": evidence.id,
            "filename": evidence.filename,
            "sha256": digest,
            "size": evidence.size,
        },
        actor_id=by.id,
    )
    return evidence


def submit(
    case: Case,
    *,
    by: User,
    consent: bool,
    service_address: str,
    service_confirmed: bool,
    mediator_id: int | None = None,
    institution_id: int | None = None,
) -> None:
    """Step 4: the applicant's consent and service address, the choice, and the submission."""
    _editable(case)
    if not case.party_users(Side.respondent):
        raise FieldError("respondent", _("Say who the other side is first."))
    if any(p.is_agent for p in case.parties) and not any(
        e.kind == "power_of_attorney" for e in case.evidence
    ):
        raise FieldError(
            "consent", _("Upload the power of attorney signed by the party you act for.")
        )
    now = utcnow()
    record_consent(
        case,
        by=by,
        side=Side.applicant,
        consent=consent,
        service_address=service_address,
        service_confirmed=service_confirmed,
        now=now,
    )
    workflow.transition(case, Action.submit, by=by, now=now)
    _assign_as_chosen(case, by=by, mediator_id=mediator_id, institution_id=institution_id)
    for agent in (p for p in case.parties if p.is_agent and p.agency_confirmed_at is None):
        agency.ask_principal(case, agent)


def _assign_as_chosen(
    case: Case, *, by: User, mediator_id: int | None, institution_id: int | None
) -> None:
    """Art 10: the parties' choice of mediator or institution, otherwise an automatic pick."""
    if mediator_id:
        mediator = db.session.get(User, mediator_id)
        if not matching.eligible_mediator(case, mediator):
            raise FieldError("mediator_id", _("Choose a mediator from the list."))
        assignment.assign(
            case, institution=mediator.institution, mediator=mediator, how="chosen", by=by
        )
    elif institution_id:
        institution = db.session.get(Institution, institution_id)
        if institution is None:
            raise FieldError("institution_id", _("Choose an institution from the list."))
        # The institution chosen gives the case to one of its mediators (art 10).
        case.institution = institution
        assignment.queue(case, by=by, how="chosen")
    else:
        assignment.assign_automatically(case, by=by)


def _editable(case: Case) -> None:
    if case.status != CaseStatus.draft:
        raise FieldError("title", _("This case has been submitted and can no longer be edited."))
