"""Renewal of the archive timestamps of the signed PDFs the platform keeps.

A PAdES B-LTA document (agreements/archive.py) proves itself as long as the certificate of
its newest document timestamp is valid; before that expires, a new document timestamp over
the file, with the validation data of the old one, carries the proof on (ETSI EN 319 142-1
5.5, the LTA level's renewal). The worker runs :func:`due` every round, which renews the
TSA certificate first (pki.ensure_authority does, RENEW_BEFORE ahead) and finds every stored
document whose newest timestamp is within RENEW_BEFORE of expiring, then :func:`renew` on
each, in a unit of work of its own (a transaction holds one case's turn at a time, and
asks the TSA before it takes any: core/locks.py). Idempotent: a renewed
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
class Due:
    """A stored signed PDF due for renewal, named by plain values (each is renewed in a
    unit of work of its own, which loads it again): an agreement's document (``id``: the
    agreement's), an application's or its ruling's (``id``: the application's)."""

    kind: str  # agreement, application, ruling
    id: int


@dataclass(frozen=True)
class _Stored:
    """A stored signed PDF: how to read, lock and replace the record of it."""

    case_id: int
    due: Due
    lock: Callable[[], object]
    path: Callable[[], str | None]  # the record's path, read again after lock()
    sha256: Callable[[], str | None]  # and its hash, checked on reading the file
    replace: Callable[[str, str], None]  # (relative path, sha256)


def refresh_authority() -> pki.Authority:
    """Load the CA anew, renewing its TSA (or issuing CA) certificate when due, and make
    it the one the app signs with from now on."""
    current_app.extensions.pop("agreements.authority", None)
    return credentials.authority()


def due(now: datetime | None = None) -> list[Due]:
    """Every stored document due for renewal, the CA renewed first (its TSA certificate
    is what the new timestamps are by)."""
    now = now or datetime.now(UTC)
    authority = refresh_authority()
    return [s.due for s in _stored_documents() if _due(s.path(), s.sha256(), authority, now)]


def renew(item: Due, now: datetime | None = None) -> int:
    """Renew one document (1), or find it renewed or changed meanwhile (0).

    The new timestamp (from the TSA, over the network with TSA_URL) is asked for and the
    renewed file stored, under a key naming its hash, before the document's lock (the
    case's turn first): nothing slow under a lock (core/locks.py). Under it the record is
    read again: a signature given or a renewal made meanwhile leaves the file made here
    unrecorded (beside the others, overwriting none), and the next round looks again."""
    now = now or datetime.now(UTC)
    stored = _stored(item)
    if stored is None:
        return 0
    authority = credentials.authority()
    path, before = stored.path(), stored.sha256()
    if not _due(path, before, authority, now):
        return 0
    pdf = storage().get(path, before)
    try:
        new = archive.renew_pdf(pdf, authority, credentials.timestamper())
    except Exception:  # one bad file must not stop the others
        log.exception("archive renewal of a %s of case %s failed", stored.due.kind, stored.case_id)
        return 0
    digest = hashlib.sha256(new).hexdigest()
    relative = str(Path(path).with_name(f"{Path(path).stem}-a{digest[:16]}.pdf"))
    storage().put(relative, new)
    stored.lock()
    if (stored.path(), stored.sha256()) != (path, before):
        return 0
    stored.replace(relative, digest)
    journal.append(
        stored.case_id,
        "archive.renewed",
        {"document": stored.due.kind, "sha256_before": before, "sha256_after": digest},
        actor_id=None,
    )
    db.session.flush()
    return 1


def renew_due(now: datetime | None = None) -> int:
    """Every document due, renewed in this transaction one after the other: for a caller
    that does nothing else meanwhile and holds no lock (a test, a command). The worker
    renews each in a unit of its own (``worker.archive_timestamps``): a transaction holds
    one case's turn at a time (core/locks.py)."""
    return sum(renew(item, now) for item in due(now))


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
    found = [
        _of_agreement(agreement)
        for agreement in db.session.scalars(
            select(Agreement).where(Agreement.document_path.is_not(None)).order_by(Agreement.id)
        )
    ]
    for application in db.session.scalars(select(Application).order_by(Application.id)):
        found += [
            _of_application(application, kind)
            for kind, path in (
                ("application", application.document_path),
                ("ruling", application.decision_path),
            )
            if path
        ]
    return found


def _stored(item: Due) -> _Stored | None:
    if item.kind == "agreement":
        agreement = db.session.get(Agreement, item.id)
        return _of_agreement(agreement) if agreement is not None else None
    application = db.session.get(Application, item.id)
    return _of_application(application, item.kind) if application is not None else None


def _of_agreement(agreement: Agreement) -> _Stored:
    def replace(path: str, digest: str) -> None:
        agreement.document_path, agreement.document_sha256 = path, digest

    return _Stored(
        agreement.case_id,
        Due("agreement", agreement.id),
        lambda: signing.lock(agreement),
        lambda: agreement.document_path,
        lambda: agreement.document_sha256,
        replace,
    )


def _of_application(application: Application, kind: str) -> _Stored:
    """The application's own document (``kind`` "application") or its ruling's."""
    prefix = "document" if kind == "application" else "decision"

    def replace(path: str, digest: str) -> None:
        setattr(application, f"{prefix}_path", path)
        setattr(application, f"{prefix}_sha256", digest)

    return _Stored(
        application.case_id,
        Due(kind, application.id),
        lambda: court_application.lock(application),
        lambda: getattr(application, f"{prefix}_path"),
        lambda: getattr(application, f"{prefix}_sha256"),
        replace,
    )
