"""The court's side of judicial confirmation: its inbox, acceptance or refusal within 3 days,
requests for materials, the ruling within 15 days (+10), and the decision the court signs
with its own key (keys.py): prepared here, signed by the court, checked, then the ruling.

SPC judicial confirmation provisions arts 4-5 and 7; Civil Procedure Law 2023 art 206;
CPL interpretation 2022 arts 355 and 358. A court sees and acts on its own applications
only: every function here takes the court, and a lookup under another court finds nothing.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from agreements import pki
from agreements.render import render_pdf_with_boxes
from agreements.seal import seal_png
from agreements.signing import FieldSpec, add_signature_fields, sign_pdf
from mediation.accounts.models import Court, CourtLevel, Role, User
from mediation.agreements import credentials as agreement_credentials
from mediation.agreements import signing as agreement_signing
from mediation.cases import clocks, regions, workflow
from mediation.cases.labels import SIDE_NAMES
from mediation.cases.states import Action, Actor
from mediation.cases.workflow import NotPermittedError
from mediation.core.db import utcnow
from mediation.core.forms import FieldError
from mediation.core.i18n import format_day, format_when
from mediation.core.storage import storage
from mediation.extensions import db
from mediation.journal import operations as journal
from mediation.journal.models import JournalEntry

from . import grounds, keys, notices
from .application import RepeatedError, local_day, lock
from .models import (
    OPEN,
    Application,
    ApplicationStatus,
    CourtCaseCounter,
    Ruling,
    SupplementRequest,
)

RULING_DAYS = 15  # SPC provisions art 5
EXTENSION_DAYS = 10  # ... extendable once by 10 with the president's approval
MAX_REASONS = 5_000
MATERIALS_DAYS = (1, 30)  # the period a request for materials may give, in days


class StepRefusedError(NotPermittedError):
    """A step the application's state does not allow now; ``code`` says which rule (the
    court API's error code), the message says it to people (the portal)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class Step(StrEnum):
    """The court's steps on an application, each allowed in the states of ``STEP_STATES``."""

    accept = "accept"
    refuse = "refuse"
    request_materials = "request_materials"
    extend = "extend"
    rule = "rule"
    sign = "sign"  # the court's signed decision, which makes the ruling


STEP_STATES = {
    Step.accept: (ApplicationStatus.submitted,),
    Step.refuse: (ApplicationStatus.submitted,),
    Step.request_materials: OPEN,
    Step.extend: (ApplicationStatus.accepted,),
    Step.rule: (ApplicationStatus.accepted,),
    Step.sign: (ApplicationStatus.accepted,),
}


def check_step(application: Application, step: Step) -> None:
    """Refuse ``step`` when the application's state no longer (or not yet) allows it, saying
    what happened and when: a page left open, or a court's system retrying, meets an
    application the parties withdrew, the court already ruled on, refused or accepted.
    Nothing is changed. The codes are the court API's (docs/court-api.md)."""
    status = application.status
    if status in STEP_STATES[step]:
        return
    if status == ApplicationStatus.withdrawn:
        raise StepRefusedError("withdrawn", _withdrawn_words(application))
    if status in (ApplicationStatus.confirmed, ApplicationStatus.rejected):
        raise StepRefusedError("already_ruled", _ruled_words(application))
    if status == ApplicationStatus.refused:
        raise StepRefusedError(
            "already_refused",
            _(
                "The court decided on %(when)s not to accept this application. Nothing was "
                "changed.",
                when=_when(application.decided_at),
            ),
        )
    if status == ApplicationStatus.accepted:  # accept or refuse, pressed a second time
        raise StepRefusedError(
            "already_accepted",
            _(
                "The application was already accepted on %(when)s, case number %(number)s. "
                "Nothing was changed.",
                when=_when(application.accepted_at),
                number=application.court_case_number,
            ),
        )
    # Submitted, not accepted yet: the ruling and its extension come after acceptance.
    if step == Step.extend:
        raise StepRefusedError(
            "not_accepted", _("Only the time to rule on an accepted application is extended.")
        )
    raise StepRefusedError("not_accepted", _("Only an accepted application is ruled on."))


def _when(value: datetime | None) -> str:
    return format_when(value) if value is not None else "—"


def _withdrawn_words(application: Application) -> str:
    return _(
        "The parties withdrew the application on %(when)s. Nothing was changed.",
        when=_when(application.withdrawn_at),
    )


def no_longer_in_hand(application: Application) -> str:
    """Why the court's links to a withdrawn application's documents lead nowhere."""
    return _(
        "The parties withdrew the application on %(when)s: its documents are no longer "
        "available to the court.",
        when=_when(application.withdrawn_at),
    )


def _ruled_words(application: Application) -> str:
    if application.status == ApplicationStatus.confirmed:
        return _(
            "The court already ruled on %(when)s: the agreement is confirmed. Nothing was changed.",
            when=_when(application.decided_at),
        )
    return _(
        "The court already ruled on %(when)s: the application is rejected, the agreement "
        "not confirmed. Nothing was changed.",
        when=_when(application.decided_at),
    )


