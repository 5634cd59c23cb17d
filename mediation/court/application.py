"""The parties' side of judicial confirmation: the competent courts, the 30-day window, the
joint application signed by every party, its materials, and withdrawal.

Civil Procedure Law 2023 art 205 and People's Mediation Law art 33: both parties apply
jointly within 30 days of the agreement taking effect, to the court that invited the
mediation or else a basic court where a party lives, the subject matter is, or the
institution is; an intermediate court where the dispute belongs there.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from agreements import pki
from agreements.render import render_pdf_with_boxes
from agreements.signing import FieldSpec, add_signature_fields, sign_pdf
from mediation.accounts import operations as accounts
from mediation.accounts import personal_links
from mediation.accounts.models import CodePurpose, Court, CourtLevel, User
from mediation.agreements import credentials as agreement_credentials
from mediation.agreements import operations as agreements
from mediation.agreements import signing as agreement_signing
from mediation.agreements.models import AgreementStatus
from mediation.cases import agency, clocks, workflow
from mediation.cases.labels import SIDE_NAMES
from mediation.cases.models import Case
from mediation.cases.states import Action, CaseStatus
from mediation.cases.workflow import NotPermittedError
from mediation.core.db import utcnow
from mediation.core.forms import FieldError
from mediation.core.locks import lock_rows
from mediation.core.storage import storage
from mediation.extensions import db
from mediation.journal import operations as journal

from . import delegation, notices
from .models import (
    OPEN,
    Application,
    ApplicationSignature,
    ApplicationStatus,
    Material,
    SupplementRequest,
)

LINK_SALT = "confirmation-sign"


def local_day(value: datetime) -> str:
    """A date as documents write it, in the platform's time zone (not UTC's day)."""
    local = value.astimezone(workflow.zone())
    return f"{local.year}年{local.month}月{local.day}日"


def window_closes(case: Case) -> datetime | None:
    """The end of the 30 days to apply (CPL art 205), from the agreement's effect."""
    if case.signed_at is None:
        return None
    return clocks.period_end(case.signed_at, clocks.CONFIRMATION_DAYS, workflow.zone())


def total_amount(content: dict) -> Decimal:
    return sum(
        (Decimal(o["amount"]) for o in content.get("obligations") or [] if o.get("amount")),
        Decimal(0),
    )


def competent_courts(case: Case) -> list[Court]:
    """Basic courts where a party lives, where the dispute is, or where the institution is;
    the city's intermediate court too when the sums agreed reach its threshold (art 205 (2)).
    A party's home is the division of their household registration (CPL interpretation
    art 3); the platform knows it only from the first six digits of the ID number, which
    name where the number was issued: usually, not always, the same place. The parties
    choose, and a court that is not competent refuses acceptance (art 355 (2))."""
    # A court that invited the mediation is the one to apply to, and the only one (CPL art
    # 205 (1)): another would refuse acceptance (art 355 (2)) and cost the parties days.
    delegated = delegation.delegating_court(case)
    if delegated is not None:
        return [delegated]
    homes = {p.user.id_number[:6] for p in case.parties if not p.is_agent and p.user.id_number}
    places = {case.region_code, case.institution.region_code if case.institution else None}
    regions = {code for code in homes | places if code}
    found = list(
        db.session.scalars(
            select(Court)
            .where(Court.level == CourtLevel.basic, Court.region_code.in_(regions))
            .order_by(Court.name)
        )
    )
    agreement = agreements.of_case(case)
    threshold = Decimal(current_app.config["INTERMEDIATE_COURT_FROM"])
    if (
        agreement is not None
        and agreement.current
        and total_amount(agreement.current.content) >= threshold
    ):
        cities = {code[:4] + "00" for code in regions}
        found += db.session.scalars(
            select(Court)
            .where(Court.level == CourtLevel.intermediate, Court.region_code.in_(cities))
            .order_by(Court.name)
        ).all()
    return found


def open_application(case: Case) -> Application | None:
    """The application being signed or with a court, if any."""
    return db.session.scalar(
        select(Application).where(
            Application.case_id == case.id,
            Application.status.in_([ApplicationStatus.signing, *OPEN]),
        )
    )


