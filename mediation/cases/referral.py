"""The referral record of a failed online mediation (SPC online mediation rules art 21): the
basic situation, why no agreement was reached, conduct that raised another party's costs, and
what the court should know, as a PDF a party takes to online case filing.

The record is issued by GET (a link a party or a court follows), so asking again must change
nothing: each content of the record (what the document shows) is rendered once and kept in
storage, and its issue is journaled once per person (or court) it was given to. A reload or
a second download of the same record gets the same file, and the journal, which goes whole
to a court, holds one entry for it; a changed record is a new document, issued and
journaled again."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from sqlalchemy import select

from agreements.render import pdf_of, render_html
from mediation.accounts.models import User
from mediation.core.db import utcnow
from mediation.core.i18n import format_when
from mediation.core.storage import CorruptObjectError, storage
from mediation.extensions import db
from mediation.journal import operations as journal
from mediation.journal.models import JournalEntry

from . import workflow
from .labels import SIDE_NAMES, TERMINATION_REASONS
from .models import Case, FailureRecord

log = logging.getLogger(__name__)
ISSUED = "failure.referral_issued"


def referral_pdf(case: Case, *, by: User | None, court_id: int | None = None) -> bytes | None:
    """The record as a PDF, for a party or the mediator, or (``by`` None) for the court that
    delegated the dispute; None when none was recorded. Flushes; the request edge commits."""
    record = db.session.get(FailureRecord, case.id)
    if record is None:
        return None
    context = _context(case, record)
    # The HTML without the time of issue decides what the document says (a party's name or
    # address, the record's text): cheap to make, unlike the PDF (agreements/render.py).
    content = hashlib.sha256(render_html("referral.html", made_at="", **context).encode())
    content_hash = content.hexdigest()
    actor_id = by.id if by else None
    pdf, sha256 = _stored(case.id, content_hash)
    if pdf is not None and _issued_to(case.id, content_hash, sha256, actor_id, court_id):
        return pdf  # the same record again, to the same person: nothing to write
    if pdf is None:
        # Rendered (seconds) and stored before the case's turn: nothing slow under a lock.
        made_at = format_when(utcnow(), workflow.zone())
        pdf = pdf_of(render_html("referral.html", made_at=made_at, **context))
        sha256 = hashlib.sha256(pdf).hexdigest()
        storage().put(_key(case.id, content_hash, sha256), pdf)
    # The case's turn, then the journal read again: the same link followed twice at once
    # takes turns here, and the second finds the first's entry.
    journal.turn(case.id)
    if not _issued_to(case.id, content_hash, sha256, actor_id, court_id):
        journal.append(
            case.id,
            ISSUED,
            {"sha256": sha256, "court_id": court_id, "content": content_hash},
            actor_id=actor_id,
        )
    return pdf


def _context(case: Case, record: FailureRecord) -> dict[str, Any]:
    return {
        "case": case,
        "record": record,
        "parties": [p for p in case.parties if not p.is_agent],
        "side_names": SIDE_NAMES,
        "reason": TERMINATION_REASONS.get(case.termination_reason or ""),
    }


def _key(case_id: int, content_hash: str, sha256: str) -> str:
    # Named by both hashes: two first issues at once each store their own file, and neither
    # overwrites the one the other's journal entry names (as agreements/documents.py).
    return f"referrals/{case_id}/record-{content_hash[:16]}-{sha256[:16]}.pdf"


def _issues(case_id: int, content_hash: str) -> list[JournalEntry]:
    """The journaled issues of this content of the case's record, the newest first (entries
    from before issues named their content have none, and match nothing)."""
    entries = db.session.scalars(
        select(JournalEntry)
        .where(JournalEntry.case_id == case_id, JournalEntry.action == ISSUED)
        .order_by(JournalEntry.seq.desc())
    )
    return [e for e in entries if (e.payload or {}).get("content") == content_hash]


def _stored(case_id: int, content_hash: str) -> tuple[bytes | None, str | None]:
    """The PDF issued before for this content, checked against the hash its journal entry
    holds (a damaged file is never given out, and is made again); (None, None) when there
    is none."""
    for entry in _issues(case_id, content_hash):
        sha256 = entry.payload["sha256"]
        try:
            return storage().get(_key(case_id, content_hash, sha256), sha256), sha256
        except FileNotFoundError:
            continue  # a file lost in storage is made again, as a new issue
        except CorruptObjectError:
            # Damaged in storage: never given out, and made again as a new issue (refused
            # for good, every download of this record would fail until it changed).
            log.error("referral record %s of case %s is damaged in storage", sha256, case_id)
            continue
    return None, None


def _issued_to(
    case_id: int, content_hash: str, sha256: str, actor_id: int | None, court_id: int | None
) -> bool:
    """Whether this person (or court) was given this very file. The file of a content is
    the same for everyone while it is stored; one made again after its loss is journaled
    again, so that the journal names every file a person holds."""
    return any(
        e.actor_id == actor_id
        and e.payload.get("court_id") == court_id
        and e.payload.get("sha256") == sha256
        for e in _issues(case_id, content_hash)
    )
