"""The materials a party adds to an application for judicial confirmation, for the court
(SPC judicial confirmation provisions art 3): identity and property-right proofs, a power of
attorney, and what the court asked for (CPL interpretation art 356)."""

from __future__ import annotations

import contextlib
import hashlib
import unicodedata

from flask_babel import gettext as _

from mediation.accounts.models import User
from mediation.cases import agency
from mediation.cases.intake import check_upload
from mediation.cases.workflow import NotPermittedError
from mediation.core.db import utcnow
from mediation.core.forms import FieldError
from mediation.core.storage import storage
from mediation.extensions import db
from mediation.journal import operations as journal

from .application import RepeatedError, lock, party_of
from .models import OPEN, Application, ApplicationStatus, Material


def clean_name(filename: str) -> str:
    """A file name safe in the package: the last part of any path (/ or \\), no control
    characters, NFC, at most 120 characters."""
    name = unicodedata.normalize("NFC", filename).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable()).strip().strip(".")
    return name[:120] or "document"


UPLOADABLE = ("identity", "property", "service", "power_of_attorney", "supplement")


def add_material(
    application: Application, kind: str, filename: str, data: bytes, *, by: User
) -> Material:
    """A party adds a document for the court (SPC provisions art 3): identity proofs,
    property-right proofs, a power of attorney, or what the court asked for."""
    stored = None
    with contextlib.suppress(NotPermittedError, FieldError):  # said below, under the lock
        stored = _stored_before_the_lock(application, kind, filename, data, by=by)
    lock(application)
    case = application.case
    if not party_of(case, by):
        raise NotPermittedError(_("Only the parties add materials to the application."))
    agency.check_may_act(case, by)
    if application.status not in (ApplicationStatus.signing, *OPEN):
        raise NotPermittedError(_("The court has already decided."))
    if kind not in UPLOADABLE:
        raise FieldError("kind", _("Choose what the document is."))
    check_upload(filename, data)
    digest = hashlib.sha256(data).hexdigest()
    request = next((r for r in reversed(application.requests) if r.answered_at is None), None)
    answers = request if kind == "supplement" else None
    if any(
        (m.sha256, m.kind, m.added_by_id) == (digest, kind, by.id)
        # A file the court asks for again (a request made since it was sent) answers that
        # request: unanswered, the court may treat the application as withdrawn (CPL
        # interpretation art 356: materials supplemented within the time it set).
        and (answers is None or m.added_at >= answers.requested_at)
        for m in application.materials
    ):
        # The same file sent again (a double tap, a phone resending the upload).
        raise RepeatedError(_("This document was already added to the application."))
    digest = stored or storage().put_content(data)
    material = Material(
        kind=kind,
        name=clean_name(filename),
        path=f"{digest[:2]}/{digest}",
        sha256=digest,
        added_by_id=by.id,
        request_id=request.id if request is not None and kind == "supplement" else None,
    )
    application.materials.append(material)
    if material.request_id is not None:
        request.answered_at = utcnow()
    db.session.flush()
    journal.append(
        case.id,
        "confirmation.material_added",
        {"application": application.id, "kind": kind, "name": material.name, "sha256": digest},
        actor_id=by.id,
    )
    return material


def _stored_before_the_lock(
    application: Application, kind: str, filename: str, data: bytes, *, by: User
) -> str | None:
    """The file stored, content-addressed (its SHA-256 names it), once what needs no lock
    says it may be added; ``add_material`` records it under the lock. Storing is a network
    call with object storage, and nothing slow happens under a lock (core/locks.py); a
    file stored for a step then refused under the lock (withdrawn, sent twice) is kept
    unrecorded, under the name of its own hash, as evidence is. None: refused, as
    ``add_material`` says under the lock."""
    if not party_of(application.case, by) or kind not in UPLOADABLE:
        return None
    agency.check_may_act(application.case, by)
    check_upload(filename, data)
    return storage().put_content(data)
