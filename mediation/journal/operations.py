"""Append to a case's journal and verify its chain.

Each entry's hash covers its case, position, actor, action, payload, time and the hash of
the entry before it, so editing, deleting or reordering any entry breaks the chain at that
point; the head row records the chain's length, so cutting off the newest entries shows too.

An entry may seal part of what it records for one side (``sealed``): the entry keeps that
content's salted SHA-256, the content itself lives in a ``SealedContent`` row that only that
side and the case's staff read (see ``models.SealedContent``).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from mediation.core.db import utcnow
from mediation.extensions import db

from . import signals
from .models import GENESIS_HASH, JournalEntry, JournalHead, SealedContent
from .schemas import hashed_fields


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def compute_hash(entry: JournalEntry) -> str:
    """SHA-256 of the canonical JSON of every field but the hash itself."""
    return hashlib.sha256(canonical_json(hashed_fields(entry)).encode()).hexdigest()


def sealed_digest(nonce: str, content: dict[str, Any]) -> str:
    return hashlib.sha256((nonce + canonical_json(content)).encode()).hexdigest()


def append(
    case_id: int,
    action: str,
    payload: dict[str, Any] | None = None,
    *,
    actor_id: int | None,
    sealed: dict[str, Any] | None = None,
    side: str | None = None,
) -> JournalEntry:
    """Add an entry at the end of the case's chain (flushes, does not commit).

    ``sealed``: content only ``side`` (and the case's staff) may read; the entry records
    its salted hash, the content is kept beside the chain."""
    payload = dict(payload or {})
    nonce = None
    if sealed is not None:
        if side is None:
            raise ValueError("sealed content belongs to a side")
        sealed = json.loads(canonical_json(sealed))
        nonce = secrets.token_hex(16)
        payload["sealed"] = {"side": side, "sha256": sealed_digest(nonce, sealed)}
    payload = json.loads(canonical_json(payload))  # what is hashed is what is stored
    head = db.session.scalar(
        select(JournalHead)
        .where(JournalHead.case_id == case_id)
        .with_for_update()
        .execution_options(populate_existing=True)  # the locked row, not a stale copy
    )
    if head is None:
        head = JournalHead(case_id=case_id, seq=0, hash=GENESIS_HASH)
        db.session.add(head)
    # Microseconds are kept: the value must hash the same after a round trip to the database.
    created_at = utcnow()
    entry = JournalEntry(
        case_id=case_id,
        seq=head.seq + 1,
        actor_id=actor_id,
        action=action,
        payload=payload,
        created_at=created_at,
        prev_hash=head.hash,
    )
    entry.hash = compute_hash(entry)
    head.seq, head.hash, head.updated_at = entry.seq, entry.hash, created_at
    db.session.add(entry)
    db.session.flush()
    if sealed is not None:
        db.session.add(
            SealedContent(
                entry_id=entry.id, case_id=case_id, side=side, nonce=nonce, content=sealed
            )
        )
        db.session.flush()
    signals.entry_added.send(case_id, action=action, payload=payload, actor_id=actor_id)
    return entry


def sealed_of(case_id: int) -> dict[int, SealedContent]:
    """The sealed content of the case's entries, by entry id."""
    return {
        row.entry_id: row
        for row in db.session.scalars(select(SealedContent).where(SealedContent.case_id == case_id))
    }


def sealed_problems(case_id: int) -> list[int]:
    """The positions (seq) of entries whose sealed content is missing or does not match the
    hash the chain holds: the content beside the chain is checked against it."""
    kept = sealed_of(case_id)
    problems = []
    for entry in db.session.scalars(
        select(JournalEntry).where(JournalEntry.case_id == case_id).order_by(JournalEntry.seq)
    ):
        seal = (entry.payload or {}).get("sealed")
        row = kept.get(entry.id)
        if seal is None and row is None:
            continue
        if (
            seal is None
            or row is None
            or row.side != seal.get("side")
            or sealed_digest(row.nonce, row.content) != seal.get("sha256")
        ):
            problems.append(entry.seq)
    return problems


ENTRY_MISSING = "entry missing"
LINK_BROKEN = "link to previous entry broken"
ENTRY_ALTERED = "entry altered"
HEAD_MISMATCH = "head does not match last entry"
HEAD_MISSING = "head missing"


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    entries: int
    broken_at: int | None = None  # the position (seq) where the chain first breaks
    reason: str = ""


def verify_chain(case_id: int) -> ChainReport:
    """Walk the case's journal in order and report the first entry that does not hold."""
    entries = db.session.scalars(
        select(JournalEntry).where(JournalEntry.case_id == case_id).order_by(JournalEntry.seq)
    ).all()
    prev_hash = GENESIS_HASH
    for expected_seq, entry in enumerate(entries, start=1):
        if entry.seq != expected_seq:
            return ChainReport(False, len(entries), expected_seq, ENTRY_MISSING)
        if entry.prev_hash != prev_hash:
            return ChainReport(False, len(entries), expected_seq, LINK_BROKEN)
        if compute_hash(entry) != entry.hash:
            return ChainReport(False, len(entries), expected_seq, ENTRY_ALTERED)
        prev_hash = entry.hash
    head = db.session.get(JournalHead, case_id)
    if head is None:
        # Every case's journal starts when the case is opened: no head means tampering.
        return ChainReport(False, len(entries), len(entries) or 1, HEAD_MISSING)
    if head.seq > len(entries):
        return ChainReport(False, len(entries), len(entries) + 1, ENTRY_MISSING)
    if head.hash != prev_hash:
        return ChainReport(False, len(entries), len(entries), HEAD_MISMATCH)
    return ChainReport(True, len(entries))