def decided_application(case: Case) -> Application | None:
    """The application a court ruled on (confirmed or not), if any."""
    return db.session.scalar(
        select(Application)
        .where(
            Application.case_id == case.id,
            Application.status.in_([ApplicationStatus.confirmed, ApplicationStatus.rejected]),
        )
        .order_by(Application.id.desc())
    )


def party_of(case: Case, user: User) -> bool:
    return any(p.user_id == user.id for p in case.parties)


class RepeatedError(Exception):
    """The same step by the same person (or the court's system) arrived again: a double
    tap, a phone or a proxy resending the POST, a second tab, an API retry after a lost
    answer. Nothing is done twice; the message says what stands, and ``request`` is the
    request for materials already made, if that was the step."""

    def __init__(self, message: str, request: SupplementRequest | None = None) -> None:
        super().__init__(message)
        self.request = request


def lock(application: Application) -> Application:
    """Take the application's row lock before reading what a step decides on (two
    signers, a party and the court at once); everything is read again afterwards. The
    case's turn comes first (core/locks.py: the order of locks): every step on the
    application journals, and one that held this row while it waited for the journal
    deadlocked with a step that holds the turn and goes on to the application."""
    journal.turn(application.case_id)
    db.session.flush()
    lock_rows(Application.id, application.id)
    db.session.expire_all()
    return application


def start(case: Case, court: Court, *, by: User, now: datetime | None = None) -> Application:
    """A party starts the joint application to ``court``: the application document is made
    and every party is asked to sign it."""
    now = now or utcnow()
    if not party_of(case, by):
        raise NotPermittedError(_("Only the parties apply for judicial confirmation."))
    agency.check_may_act(case, by)
    # Both parties may press "apply" at once: the case's turn lets one application in. The
    # turn, not the case's row, which comes after it (core/locks.py: the order of locks).
    journal.turn(case.id)
    db.session.refresh(case)
    agreement = agreements.of_case(case)
    if (
        case.status != CaseStatus.signed
        or agreement is None
        or agreement.status != AgreementStatus.effective
    ):
        raise NotPermittedError(_("Only an agreement in force can be confirmed by a court."))
    closes = window_closes(case)
    if closes is not None and now > closes:
        raise NotPermittedError(
            _("The 30 days to apply for judicial confirmation have passed (CPL art 205).")
        )
    if not agreements.confirmable(agreement):
        raise NotPermittedError(
            _("A court would refuse this agreement as it stands: see the agreement's page.")
        )
    if court.id not in {c.id for c in competent_courts(case)}:
        raise FieldError("court", _("Choose one of the competent courts."))
    under_way = open_application(case)
    if (
        under_way is not None
        and under_way.status == ApplicationStatus.signing
        and (under_way.created_by_id, under_way.court_id) == (by.id, court.id)
    ):
        # The same "apply" again (a double tap, a retry; the case's lock above made it
        # wait for the first one): the application made is the one to sign.
        raise RepeatedError(_("The application was already made; each party signs it in turn."))
    if under_way is not None:
        raise NotPermittedError(_("An application for this case is already under way."))
    application = Application(
        case_id=case.id, agreement_id=agreement.id, court_id=court.id, created_by_id=by.id
    )
    db.session.add(application)
    db.session.flush()
    signers = []
    agents = {p.represents_id: p for p in case.parties if p.is_agent}
    for position, party in enumerate((p for p in case.parties if not p.is_agent), start=1):
        signer = agents.get(party.user_id) or party
        signers.append(
            ApplicationSignature(
                position=position, user_id=signer.user_id, field_name=f"Applicant{position}"
            )
        )
    application.signatures = signers
    _render(application)
    _attach_agreement(application)
    journal.append(
        case.id,
        "confirmation.started",
        {"application": application.id, "court": court.name, "sha256": application.document_sha256},
        actor_id=by.id,
    )
    _ask_next(application, by)
    return application


