"""The signing round: the fixed document, each signer in turn, the agreement's effect.

Order: every party (or the agent acting for them), then the mediator, and last the
institution's seal (People's Mediation Law art 29). Each signer re-authenticates with a
one-time code, sees the exact document they sign (its SHA-256 travels with the form and
must still be the current one), and signs with a certificate issued to them for this
document alone, whose key exists only for that signature (Electronic Signature Law art 13).
The agreement takes effect with the last signature: People's Mediation Law art 29 makes
it effective once the parties and the mediator have signed and the institution has sealed;
SPC online mediation rules art 19 asks for the same electronic signatures and seal.
A party may refuse to sign, which ends mediation (art 25 (7)).
"""

from __future__ import annotations

import hashlib
from typing import NamedTuple

import segno
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from agreements import pki
from agreements.render import pdf_with_boxes, render_html
from agreements.seal import seal_png
from agreements.signing import FieldSpec, add_signature_fields, sign_pdf
from mediation.accounts import operations as accounts
from mediation.accounts import personal_links
from mediation.accounts.models import CodePurpose, Role, User
from mediation.cases import agency, workflow
from mediation.cases.labels import SIDE_NAMES
from mediation.cases.models import Case, Side
from mediation.cases.states import FINAL_STATUSES, Action, CaseStatus
from mediation.cases.workflow import NotPermittedError
from mediation.core.db import utcnow
from mediation.core.forms import FieldError
from mediation.core.locks import lock_rows
from mediation.extensions import db
from mediation.journal import operations as journal
from mediation.notify import operations as notify

from . import credentials, documents, draft, signals
from .documents import document_bytes
from .documents import document_path_of as document_path_of  # its callers' name
from .documents import page_picture as page_picture  # its callers' name
from .drawing import checked_drawing
from .models import Agreement, AgreementStatus, Signature, SignerRole

LINK_SALT = "agreement-signing"
SIGN_ASKED = _l(
    "Case %(number)s: the mediation agreement is ready for your signature. Read it and sign "
    "here: %(link)s"
)
IN_FORCE = _l(
    "Case %(number)s: everyone has signed the mediation agreement; it is in force. Anyone can "
    "check it at %(verify)s with its document check code %(code)s."
)
ROLE_NAMES = {
    SignerRole.party: _l("party"),
    SignerRole.mediator: _l("mediator"),
    SignerRole.institution: _l("institution"),
}
# The role a certificate names (its subject's title: a code, the same in every language),
# as the signature's stamp and the verification page write it. Other platforms' or
# courts' certificates may name any title: those are shown as they are.
CERTIFICATE_ROLES = {
    "party": _l("Party"),
    "mediator": _l("Mediator"),
    "institution": _l("Mediation institution"),
    "applicant": _l("Applicant for judicial confirmation"),
    "court": _l("People's court"),
    # The built-in court seal of development and the demo (mediation/court/keys.py).
    "court-demo": _l("People's court (for demonstration only)"),
    "platform": _l("Mediation platform"),
}


def role_label(role: str | None) -> str:
    """A certificate's role in the reader's language (the document's, when signing)."""
    found = CERTIFICATE_ROLES.get(role or "")
    return str(found) if found is not None else (role or "")


def stamp_role(role: str) -> str:
    """The role under a signature's picture: in the document's language, not the signer's."""
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        return role_label(role)


MAX_REFUSAL = 2_000


def verify_url() -> str:
    return f"{current_app.config['BASE_URL'].rstrip('/')}/verify"


# -- the round ---------------------------------------------------------------------------------


def lock(agreement: Agreement) -> Agreement:
    """Take the agreement's row lock before reading what an operation decides on, so two
    signers, or a signer and an edit, never act on the same state (on SQLite the write lock
    does the same). The case's turn comes first (core/locks.py: the order of locks): the
    case given to another mediator journals, then takes this lock to void the round, and a
    signature holding it while it waited for the journal was a deadlock. Everything is read
    again afterwards."""
    journal.turn(agreement.case_id)
    db.session.flush()
    lock_rows(Agreement.id, agreement.id)
    db.session.expire_all()
    return agreement


