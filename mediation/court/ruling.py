"""The court's ruling: the agreement confirmed (Civil Procedure Law 2023 art 206:
enforceable) or not (SPC judicial confirmation provisions art 7; CPL interpretation 2022
art 358). The decision is prepared here with the court's empty signature field, signed by
the court with its own key (keys.py), checked, and only then the ruling is made and the
parties told; outside production a court without its own roots gets a demonstration seal.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from agreements import pki
from agreements.render import render_pdf_with_boxes
from agreements.seal import seal_png
from agreements.signing import FieldSpec, add_signature_fields, sign_pdf
from mediation.accounts.models import User
from mediation.agreements import credentials as agreement_credentials
from mediation.agreements import signing as agreement_signing
from mediation.cases import workflow
from mediation.cases.labels import SIDE_NAMES
from mediation.cases.states import Action
from mediation.core.db import utcnow
from mediation.core.forms import FieldError
from mediation.core.storage import storage
from mediation.extensions import db

from . import grounds, keys, notices
from .application import RepeatedError, local_day, lock
from .models import Application, ApplicationStatus, Ruling
from .steps import MAX_REASONS, Step, StepRefusedError, check_step, done_by, log_step, who_acts


def rule(
    application: Application,
    confirmed: bool,
    ground: str | None,
    reasons: str,
    *,
    by: User | None,
    now: datetime | None = None,
) -> Ruling:
    """The judge's ruling: the agreement confirmed (CPL art 206: enforceable) or not, on an
    art 7 / art 358 ground. The decision is prepared for the court's signature; the ruling
    is made when the court's signed decision is accepted (signed_ruling). Only outside
    production, for a court without its own roots, the built-in seal marked "for
    demonstration only" signs it at once."""
    lock(application)
    acting = who_acts(application, by, judge=True)
    ruled = ApplicationStatus.confirmed if confirmed else ApplicationStatus.rejected
    if application.status == ruled and done_by(application, f"confirmation.{ruled}", by):
        raise RepeatedError(_("The ruling was already made and sent to the parties."))
    check_step(application, Step.rule)
    if not confirmed and ground not in grounds.REJECTION:
        raise FieldError("ground", _("Choose the ground for not confirming the agreement."))
    if confirmed and ground:
        # A ground with "confirmed" is a contradiction, not a confirmation.
        raise FieldError("ground", _("A confirmation has no ground; choose one or the other."))
    if len(reasons or "") > MAX_REASONS:
        raise FieldError("reasons", _("At most %(n)d characters.", n=MAX_REASONS))
    signing = keys.mode(application.court)
    if signing == keys.Mode.unavailable:
        raise StepRefusedError(
            "no_court_root",
            _(
                "The court's own certificate is not configured on the platform, so the "
                "ruling cannot be signed. Ask the platform administrator to add the court's "
                "root certificate."
            ),
        )
    now = now or utcnow()
    earlier = awaiting_signature(application)
    if earlier is not None and (
        earlier.confirmed,
        earlier.ground,
        earlier.reasons,
        earlier.decided_by_id,
    ) == (confirmed, None if confirmed else ground, (reasons or "").strip(), by.id if by else None):
        # The same ruling again while its decision awaits the court's signature: the
        # decision prepared stays (a file the court is signing over it still fits).
        return earlier
    if earlier is not None:
        earlier.superseded_at = now  # a file signed over the earlier draft no longer fits
    ruling = _prepare(application, confirmed, None if confirmed else ground, reasons, by, now)
    # The draft's content is not journaled (the parties read the journal): the ruling is
    # not made until signed, and the judge may still change it. Its hash binds it.
    log_step(
        application,
        "confirmation.ruling_prepared",
        acting,
        prepared_sha256=ruling.document_sha256,
        replaces=earlier.id if earlier else None,
    )
    if signing == keys.Mode.demonstration:
        _record(application, ruling, _demonstration_seal(application, ruling), acting, now)
    return ruling


def signed_ruling(
    application: Application, signed: bytes, *, by: User | None, now: datetime | None = None
) -> None:
    """The court's signed decision: checked against the prepared one and the court's roots
    (keys.check_signed), then the ruling is made. A refusal changes nothing: the prepared
    decision stays, awaiting a good signature."""
    lock(application)
    acting = who_acts(application, by, judge=True)
    check_step(application, Step.sign)
    ruling = awaiting_signature(application)
    if ruling is None:
        raise StepRefusedError(
            "not_prepared", _("No decision is waiting for the court's signature.")
        )
    if keys.mode(application.court) != keys.Mode.own:
        raise StepRefusedError("no_court_root", _("The court's own certificate is not configured."))
    prepared = storage().get(ruling.document_path, ruling.document_sha256)
    try:
        keys.check_signed(prepared, signed, application.court)
    except FieldError:
        if any(signed.startswith(_prepared_bytes(r)) for r in _drafts(application, ruling)):
            raise FieldError(
                "decision",
                _(
                    "This file is signed over an earlier draft of the decision; sign the "
                    "current one."
                ),
            ) from None
        raise
    _record(application, ruling, signed, acting, now or utcnow())


def awaiting_signature(application: Application) -> Ruling | None:
    """The prepared ruling the court has not signed yet, if any."""
    if application.status != ApplicationStatus.accepted:
        return None
    return db.session.scalar(
        select(Ruling)
        .where(
            Ruling.application_id == application.id,
            Ruling.superseded_at.is_(None),
            Ruling.signed_at.is_(None),
        )
        .order_by(Ruling.id.desc())
        .limit(1)
    )


