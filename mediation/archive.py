"""Renewal of the archive timestamps of the signed PDFs the platform keeps.

A PAdES B-LTA document (agreements/archive.py) proves itself as long as the certificate of
its newest document timestamp is valid; before that expires, a new document timestamp over
the file, with the validation data of the old one, carries the proof on (ETSI EN 319 142-1
5.5, the LTA level's renewal). The worker runs :func:`renew_due` every round; it renews the
TSA certificate first (pki.ensure_authority does, RENEW_BEFORE ahead), then every stored
document whose newest timestamp is within RENEW_BEFORE of expiring, by a timestamp of the
configured TSA (TSA_URL's, else the platform's) whose certificate outlives it. With an
external TSA that certificate is the TSA's, not the platform's: it is learnt from a probe
token (agreements/archive.py ``timestamper_expiry``), and a document is left (and the
operator told) while no certificate of that TSA outlives its newest timestamp. Idempotent:
a renewed document's newest timestamp is by the current TSA certificate, so it is not due
again for years.

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
    renewer = _Renewer(authority, timestamper)
    renewed = 0
    for stored in _stored_documents():
        if not renewer.due(_expiry(stored.path(), stored.sha256()), now):
            continue
        # The row lock, then the path and the file again: a signature given meanwhile is
        # not lost, and a document renewed meanwhile is not renewed twice.
        stored.lock()
        path = stored.path()
        expiry = _expiry(path, stored.sha256())
        if not renewer.due(expiry, now):
            continue
        pdf = storage().get(path, stored.sha256())
        try:
            new = archive.renew_pdf(pdf, authority, timestamper)
        except Exception:  # one bad file must not stop the others
            log.exception("archive renewal of a %s of case %s failed", stored.kind, stored.case_id)
            continue
        if not renewer.extends(expiry, archive.last_timestamp_expiry(new)):
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
    renewer.report()
    db.session.flush()
    return renewed


class _Renewer:
    """Whether a document is due, by the certificate its renewal's timestamp will carry:
    the configured TSA's (TSA_URL's when set, the platform's own otherwise), learnt once
    per scan and only when some document is within RENEW_BEFORE of its expiry
    (archive.timestamper_expiry: with an external TSA, a probe token)."""

    def __init__(self, authority: pki.Authority, timestamper) -> None:
        self.authority, self.timestamper = authority, timestamper
        self._expiry: datetime | None = None
        self._unreachable = False
        self.waiting: list[datetime] = []  # due, but no TSA certificate outlives them

    def due(self, expiry: datetime | None, now: datetime) -> bool:
        if not archive.in_renewal_window(expiry, now) or self._unreachable:
            return False
        assert expiry is not None
        if self._expiry is None:
            try:
                self._expiry = archive.timestamper_expiry(self.timestamper, self.authority)
            except Exception:  # the TSA is down: every due document waits for the next scan
                log.exception("archive renewal: the timestamp authority cannot be asked")
                self._unreachable = True
                return False
        if archive.due_for_renewal(expiry, self._expiry, now):
            return True
        self.waiting.append(expiry)
        return False

    def extends(self, expiry: datetime | None, renewed: datetime | None) -> bool:
        """The renewal's own timestamp outlives the one it follows (a TSA serving several
        certificates may have answered with another than the probe's): else it is dropped."""
        if renewed is not None and expiry is not None and renewed > expiry:
            return True
        log.warning(
            "archive renewal dropped: the timestamp authority answered with a certificate "
            "expiring %s, not after the one it was to follow (%s)",
            renewed,
            expiry,
        )
        return False

    def report(self) -> None:
        """Documents that no renewal can help until the TSA has a certificate that outlives
        their newest timestamp: the operator must act before the first of them expires
        (ETSI EN 319 142-1 5.5), so each scan says so."""
        if self.waiting:
            log.warning(
                "%d stored documents are due for archive renewal, the first expiring %s, but "
                "the timestamp authority's certificate expires %s, no later: it must be "
                "replaced (or TSA_URL changed) before then",
                len(self.waiting),
                min(self.waiting),
                self._expiry,
            )


def _expiry(path: str | None, sha256: str | None) -> datetime | None:
    """When the certificate of the stored file's newest document timestamp expires (None:
    no such file, no document timestamp, or unreadable: reported, not renewed)."""
    if path is None or not storage().exists(path):
        return None
    try:
        return archive.last_timestamp_expiry(storage().get(path, sha256))
    except Exception:  # an unreadable (or damaged) file is reported, not renewed
        log.exception("cannot read the timestamps of %s", path)
        return None


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