def signers_of(case: Case) -> list[tuple[str, int | None, str]]:
    """(role, user id, label) in signing order. A party with an agent signs through the
    agent (the power of attorney is with the case)."""
    agents = {p.represents_id: p for p in case.parties if p.is_agent}
    order = []
    for side in (Side.applicant, Side.respondent):
        for party in (p for p in case.parties if p.side == side and not p.is_agent):
            agent = agents.get(party.user_id)
            label = f"{SIDE_NAMES[side]}：{party.user.real_name}"
            if agent is not None:
                label += _(" (signed by the agent %(name)s)", name=agent.user.real_name)
            order.append((SignerRole.party, (agent or party).user_id, label))
    mediator = case.mediator.real_name if case.mediator else ""
    order.append((SignerRole.mediator, case.mediator_id, f"{_('Mediator')}：{mediator}"))
    institution = case.institution.name if case.institution else ""
    order.append(
        (SignerRole.institution, None, _("Institution (seal): %(name)s", name=institution))
    )
    return order


def document_context(
    agreement: Agreement,
    content: dict,
    positions: list[int],
    *,
    version: int | None = None,
    in_round: int | None = None,
) -> dict:
    """What the agreement template needs, for the PDF and for the editor's preview
    (``version``, ``in_round``: the agreement's own unless a round about to open says)."""
    case = agreement.case
    url = f"{verify_url()}?code={agreement.short_code}"
    labels = {n: label for n, (_role, _user, label) in enumerate(signers_of(case), start=1)}
    return {
        "case": case,
        "content": content,
        "parties": [p for p in case.parties if not p.is_agent],
        "agents": {
            p.represents_id: [a for a in case.parties if a.represents_id == p.represents_id]
            for p in case.parties
            if p.is_agent
        },
        "names": {p.user_id: p.user.real_name for p in case.parties},
        "side_names": SIDE_NAMES,
        "signers": [{"position": n, "label": labels[n]} for n in positions],
        "short_code": agreement.short_code,
        "verify_url": verify_url(),
        # A picture of one pixel per module, drawn with hard edges (document.css): the
        # same code as a vector drawing, but embedded once instead of drawn on every page,
        # which cost about a tenth of the render (bench/agreement_signing.py).
        "qr": segno.make(url, error="m").png_data_uri(scale=1),
        "version": agreement.version if version is None else version,
        "round": agreement.round if in_round is None else in_round,
        # The agreement's date line: the day its text was fixed for signing, in the
        # platform's zone (People's Mediation Law art 29: it takes effect when signed).
        "made_on": utcnow().astimezone(workflow.zone()).date(),
    }


def field_name(position: int) -> str:  # the PDF signature field of the signer at position
    return f"Signature{position}"


def _round_html(
    agreement: Agreement, content: dict, positions: list[int], *, version: int, in_round: int
) -> str:
    context = document_context(agreement, content, positions, version=version, in_round=in_round)
    return render_html("agreement.html", **context)


def _round_pdf(html: str, positions: list[int]) -> bytes:
    """The unsigned document with one empty signature field on each signature block (the
    slow part: WeasyPrint)."""
    pdf, boxes = pdf_with_boxes(html)
    return add_signature_fields(
        pdf, [FieldSpec(field_name(p), *boxes[f"sig-{p}"]) for p in positions]
    )


class RoundDocument(NamedTuple):
    """The document a round opens with, made and stored before the lock, and its HTML."""

    html: str
    stored: documents.Stored


def prepare_round(
    agreement: Agreement, data: dict | None = None, *, by: User
) -> RoundDocument | None:
    """The document of the round ``open_round`` is about to open, made (WeasyPrint,
    seconds) and stored before any lock (core/locks.py): from the words ``data`` the
    editor sends to be saved first ("save and ask everyone to sign"; None: the current
    version). Reads the database, writes nothing in it. None when no round would open
    (``open_round`` says why, under the lock) or these words are out for signing already
    (the same form sent again)."""
    case = agreement.case
    current = agreement.current
    if by.id != case.mediator_id or case.status != CaseStatus.agreement_drafted:
        return None
    if data is None:
        if current is None:
            return None
        content = current.content
    else:
        try:
            content = draft.read(case, data)
        except FieldError:
            return None  # said by the save
    unchanged = current is not None and current.content == content
    if unchanged and agreement.status == AgreementStatus.drafting:
        version = agreement.version
    elif not unchanged and agreement.status in (AgreementStatus.drafting, AgreementStatus.signing):
        version = agreement.version + 1  # saved as a new version first (a round voided)
    else:
        return None
    positions = list(range(1, len(signers_of(case)) + 1))
    in_round = agreement.round + 1
    html = _round_html(agreement, content, positions, version=version, in_round=in_round)
    pdf = _round_pdf(html, positions)
    return RoundDocument(html, documents.put(agreement, pdf, "0", in_round=in_round))