def prepared_file(application: Application) -> Path | None:
    """The prepared decision's file when the storage is a local folder (tests, tools)."""
    stored = prepared_document(application)
    return storage().local_path(stored[0]) if stored else None


def prepared_document(application: Application) -> tuple[str, str] | None:
    """The prepared decision's storage key and SHA-256, if one awaits the signature."""
    ruling = awaiting_signature(application)
    return (ruling.document_path, ruling.document_sha256) if ruling else None


def _drafts(application: Application, current: Ruling) -> list[Ruling]:
    return list(
        db.session.scalars(
            select(Ruling).where(Ruling.application_id == application.id, Ruling.id != current.id)
        )
    )


def _prepared_bytes(ruling: Ruling) -> bytes:
    try:
        return storage().get(ruling.document_path, ruling.document_sha256)
    except FileNotFoundError:
        return b"\0"


def _record(
    application: Application, ruling: Ruling, signed: bytes, acting: dict, now: datetime
) -> None:
    """The ruling is made: the signed decision kept, the case moved, the parties told."""
    confirmed = ruling.confirmed
    status = ApplicationStatus.confirmed if confirmed else ApplicationStatus.rejected
    application.status = status
    application.ground = ruling.ground
    application.reasons = ruling.reasons
    # The day the judge decided is the day the decision names.
    application.decided_at = ruling.decided_at
    application.decided_by_id = ruling.decided_by_id
    ruling.signed_at = now
    _store_decision(application, signed)
    workflow.transition(
        application.case, Action.confirm if confirmed else Action.reject, now=now, **acting
    )
    log_step(
        application,
        f"confirmation.{status}",
        acting,
        ground=application.ground,
        reasons=application.reasons,
        decision_sha256=application.decision_sha256,
        signed_by=keys.subject_of(signed),
    )
    notices.to_parties(
        application,
        notices.CONFIRMED if confirmed else notices.REJECTED,
        ground=grounds.REJECTION.get(application.ground or "", ""),
    )


class _AsDecided:
    """The application as the decision reads it: with the judge's ruling, which is not the
    application's until the court has signed."""

    def __init__(self, application: Application, ruling: Ruling) -> None:
        self._application = application
        self.status = (
            ApplicationStatus.confirmed if ruling.confirmed else ApplicationStatus.rejected
        )
        self.ground = ruling.ground
        self.reasons = ruling.reasons
        self.decided_at = ruling.decided_at
        self.decided_by_id = ruling.decided_by_id

    def __getattr__(self, name: str):
        return getattr(self._application, name)


def _prepare(application, confirmed, ground, reasons, by, now) -> Ruling:
    """The decision (确认决定书 or 驳回裁定书) with the court's empty signature field."""
    ruling = Ruling(
        application_id=application.id,
        confirmed=confirmed,
        ground=ground,
        reasons=(reasons or "").strip(),
        decided_at=now,
        decided_by_id=by.id if by else None,
    )
    case = application.case
    pdf, boxes = render_pdf_with_boxes(
        "decision.html",
        application=_AsDecided(application, ruling),
        case=case,
        court=application.court,
        content=application.agreement.current.content,
        parties=[p for p in case.parties if not p.is_agent],
        side_names=SIDE_NAMES,
        ground=grounds.REJECTION.get(ruling.ground or ""),
        agreement=application.agreement,
        names={p.user_id: p.user.real_name for p in case.parties},
        judge=by,
        clerk=application.clerk,
        day=local_day,
    )
    pdf = add_signature_fields(pdf, [FieldSpec(keys.FIELD, *boxes["sig-court"])])
    digest = hashlib.sha256(pdf).hexdigest()
    relative = f"court/{case.id}/prepared-{application.id}-{digest[:16]}.pdf"
    storage().put(relative, pdf)
    ruling.document_path, ruling.document_sha256 = relative, digest
    db.session.add(ruling)
    db.session.flush()
    return ruling


DEMONSTRATION_ROLE = "court-demo"  # the certificate's title: not a court's seal


def _demonstration_seal(application: Application, ruling: Ruling) -> bytes:
    """Development and the demo only (keys.Mode.demonstration): a seal the platform mints,
    which no court would accept, so its certificate (title "court-demo") and its stamp say
    "for demonstration only"."""
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        caption = _("for demonstration only")
    credential = pki.issue_signer(
        agreement_credentials.authority(),
        common_name=agreement_credentials.fit_name(application.court.name),
        role=DEMONSTRATION_ROLE,
        document_ref=application.court_case_number or f"application {application.id}",
        signer_id=f"court-{application.court_id}",
    )
    return sign_pdf(
        _prepared_bytes(ruling),
        signer_credential=credential,
        authority=agreement_credentials.authority(),
        field_name=keys.FIELD,
        appearance_png=seal_png(application.court.name, caption),
        role_label=agreement_signing.stamp_role(DEMONSTRATION_ROLE),
        reason="司法确认",
        location=application.court.name,
        timestamper=agreement_credentials.timestamper(),
    )


def _store_decision(application: Application, signed: bytes) -> None:
    digest = hashlib.sha256(signed).hexdigest()
    relative = f"court/{application.case_id}/decision-{application.id}-{digest[:16]}.pdf"
    storage().put(relative, signed)
    application.decision_path, application.decision_sha256 = relative, digest
    db.session.flush()


def decision_file(application: Application) -> Path | None:
    """The signed decision's file when the storage is a local folder (tests, tools)."""
    if application.decision_path is None:
        return None
    return storage().local_path(application.decision_path)


def decision_document(application: Application) -> tuple[str, str] | None:
    """The signed decision's storage key and SHA-256, once the court has ruled."""
    if application.decision_path is None:
        return None
    return application.decision_path, application.decision_sha256
