"""Renewal of the archive timestamps of the signed PDFs the platform keeps.

A PAdES B-LTA document (agreements/archive.py) proves itself as long as the certificate of
its newest document timestamp is valid; before that expires, a new document timestamp over
the file, with the validation data of the old one, carries the proof on (ETSI EN 319 142-1
5.5, the LTA level's renewal). The worker runs :func:`due` every round, which renews the
TSA certificate first (pki.ensure_authority does, RENEW_BEFORE ahead) and finds every stored
document whose newest timestamp is within RENEW_BEFORE of expiring and can be renewed by a
timestamp of the configured TSA (TSA_URL's, else the platform's) whose certificate outlives
it, then :func:`renew` on each, in a unit of work of its own (a transaction holds one
case's turn at a time, and asks the TSA before it takes any: core/locks.py). With an
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
    is what the new timestamps are by): due by the certificate the renewal's timestamp
    will carry (``_Renewer``: with an external TSA, learnt from a probe token once per
    scan). Documents no renewal can help yet are reported (``_Renewer.report``)."""
    now = now or datetime.now(UTC)
    renewer = _Renewer(refresh_authority(), credentials.timestamper())
    found = [s.due for s in _stored_documents() if renewer.due(_expiry(s.path(), s.sha256()), now)]
    renewer.report()
    return found


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
    path, before = stored.path(), stored.sha256()
    expiry = _expiry(path, before)
    # Still within its window (``due`` asked whether the TSA's certificate outlives it; a
    # renewal whose timestamp does not is dropped below, ``_extends``).
    if not archive.in_renewal_window(expiry, now):
        return 0
    pdf = storage().get(path, before)
    try:
        new = archive.renew_pdf(pdf, credentials.authority(), credentials.timestamper())
    except Exception:  # one bad file must not stop the others
        log.exception("archive renewal of a %s of case %s failed", stored.due.kind, stored.case_id)
        return 0
    if not _extends(expiry, archive.last_timestamp_expiry(new)):
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


def _extends(expiry: datetime | None, renewed: datetime | None) -> bool:
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