def open_round(
    agreement: Agreement, *, by: User, prepared: RoundDocument | None = None
) -> list[Signature]:
    """The mediator fixes the current version: the document is made and signing starts.

    The document is made before the lock (``prepared``, or ``prepare_round`` here): a
    render takes seconds, and a lock held meanwhile held every step of the case. It is
    kept if the document as it would be made under the lock has the same HTML (the same
    words, version, round, signers and day); else it is made there, which only a change
    meanwhile comes to (a party's name corrected, midnight)."""
    if prepared is None:
        prepared = prepare_round(agreement, by=by)
    lock(agreement)
    case = agreement.case
    if by.id != case.mediator_id:
        raise NotPermittedError(_("Only the case's mediator drafts the agreement."))
    if agreement.status != AgreementStatus.drafting or case.status != CaseStatus.agreement_drafted:
        raise NotPermittedError(_("Signing can start only from a draft."))
    agreement.round += 1
    signers = []
    for position, (role, user_id, _label) in enumerate(signers_of(case), start=1):
        signature = Signature(
            round=agreement.round,
            position=position,
            role=role,
            user_id=user_id,
            field_name=field_name(position),
        )
        agreement.signatures.append(signature)
        signers.append(signature)
    positions = [s.position for s in signers]
    content, version = agreement.current.content, agreement.version
    html = _round_html(agreement, content, positions, version=version, in_round=agreement.round)
    if prepared is None or prepared.html != html:
        prepared = RoundDocument(html, documents.put(agreement, _round_pdf(html, positions), "0"))
    documents.record(agreement, prepared.stored)
    agreement.status = AgreementStatus.signing
    db.session.flush()
    journal.append(
        case.id,
        "agreement.signing_opened",
        {
            "round": agreement.round,
            "version": agreement.version,
            "sha256": agreement.document_sha256,
            "signers": [[s.role, s.user_id] for s in signers],
        },
        actor_id=by.id,
    )
    _ask_next(agreement)
    return signers


def link_for(agreement: Agreement, user: User) -> str:
    """The signer's personal link: it names them and this round."""
    signed = personal_links.token(LINK_SALT, agreement.id, user.id, agreement.round)
    return personal_links.url(f"/a/{signed}")


def of_link(token: str) -> tuple[Agreement, User] | None:
    found = personal_links.values(LINK_SALT, token)
    if found is None or len(found) != 3:
        return None
    agreement, user = db.session.get(Agreement, found[0]), db.session.get(User, found[1])
    if agreement is None or user is None or agreement.round != found[2]:
        return None  # a voided round's link leads nowhere
    return agreement, user


def seal_people(case: Case) -> list[User]:
    """Who is asked for the seal: its holder, or every administrator when none is named."""
    institution = case.institution
    if institution.seal_holder is not None:
        return [institution.seal_holder]
    return [u for u in institution.staff if u.has_role(Role.institution_admin)]


def _ask_next(agreement: Agreement) -> None:
    """Tell whoever signs next (the seal: its holder, or every administrator)."""
    signature = next_signature(agreement)
    if signature is None:
        return
    case = agreement.case
    people = seal_people(case) if signature.role == SignerRole.institution else [signature.user]
    for person in people:
        notify.tell(person, SIGN_ASKED, number=case.number, link=link_for(agreement, person))


def next_signature(agreement: Agreement) -> Signature | None:
    # A case sent back to mediation from its page signs nothing until the draft is fixed again.
    if (
        agreement.status != AgreementStatus.signing
        or agreement.case.status != CaseStatus.agreement_drafted
    ):
        return None
    return next(
        (s for s in agreement.round_signatures() if s.signed_at is None and s.voided_at is None),
        None,
    )


def may_sign(signature: Signature, user: User, case: Case) -> bool:
    """Whose turn ``signature`` is: its signer; for the seal, the institution's seal holder
    (any of its administrators when it has named none)."""
    if signature.role == SignerRole.institution:
        institution = case.institution
        if (
            institution is None
            or user.institution_id != institution.id
            or not user.has_role(Role.institution_admin)  # who may open the case at all
        ):
            return False
        return institution.seal_holder_id in (None, user.id)
    # Still in the case: an agent the party refused after the round began signs nothing.
    in_case = user.id == case.mediator_id or any(p.user_id == user.id for p in case.parties)
    return signature.user_id == user.id and in_case


