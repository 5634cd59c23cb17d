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
from datetime import datetime
from functools import cache as memoized
from typing import Any, NamedTuple

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from mediation.core.db import utcnow
from mediation.core.locks import lock_rows
from mediation.extensions import db

from . import signals
from .models import GENESIS_HASH, JournalEntry, JournalHead, SealedContent
from .schemas import hashed_fields


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def compute_hash(entry: JournalEntry | Appended) -> str:
    """SHA-256 of the canonical JSON of every field but the hash itself."""
    return hashlib.sha256(canonical_json(hashed_fields(entry)).encode()).hexdigest()


def sealed_digest(nonce: str, content: dict[str, Any]) -> str:
    return hashlib.sha256((nonce + canonical_json(content)).encode()).hexdigest()


_HEADS = JournalHead.__table__
_ENTRIES = JournalEntry.__table__
_SEALED = SealedContent.__table__


def append(
    case_id: int,
    action: str,
    payload: dict[str, Any] | None = None,
    *,
    actor_id: int | None,
    sealed: dict[str, Any] | None = None,
    side: str | None = None,
) -> Appended:
    """Add an entry at the end of the case's chain (writes in the transaction, does not
    commit).

    ``sealed``: content only ``side`` (and the case's staff) may read; the entry records
    its salted hash, the content is kept beside the chain.

    Three plain statements (the head read under its lock, the entry inserted, the head
    moved on), not the ORM's unit of work, which cost about 1 ms a call (issue 18: every
    arrival and departure in a room is journaled). The entry returned is no ORM object
    (building one cost more than hashing it): it is what was written, with its id."""
    payload = dict(payload or {})
    nonce = None
    if sealed is not None:
        if side is None:
            raise ValueError("sealed content belongs to a side")
        sealed = json.loads(canonical_json(sealed))
        nonce = secrets.token_hex(16)
        payload["sealed"] = {"side": side, "sha256": sealed_digest(nonce, sealed)}
    payload = json.loads(canonical_json(payload))  # what is hashed is what is stored
    db.session.flush()  # what the caller changed is written first (as the ORM's autoflush)
    connection = db.session.connection()
    if (
        connection.dialect.name == "sqlite"
        and not connection.connection.dbapi_connection.in_transaction
    ):
        # SQLite ignores FOR UPDATE, and pysqlite begins the transaction only at its first
        # write: two threads appending to one case with nothing written before (the
        # recorder closing two files, each journaling a gap) both read the same head, and
        # the second insert broke the chain's unique position. The write lock first, as
        # ``turn`` takes it; a transaction that wrote already holds it (one statement
        # less on every arrival in a room: issue 18).
        turn(case_id)
    statements = _statements()
    head = connection.execute(statements.head, {"case": case_id}).one_or_none()
    seq, prev_hash = (head.seq, head.hash) if head is not None else (0, GENESIS_HASH)
    # Microseconds are kept: the value must hash the same after a round trip to the database.
    created_at = utcnow()
    entry = Appended(case_id, seq + 1, actor_id, action, payload, created_at, prev_hash)
    entry = entry._replace(hash=compute_hash(entry))
    entry = entry._replace(id=connection.execute(statements.entry, entry.row()).scalar_one())
    moved = {"seq": entry.seq, "hash": entry.hash, "updated_at": created_at}
    if head is None:
        connection.execute(insert(_HEADS), {"case_id": case_id, **moved})
    else:
        connection.execute(statements.move, {"case": case_id, **moved})
    _keep_loaded_head(case_id, moved)
    if sealed is not None:
        connection.execute(
            insert(_SEALED),
            {
                "entry_id": entry.id,
                "case_id": case_id,
                "side": side,
                "nonce": nonce,
                "content": sealed,
            },
        )
    signals.entry_added.send(case_id, action=action, payload=payload, actor_id=actor_id)
    return entry


def turn(case_id: int) -> None:
    """The case's turn, until the transaction ends: its head row's lock (on SQLite the
    write lock), which ``append`` takes anyway. Taken before anything else of the case is
    locked or written (core/locks.py: the order of locks); what the caller changed in
    memory is written after it, not before (no autoflush)."""
    lock_rows(JournalHead.case_id, case_id, autoflush=False)


class _Statements(NamedTuple):
    head: Any
    entry: Any
    move: Any


@memoized
def _statements() -> _Statements:
    """``append``'s statements, composed once (composing them cost about a third of
    running them, on every arrival in a room: issue 18)."""
    case = bindparam("case")
    return _Statements(
        head=select(_HEADS.c.seq, _HEADS.c.hash).where(_HEADS.c.case_id == case).with_for_update(),
        entry=insert(_ENTRIES).returning(_ENTRIES.c.id),
        move=update(_HEADS).where(_HEADS.c.case_id == case),
    )


class Appended(NamedTuple):
    """A journal entry as ``append`` wrote it (its fields as ``JournalEntry`` names them)."""

    case_id: int
    seq: int
    actor_id: int | None
    action: str
    payload: dict[str, Any]
    created_at: datetime
    prev_hash: str
    hash: str = ""
    id: int | None = None

    def row(self) -> dict[str, Any]:
        """The ``journal_entries`` row to insert."""
        row = self._asdict()
        del row["id"]
        return row


def _keep_loaded_head(case_id: int, moved: dict[str, Any]) -> None:
    """A head this database session loaded before (``db.session.get``) shows the new end
    of the chain, as if the ORM had written it."""
    loaded = db.session.identity_map.get(identity_key(JournalHead, case_id))
    if loaded is not None:
        for name, value in moved.items():
            set_committed_value(loaded, name, value)


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
