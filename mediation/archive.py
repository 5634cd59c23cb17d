"""Renewal of the archive timestamps of the signed PDFs the platform keeps.

A PAdES B-LTA document (agreements/archive.py) proves itself as long as the certificate of
its newest document timestamp is valid; before that expires, a new document timestamp over
the file, with the validation data of the old one, carries the proof on (ETSI EN 319 142-1
5.5, the LTA level's renewal). The worker runs :func:`renew_due` every round; it renews the
TSA certificate first (pki.ensure_authority does, RENEW_BEFORE ahead), then every stored
document whose newest timestamp is within RENEW_BEFORE of expiring. Idempotent: a renewed
document's newest timestamp is by the current TSA certificate, so it is not due again for
years.

What is renewed: the document on record of every agreement (all rounds' files are kept,
the one on record is the one that counts), of every court application and every ruling.
Court packages are built when downloaded (court/bundle.py), from the renewed files, and
sign their manifest afresh. The renewed file is stored beside the old one (both kept) and
becomes the record; the journal notes the two hashes and nothing about anyone.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from agreements import archive, pki

from .agreements import credentials, signing
from .agreements.models import Agreement
from .core.storage import storage
from .court import application as court_application
from .court.models import Application
from .extensions import db
from .journal import operations as journal

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Stored:
    """A stored signed PDF: how to read, lock and replace the record of it."""

    case_id: int
    kind: str  # agreement, application, ruling
    lock: Callable[[], object]
    path: Callable[[], str | None]  # the record's path, read after lock()
    sha256: Callable[[], str | None]  # and its hash, checked on reading the file
    replace: Callable[[str, str], None]  # (relative path, sha256)


def refresh_authority() -> pki.Authority:
    """Load the CA anew, renewing its TSA (or issuing CA) certificate when due, and make
    it the one the app signs with from now on."""
    current_app.extensions.pop("agreements.authority", None)
    return credentials.authority()


def renew_due(now: datetime | None = None) -> int:
    """Renew every stored document that is due; returns how many were renewed."""
    now = now or datetime.now(UTC)
    authority = refresh_authority()
    timestamper = credentials.timestamper()
    renewed = 0
    for stored in _stored_documents():
        if not _due(stored.path(), stored.sha256(), authority, now):
            continue
        # The row lock, then the path and the file again: a signature given meanwhile is
        # not lost, and a document renewed meanwhile is not renewed twice.
        stored.lock()
        path = stored.path()
        if not _due(path, stored.sha256(), authority, now):
            continue
        pdf = storage().get(path, stored.sha256())
        try:
            new = archive.renew_pdf(pdf, authority, timestamper)
        except Exception:  # one bad file must not stop the others
            log.exception("archive renewal of a %s of case %s failed", stored.kind, stored.case_id)
            continue
        before = hashlib.sha256(pdf).hexdigest()
        digest = hashlib.sha256(new).hexdigest()
        relative = str(Path(path).with_name(f"{Path(path).stem}-a{digest[:16]}.pdf"))
        storage().put(relative, new)
        stored.replace(relative, digest)
        journal.append(
            stored.case_id,
            "archive.renewed",
            {"document": stored.kind, "sha256_before": before, "sha256_after": digest},
            actor_id=None,
        )
        renewed += 1
    db.session.flush()
    return renewed


def _due(path: str | None, sha256: str | None, authority: pki.Authority, now: datetime) -> bool:
    if path is None or not storage().exists(path):
        return False
    try:
        expiry = archive.last_timestamp_expiry(storage().get(path, sha256))
    except Exception:  # an unreadable (or damaged) file is reported, not renewed
        log.exception("cannot read the timestamps of %s", path)
        return False
    return archive.due_for_renewal(expiry, authority, now)


def _stored_documents() -> list[_Stored]:
    found: list[_Stored] = []
    for agreement in db.session.scalars(
        select(Agreement).where(Agreement.document_path.is_not(None))
    ):

        def replace(path: str, digest: str, a: Agreement = agreement) -> None:
            a.document_path, a.document_sha256 = path, digest

        found.append(
            _Stored(
                agreement.case_id,
                "agreement",
                lambda a=agreement: signing.lock(a),
                lambda a=agreement: a.document_path,
                lambda a=agreement: a.document_sha256,
                replace,
            )
        )
    for application in db.session.scalars(select(Application)):
        if application.document_path:

            def replace_application(path: str, digest: str, a: Application = application) -> None:
                a.document_path, a.document_sha256 = path, digest

            found.append(
                _Stored(
                    application.case_id,
                    "application",
                    lambda a=application: court_application.lock(a),
                    lambda a=application: a.document_path,
                    lambda a=application: a.document_sha256,
                    replace_application,
                )
            )
        if application.decision_path:

            def replace_decision(path: str, digest: str, a: Application = application) -> None:
                a.decision_path, a.decision_sha256 = path, digest

            found.append(
                _Stored(
                    application.case_id,
                    "ruling",
                    lambda a=application: court_application.lock(a),
                    lambda a=application: a.decision_path,
                    lambda a=application: a.decision_sha256,
                    replace_decision,
                )
            )
    return found