def _done_by(application: Application, action: str, by: User | None, **payload) -> bool:
    """The application's last step in the journal is ``action`` by ``by``, with ``payload``
    (read after the application's lock, so two such requests at once see each other)."""
    if by is None:
        return False
    last = db.session.scalars(
        select(JournalEntry)
        .where(
            JournalEntry.case_id == application.case_id,
            JournalEntry.action.like("confirmation.%"),
        )
        .order_by(JournalEntry.seq.desc())
        .limit(1)
    ).first()
    return (
        last is not None
        and last.action == action
        and last.actor_id == by.id
        and last.payload.get("application") == application.id
        and all(last.payload.get(k) == v for k, v in payload.items())
    )


def applications_of(court: Court) -> list[Application]:
    """The court's inbox: what reached it (submitted), open ones first by the nearest
    deadline, then the rest, newest first."""
    found = db.session.scalars(
        select(Application)
        .where(Application.court_id == court.id, Application.submitted_at.is_not(None))
        .order_by(Application.submitted_at.desc())
    ).all()
    open_ones = sorted(
        (a for a in found if a.status in OPEN),
        key=lambda a: a.ruling_due_at or a.acceptance_due_at or a.submitted_at,
    )
    return open_ones + [a for a in found if a.status not in OPEN]


def application_of(court: Court, application_id: int) -> Application | None:
    """The application if it reached ``court`` (it was submitted there); None for another
    court's, or one still being signed (the edges answer 404 alike)."""
    found = db.session.get(Application, application_id)
    if found is None or found.court_id != court.id or found.submitted_at is None:
        return None
    return found


def examines(application: Application) -> bool:
    """The court still has the file in hand: not after the parties withdrew it."""
    return application.status != ApplicationStatus.withdrawn


def court_of(user: User) -> Court | None:
    if user.court_id is None or not user.has_role(Role.court_clerk, Role.judge):
        return None
    return user.court


def _acting(application: Application, by: User | None, *, judge: bool = False) -> dict:
    """Who acts: a member of the application's court (a judge for rulings), or the court's
    own system through the API (``by`` None, after the token was checked)."""
    if by is None:
        return {"by": None, "acting_as": Actor.court}
    if court_of(by) is None or by.court_id != application.court_id:
        raise NotPermittedError(_("Only the court the application went to can act on it."))
    if judge and not by.has_role(Role.judge):
        raise NotPermittedError(_("Only a judge rules on an application."))
    return {"by": by}


def _next_number(court: Court, now: datetime) -> str:
    """（2026）苏0102民特1号: the year of acceptance, the court's code (the province's
    character and the court's division: 0102 for a basic court, 01 for an intermediate one),
    民特 for a special-procedure civil case, and a serial number of the court's year, without
    leading zeros (SPC provisions on case numbers, 2015, arts 2-6, and the standard of
    case types: judicial confirmation is 民特; the old 调确字 is no longer used)."""
    year = now.astimezone(workflow.zone()).year
    # The year's first acceptances may race to create the counter: the loser's insert is a
    # no-op, and the one UPDATE below gives each its own number (as cases.next_case_number).
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    db.session.execute(
        insert(CourtCaseCounter)
        .values(court_id=court.id, year=year, last=0)
        .on_conflict_do_nothing()
    )
    last = db.session.execute(
        update(CourtCaseCounter)
        .where(CourtCaseCounter.court_id == court.id, CourtCaseCounter.year == year)
        .values(last=CourtCaseCounter.last + 1)
        .returning(CourtCaseCounter.last)
    ).scalar_one()
    province = regions.COURT_PROVINCE_CHARACTERS.get(court.region_code[:2], "")
    division = (
        court.region_code[2:4] if court.level == CourtLevel.intermediate else court.region_code[2:]
    )
    return f"（{year}）{province}{division}民特{last}号"


def accept(application: Application, *, by: User | None, now: datetime | None = None) -> None:
    """Accept within 3 days: a case number, and 15 days to rule (provisions arts 4-5)."""
    lock(application)
    acting = _acting(application, by)
    # The same person's step again (a double tap, a retry): said done; anyone else's
    # step on an application that moved on: what happened and when (check_step).
    if application.status == ApplicationStatus.accepted and _done_by(
        application, "confirmation.accepted", by
    ):
        raise RepeatedError(
            _(
                "The application was already accepted as %(number)s; the parties were told.",
                number=application.court_case_number,
            )
        )
    check_step(application, Step.accept)
    now = now or utcnow()
    application.status = ApplicationStatus.accepted
    application.accepted_at = now
    application.court_case_number = _next_number(application.court, now)
    application.clerk_id = by.id if by is not None and by.has_role(Role.court_clerk) else None
    application.ruling_due_at = clocks.period_end(now, RULING_DAYS, workflow.zone())
    db.session.flush()
    _log(application, "confirmation.accepted", acting, number=application.court_case_number)
    notices.to_parties(application, notices.ACCEPTED, number=application.court_case_number)


