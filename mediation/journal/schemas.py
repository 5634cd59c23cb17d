"""The journal's JSON form: every field the hash covers, so anyone can re-check the chain."""

from __future__ import annotations

from typing import Any

from .models import JournalEntry


def hashed_fields(entry: JournalEntry) -> dict[str, Any]:
    """The fields an entry's hash covers, in the form they are hashed."""
    return {
        "case_id": entry.case_id,
        "seq": entry.seq,
        "actor_id": entry.actor_id,
        "action": entry.action,
        "payload": entry.payload,
        "created_at": entry.created_at.isoformat(timespec="microseconds"),
        "prev_hash": entry.prev_hash,
    }


def entry_to_dict(entry: JournalEntry) -> dict[str, Any]:
    return {**hashed_fields(entry), "hash": entry.hash}