def link_for(application: Application, user: User) -> str:
    """A signer's personal link to the application: it names them and the application."""
    signed = personal_links.token(LINK_SALT, application.id, user.id)
    return personal_links.url(f"/j/{signed}")


def of_link(token: str) -> tuple[Application, User] | None:
    """The application and signer a link names; the signing page itself says whether it is
    their turn (or that the application has moved on)."""
    found = personal_links.ids(LINK_SALT, token)
    if found is None:
        return None
    application, user = db.session.get(Application, found[0]), db.session.get(User, found[1])
    if application is None or user is None:
        return None
    if user.id not in {s.user_id for s in application.signatures}:
        return None
    return application, user


def _ask_next(application: Application, by: User) -> None:
    """Whoever signs next is told, unless it is the person who has just acted (they are on
    the page already)."""
    turn = next_signature(application)
    if turn is not None and turn.user_id != by.id:
        person = db.session.get(User, turn.user_id)
        notices.ask_to_sign(application, person, link_for(application, person))


class Stored(NamedTuple):
    key: str
    sha256: str


def _put(application: Application, pdf: bytes, name: str) -> Stored:
    """Store a revision of the application (``name``: the signature's position, "0" for
    the unsigned one) without recording it: its key names its hash, so a step that lost a
    race (stored before the lock, refused under it) never overwrites the one on record."""
    digest = hashlib.sha256(pdf).hexdigest()
    relative = f"court/{application.case_id}/application-{application.id}-{name}-{digest[:16]}.pdf"
    storage().put(relative, pdf)
    return Stored(relative, digest)


def _record(application: Application, stored: Stored) -> None:
    """The stored revision is the application's document from now on (under its lock)."""
    application.document_path, application.document_sha256 = stored


def _store(application: Application, pdf: bytes, name: str) -> None:
    _record(application, _put(application, pdf, name))


def _render(application: Application) -> None:
    case = application.case
    agreement = application.agreement
    pdf, boxes = render_pdf_with_boxes(
        "application.html",
        case=case,
        court=application.court,
        agreement=agreement,
        content=agreement.current.content,
        parties=[p for p in case.parties if not p.is_agent],
        agents={p.represents_id: p for p in case.parties if p.is_agent},
        side_names=SIDE_NAMES,
        signers=application.signatures,
        made_on=application.created_at,
        day=local_day,
    )
    specs = [FieldSpec(s.field_name, *boxes[f"sig-{s.position}"]) for s in application.signatures]
    _store(application, add_signature_fields(pdf, specs), "0")


def _attach_agreement(application: Application) -> None:
    """The signed agreement goes with the application as it is kept (art 3)."""
    agreement = application.agreement
    application.materials.append(
        Material(
            kind="agreement",
            name="agreement.pdf",
            path=agreement.document_path,
            sha256=agreement.document_sha256,
        )
    )


def document_path(application: Application) -> Path | None:
    """The file itself when the storage is a local folder (tests, tools), else None."""
    if application.document_path is None:
        return None
    return storage().local_path(application.document_path)


def document_bytes(application: Application) -> bytes | None:
    """The current document, checked against the hash the record keeps."""
    if application.document_path is None:
        return None
    return storage().get(application.document_path, application.document_sha256)


def next_signature(application: Application) -> ApplicationSignature | None:
    if application.status != ApplicationStatus.signing:
        return None
    return next((s for s in application.signatures if s.signed_at is None), None)


# What the code signs, named in its text (Electronic Signature Law art 2), code first.
SIGNING_TEXT = _l(
    "Code %(code)s: you are signing the application for judicial confirmation of case "
    "%(number)s. Entering it signs the text as you have read it. Valid for %(minutes)d "
    "minutes. Do not tell anyone."
)


def code_for(application: Application, shown_sha256: str) -> accounts.CodeFor:
    """What a code to sign the application is for: this application, as the document whose
    SHA-256 the signer was shown (Electronic Signature Law art 13), not the agreement nor
    another case's application."""
    return accounts.CodeFor(
        document=f"application:{application.id}",
        content=shown_sha256,
        text=SIGNING_TEXT,
        params={"number": application.case.number},
    )