def refuse(
    application: Application, ground: str, reasons: str, *, by: User | None, now=None
) -> None:
    """Not accepted, on an art 4 / art 355 ground: the case goes back to "signed"."""
    lock(application)
    acting = _acting(application, by)
    if (
        application.status == ApplicationStatus.refused
        and application.ground == ground
        and _done_by(application, "confirmation.refused", by)
    ):
        raise RepeatedError(_("The application was already not accepted; the parties were told."))
    check_step(application, Step.refuse)
    if ground not in grounds.REFUSAL:
        raise FieldError("ground", _("Choose the ground of the refusal."))
    _decided(application, ApplicationStatus.refused, ground, reasons, by, now)
    workflow.transition(application.case, Action.refuse_acceptance, now=now, **acting)
    _log(application, "confirmation.refused", acting, ground=ground, reasons=application.reasons)
    notices.to_parties(application, notices.REFUSED, ground=grounds.REFUSAL[ground])


def request_materials(
    application: Application, text: str, days: int, *, by: User | None, now=None
) -> SupplementRequest:
    """Ask the parties for more materials by a deadline (SPC provisions art 6: the court may
    ask them to complete their statements or proofs; CPL interpretation art 356)."""
    lock(application)
    acting = _acting(application, by)
    check_step(application, Step.request_materials)
    text = (text or "").strip()
    if not text or len(text) > MAX_REASONS:
        raise FieldError("text", _("Say what the parties should provide."))
    if not MATERIALS_DAYS[0] <= days <= MATERIALS_DAYS[1]:
        raise FieldError("days", _("Between 1 and 30 days."))
    now = now or utcnow()
    due = clocks.period_end(now, days, workflow.zone())
    # The same request again (the same words, the same deadline, by the same person or the
    # court's system, not answered yet): asked once, and the parties told once.
    last = application.requests[-1] if application.requests else None
    if last is not None and (last.text, last.due_at, last.requested_by_id, last.answered_at) == (
        text,
        due,
        by.id if by else None,
        None,
    ):
        raise RepeatedError(_("The parties were already asked for these materials."), last)
    request = SupplementRequest(
        text=text,
        due_at=due,
        requested_at=now,
        requested_by_id=by.id if by else None,
    )
    application.requests.append(request)
    db.session.flush()
    _log(
        application,
        "confirmation.materials_requested",
        acting,
        text=text,
        due=request.due_at.isoformat(),
    )
    notices.to_parties(application, notices.MATERIALS, text=text, due=request.due_at)
    return request


def extend(application: Application, reasons: str, *, by: User | None, now=None) -> None:
    """Ten more days to rule, once, for special circumstances with the president's approval
    (SPC provisions art 5): the reasons are required and go to the journal. A second
    extension, or one after the time ran out, is refused, and the deadline stays."""
    lock(application)
    acting = _acting(application, by, judge=True)
    now = now or utcnow()
    check_step(application, Step.extend)
    if application.extended_at is not None and _done_by(
        application, "confirmation.extended", by, reasons=(reasons or "").strip()
    ):
        raise RepeatedError(
            _(
                "The time to rule was already extended; it now ends on %(day)s.",
                day=format_day(application.ruling_due_at, workflow.zone()),
            )
        )
    if application.extended_at is not None:
        raise StepRefusedError("already_extended", _("The time to rule was already extended once."))
    if now > application.ruling_due_at:
        raise StepRefusedError(
            "time_ran_out", _("The time to rule has run out; it can no longer be extended.")
        )
    reasons = (reasons or "").strip()
    if not reasons:
        raise FieldError("reasons", _("Give the reasons for extending the time to rule."))
    if len(reasons) > MAX_REASONS:
        raise FieldError("reasons", _("At most %(n)d characters.", n=MAX_REASONS))
    application.extended_at = now
    # 15 + 10 days counted from acceptance, not 10 added to a date already moved past a
    # holiday (Civil Code arts 201, 203).
    application.ruling_due_at = clocks.period_end(
        application.accepted_at, RULING_DAYS + EXTENSION_DAYS, workflow.zone()
    )
    db.session.flush()
    _log(application, "confirmation.extended", acting, reasons=reasons)


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
    acting = _acting(application, by, judge=True)
    ruled = ApplicationStatus.confirmed if confirmed else ApplicationStatus.rejected
    if application.status == ruled and _done_by(application, f"confirmation.{ruled}", by):
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
    _log(
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
    acting = _acting(application, by, judge=True)
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
    _log(
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


def _decided(application, status, ground, reasons, by, now) -> None:
    if len(reasons or "") > MAX_REASONS:
        raise FieldError("reasons", _("At most %(n)d characters.", n=MAX_REASONS))
    application.status = status
    application.ground = ground
    application.reasons = (reasons or "").strip()
    application.decided_at = now or utcnow()
    application.decided_by_id = by.id if by else None
    db.session.flush()


def _log(application: Application, action: str, acting: dict, **payload) -> None:
    by = acting.get("by")
    journal.append(
        application.case_id,
        action,
        {
            "application": application.id,
            "court": application.court.name,
            "via": "portal" if by else "court API",
            **payload,
        },
        actor_id=by.id if by else None,
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
