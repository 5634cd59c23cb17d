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


def chain_problem(entries: list[dict[str, Any]]) -> str | None:
    """Re-check a chain from its JSON form alone (a court's copy, offline): each entry's
    hash over its fields and its link to the one before. None when it holds."""
    import hashlib
    import json

    from .models import GENESIS_HASH

    previous = GENESIS_HASH
    for number, entry in enumerate(entries, start=1):
        fields = {key: value for key, value in entry.items() if key != "hash"}
        if entry.get("seq") != number:
            return f"entry {number} is missing or out of order"
        if fields.get("prev_hash") != previous:
            return f"entry {number} does not follow entry {number - 1}"
        canonical = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        if hashlib.sha256(canonical.encode()).hexdigest() != entry.get("hash"):
            return f"entry {number} was altered"
        previous = entry["hash"]
    return None