def _shown_current(application: Application, shown_sha256: str) -> None:
    if shown_sha256 != application.document_sha256:
        raise FieldError(
            "document",
            _("The document has changed since you opened it. Please read it again before signing."),
        )


def send_code(application: Application, user: User, *, shown_sha256: str | None = None) -> None:
    """A code to sign the document the signer was shown (None: the one on file)."""
    turn = next_signature(application)
    if turn is None or turn.user_id != user.id or not party_of(application.case, user):
        raise NotPermittedError(_("It is not your turn to sign this application."))
    agency.check_may_act(application.case, user)
    shown = application.document_sha256 if shown_sha256 is None else shown_sha256
    _shown_current(application, shown)
    # The same press again (a double tap, a second tab) goes on with the code just sent.
    accounts.ask_for_code(
        user, CodePurpose.agreement_signature, code_for=code_for(application, shown)
    )


def _checked(
    application: Application, user: User, shown_sha256: str, drawing: bytes | None
) -> tuple[ApplicationSignature, bytes]:
    """The signature whose turn it is, ``user``'s, the document shown still current; the
    drawing."""
    case = application.case
    turn = next_signature(application)
    if turn is None or turn.user_id != user.id or not party_of(case, user):
        raise NotPermittedError(_("It is not your turn to sign this application."))
    agency.check_may_act(case, user)  # SPC provisions art 3: the party's own authority
    _shown_current(application, shown_sha256)
    drawing = agreement_signing.checked_drawing(drawing, required=True)
    if _needs_power_of_attorney(application, user):
        raise FieldError(
            "power_of_attorney",
            _("You sign as an agent: the party you act for adds the power of attorney first."),
        )
    return turn, drawing


def _signed_already(application: Application, user: User) -> bool:
    return any(s.user_id == user.id and s.signed_at is not None for s in application.signatures)


class _Prepared(NamedTuple):  # a signed file made and stored before the lock
    signature_id: int
    before_sha256: str
    stored: Stored
    certificate_serial: str


def _prepare(
    application: Application, user: User, turn: ApplicationSignature, drawing: bytes
) -> _Prepared:
    """The document signed by ``user`` into ``turn``'s field, with its timestamps, stored
    (``_put``). Reads the database, writes nothing in it: ``sign`` records the file under
    the application's lock."""
    case = application.case
    before = document_bytes(application)
    credential = pki.issue_signer(
        agreement_credentials.authority(),
        common_name=agreement_credentials.fit_name(user.real_name),
        role="applicant",
        document_ref=f"{case.number} application {application.id}",
        signer_id=f"user-{user.id}",
    )
    signed = sign_pdf(
        before,
        signer_credential=credential,
        authority=agreement_credentials.authority(),
        field_name=turn.field_name,
        appearance_png=drawing,
        role_label=agreement_signing.stamp_role("applicant"),
        reason="司法确认申请",
        location=application.court.name,
        timestamper=agreement_credentials.timestamper(),
    )
    return _Prepared(
        turn.id,
        application.document_sha256,
        _put(application, signed, str(turn.position)),
        format(credential.certificate.serial_number, "x"),
    )