def no_longer_signed(agreement: Agreement) -> str | None:
    """Why nothing is signed in ``agreement`` any more, for a signer whose page was open
    while that happened; None while a round is out for signing."""
    if agreement.status == AgreementStatus.effective:
        return _("Everyone has signed: the agreement is in force. There is nothing left to sign.")
    if agreement.case.status in FINAL_STATUSES:
        return _("The mediation of this case has ended: nothing is signed any more.")
    if agreement.status == AgreementStatus.drafting or (
        agreement.case.status != CaseStatus.agreement_drafted
    ):
        # The round was voided (back to mediation, a new mediator): what was signed in it
        # no longer counts, and the text may change before anyone signs again.
        return _(
            "The signing was called off: the mediator is changing the agreement. Nothing was "
            "signed; you will be asked to sign again once the text is fixed."
        )
    return None


class SignedAlreadyError(Exception):
    """The signer's signature is there already: the signing form arrived twice (a double
    tap, a phone resending the POST, a second tab). Nothing is signed twice (nor a code
    used up), and the page says the signature was added."""


def _signed_already(agreement: Agreement, user: User, shown_sha256: str) -> bool:
    """``user`` signed, in this round, the very document this form showed them."""
    return agreement.status in (AgreementStatus.signing, AgreementStatus.effective) and any(
        s.signed_at is not None
        and s.voided_at is None
        and s.signed_by_id == user.id
        and s.signed_document_sha256 == shown_sha256
        for s in agreement.round_signatures()
    )


def _turn_of(agreement: Agreement, user: User) -> Signature:
    signature = next_signature(agreement)
    if signature is None and (why := no_longer_signed(agreement)) is not None:
        raise NotPermittedError(why)
    if signature is None or not may_sign(signature, user, agreement.case):
        raise NotPermittedError(_("It is not your turn to sign this agreement."))
    agency.check_may_act(agreement.case, user)  # an agent signs once the party agreed
    return signature


# The text message names what the code signs (Electronic Signature Law art 2: the signer
# approves this content): the code comes first, so that a phone offers to fill it in.
SIGNING_TEXT = _l(
    "Code %(code)s: you are signing the mediation agreement of case %(number)s. Entering it "
    "signs the text as you have read it. Valid for %(minutes)d minutes. Do not tell anyone."
)


def code_for(agreement: Agreement, shown_sha256: str) -> accounts.CodeFor:
    """What a signing code is for: this agreement, in this round, as the document whose
    SHA-256 the signer was shown (Electronic Signature Law art 13: bound to this data
    message; a code asked for on another case's agreement, or before an edit, signs
    nothing here)."""
    return accounts.CodeFor(
        document=f"agreement:{agreement.id}",
        content=f"r{agreement.round}:{shown_sha256}",
        text=SIGNING_TEXT,
        params={"number": agreement.case.number},
    )


def _shown_current(agreement: Agreement, shown_sha256: str) -> None:
    if shown_sha256 != agreement.document_sha256:
        raise FieldError(
            "document",
            _("The document has changed since you opened it. Please read it again before signing."),
        )


def send_code(agreement: Agreement, user: User, *, shown_sha256: str | None = None) -> None:
    """A code to sign the document the signer was shown (``shown_sha256``; None: the one on
    file, for a caller that shows it), which must be the one on file still."""
    _turn_of(agreement, user)
    shown = agreement.document_sha256 if shown_sha256 is None else shown_sha256
    _shown_current(agreement, shown)
    # The same press again (a double tap, a second tab) goes on with the code just sent.
    accounts.ask_for_code(
        user, CodePurpose.agreement_signature, code_for=code_for(agreement, shown)
    )


class _Prepared(NamedTuple):  # a signed file made and stored before the lock
    signature_id: int
    before_sha256: str
    stored: documents.Stored
    certificate_serial: str
    certificate_subject: str


def _prepare(
    agreement: Agreement, user: User, signature: Signature, drawing: bytes | None
) -> _Prepared:
    """The document signed by ``user`` into ``signature``'s field, with its timestamps
    (agreements/signing.py), stored (``documents.put``). Reads the database, writes
    nothing in it: ``sign`` records the file under the agreement's lock."""
    case = agreement.case
    is_seal = signature.role == SignerRole.institution
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):  # the document's language
        reason = _("Signed as %(role)s of the mediation agreement", role=ROLE_NAMES[signature.role])
        if is_seal:
            name = case.institution.name
            drawing = seal_png(name, _("Mediation seal"))
        else:
            name = user.real_name
    seal = credentials.seal_credential(case.institution) if is_seal else None
    credential = seal or pki.issue_signer(
        credentials.authority(),
        common_name=credentials.fit_name(name),
        role=str(signature.role),
        document_ref=f"{case.number} {agreement.short_code} r{agreement.round}",
        signer_id=f"user-{user.id}",
    )
    certificate = credential.certificate
    before = document_bytes(agreement)
    if hashlib.sha256(before).hexdigest() != agreement.document_sha256:
        # The stored file is not the one on record: refuse rather than sign it.
        raise NotPermittedError(_("The document on file does not match the record."))
    signed = sign_pdf(
        before,
        signer_credential=credential,
        authority=credentials.authority(),
        field_name=signature.field_name,
        appearance_png=drawing,
        role_label=stamp_role(str(signature.role)),
        reason=reason,
        location=case.institution.name if case.institution else "",
        timestamper=credentials.timestamper(),
    )
    return _Prepared(
        signature.id,
        agreement.document_sha256,
        documents.put(agreement, signed, str(signature.position)),
        format(certificate.serial_number, "x"),
        certificate.subject.human_friendly,
    )


def _checked(
    agreement: Agreement, user: User, shown_sha256: str, drawing: bytes | None
) -> tuple[Signature, bytes | None]:
    """The signature whose turn it is, the document shown still current; the drawing."""
    signature = _turn_of(agreement, user)
    _shown_current(agreement, shown_sha256)
    is_seal = signature.role == SignerRole.institution
    return signature, checked_drawing(drawing, required=not is_seal)


def sign(
    agreement: Agreement, user: User, *, code: str, shown_sha256: str, drawing: bytes | None
) -> Signature:
    """``user`` signs the document they were shown, in their turn.

    The signed file is made before any lock: its timestamps come from the TSA, over the
    network with TSA_URL, and a lock held meanwhile held every step of the case (on SQLite
    every write on the platform) for as long as the TSA took. Under the agreement's lock
    everything is checked again and the code used; the file is kept only if it signs the
    document still current into the signature whose turn it still is, else the step is
    refused as before (signed at the same moment, an edit, a round voided). The file
    depends only on the document's bytes, which the SHA-256 shown fixes."""
    prepared = None
    if not _signed_already(agreement, user, shown_sha256):
        try:
            signature, checked = _checked(agreement, user, shown_sha256, drawing)
            bound = code_for(agreement, shown_sha256)
            if accounts.code_would_pass(
                user, CodePurpose.agreement_signature, code, code_for=bound
            ):
                prepared = _prepare(agreement, user, signature, checked)
        except (NotPermittedError, FieldError):
            pass  # said below, as it stands under the lock
    lock(agreement)
    case = agreement.case
    if _signed_already(agreement, user, shown_sha256):
        raise SignedAlreadyError
    signature, drawing = _checked(agreement, user, shown_sha256, drawing)
    if not accounts.consume_code(
        user, CodePurpose.agreement_signature, code, code_for=code_for(agreement, shown_sha256)
    ):
        raise FieldError("code", _("The code is wrong or has expired. Ask for a new one."))
    if prepared is None or (prepared.signature_id, prepared.before_sha256) != (
        signature.id,
        agreement.document_sha256,
    ):
        # Only when what was read before the lock differs from what is read under it in a
        # way no page offers (a new code arrived in between, say): the file is made now.
        prepared = _prepare(agreement, user, signature, drawing)
    documents.record(agreement, prepared.stored)
    now = utcnow()
    signature.signed_at = now
    signature.signed_by_id = user.id
    signature.certificate_serial = prepared.certificate_serial
    signature.certificate_subject = prepared.certificate_subject
    signature.signed_document_sha256 = shown_sha256
    signature.result_sha256 = agreement.document_sha256
    db.session.flush()
    journal.append(
        case.id,
        "agreement.signed",
        {
            "round": agreement.round,
            "position": signature.position,
            "role": signature.role,
            "user_id": user.id,
            "certificate_serial": signature.certificate_serial,
            "certificate_subject": signature.certificate_subject,
            "document_before": shown_sha256,
            "document_after": agreement.document_sha256,
            "via": "one-time code",
        },
        actor_id=user.id,
    )
    if next_signature(agreement) is None:
        _takes_effect(agreement, now)
    else:
        _ask_next(agreement)
    return signature


def _takes_effect(agreement: Agreement, now) -> None:
    agreement.status = AgreementStatus.effective
    agreement.effective_at = now
    workflow.transition(agreement.case, Action.all_signed, by=None, now=now)
    journal.append(
        agreement.case_id,
        "agreement.effective",
        {"round": agreement.round, "sha256": agreement.document_sha256},
        actor_id=None,
    )
    signals.agreement_effective.send(agreement)
    case = agreement.case
    for person in {*(p.user for p in case.parties), case.mediator}:
        notify.tell(
            person, IN_FORCE, number=case.number, verify=verify_url(), code=agreement.short_code
        )