def sign(
    application: Application,
    user: User,
    *,
    code: str,
    shown_sha256: str,
    drawing: bytes | None,
    now: datetime | None = None,
) -> ApplicationSignature:
    """A party signs the application in their turn; the last signature submits it.

    The signed file is made and stored before any lock, as an agreement's signature is
    (agreements/signing.py): its timestamps come from the TSA, over the network with
    TSA_URL, and storing is a network call with object storage; a lock held meanwhile held
    every step of the case. Under the application's lock (the case's turn first) everything
    is checked again and the code used; the file is kept only if it signs the document
    still current into the signature whose turn it still is, else the step is refused as
    before (signed at the same moment, withdrawn meanwhile)."""
    prepared = None
    if not _signed_already(application, user):
        try:
            turn, checked = _checked(application, user, shown_sha256, drawing)
            bound = code_for(application, shown_sha256)
            if accounts.code_would_pass(
                user, CodePurpose.agreement_signature, code, code_for=bound
            ):
                prepared = _prepare(application, user, turn, checked)
        except (NotPermittedError, FieldError):
            pass  # said below, as it stands under the lock
    lock(application)
    case = application.case
    if _signed_already(application, user):
        # The signing form sent again (a double tap, a retry): each signer signs once.
        raise agreement_signing.SignedAlreadyError
    turn, drawing = _checked(application, user, shown_sha256, drawing)
    if not accounts.consume_code(
        user, CodePurpose.agreement_signature, code, code_for=code_for(application, shown_sha256)
    ):
        raise FieldError("code", _("The code is wrong or has expired. Ask for a new one."))
    if prepared is None or (prepared.signature_id, prepared.before_sha256) != (
        turn.id,
        application.document_sha256,
    ):
        # Only when what was read before the lock differs from what is read under it in a
        # way no page offers (a new code arrived in between, say): the file is made now.
        prepared = _prepare(application, user, turn, drawing)
    _record(application, prepared.stored)
    serial = prepared.certificate_serial
    turn.signed_at = now or utcnow()
    turn.certificate_serial = serial
    turn.result_sha256 = application.document_sha256
    db.session.flush()
    journal.append(
        case.id,
        "confirmation.signed",
        {
            "application": application.id,
            "position": turn.position,
            "user_id": user.id,
            "certificate_serial": serial,
            "sha256": application.document_sha256,
        },
        actor_id=user.id,
    )
    if next_signature(application) is None:
        _submit(application, user, turn.signed_at)
    else:
        _ask_next(application, user)
    return turn


def _needs_power_of_attorney(application: Application, signer: User) -> bool:
    """SPC provisions art 3: an agent who applies hands in the power of attorney, given by
    the party they act for (uploaded by that party)."""
    principal = next(
        (
            p.represents_id
            for p in application.case.parties
            if p.is_agent and p.user_id == signer.id
        ),
        None,
    )
    if principal is None:
        return False
    return not any(
        m.kind == "power_of_attorney" and m.added_by_id == principal for m in application.materials
    )


def _submit(application: Application, by: User, now: datetime) -> None:
    """Every party signed: the application is with the court, whose 3 days start."""
    case = application.case
    closes = window_closes(case)
    if closes is not None and now > closes:
        raise NotPermittedError(
            _("The 30 days to apply for judicial confirmation have passed (CPL art 205).")
        )
    workflow.transition(case, Action.request_confirmation, by=by, now=now)
    application.status = ApplicationStatus.submitted
    application.submitted_at = now
    # SPC provisions art 4: the court decides within 3 days whether to accept.
    application.acceptance_due_at = clocks.period_end(now, 3, workflow.zone())
    db.session.flush()
    journal.append(
        case.id,
        "confirmation.submitted",
        {
            "application": application.id,
            "court": application.court.name,
            "sha256": application.document_sha256,
        },
        actor_id=by.id,
    )
    notices.to_court(application)


def withdraw(application: Application, *, by: User, now: datetime | None = None) -> None:
    """A party withdraws the application before the ruling; the agreement stays in force."""
    lock(application)
    case = application.case
    if not party_of(case, by):
        raise NotPermittedError(_("Only the parties withdraw the application."))
    agency.check_may_act(case, by)
    if application.status == ApplicationStatus.withdrawn:
        raise RepeatedError(_("The application was already withdrawn."))
    if application.status not in (ApplicationStatus.signing, *OPEN):
        raise NotPermittedError(_("The court has already decided."))
    was_submitted = application.status in OPEN
    application.status = ApplicationStatus.withdrawn
    application.withdrawn_at = now or utcnow()
    db.session.flush()
    journal.append(
        case.id, "confirmation.withdrawn", {"application": application.id}, actor_id=by.id
    )
    if was_submitted:
        workflow.transition(case, Action.withdraw_confirmation, by=by, now=now)
        notices.withdrawn(application)
