"""What one party may not see of the other side's: evidence that was not shared with them
(files and journal entries), and the other side's address for documents."""

from __future__ import annotations

from typing import Any

from mediation.accounts.models import User

from .models import Case, Evidence

HIDDEN = "—"


def is_party(user: User, case: Case) -> bool:
    return any(p.user_id == user.id for p in case.parties)


def may_see_evidence(item: Evidence, viewer: User, case: Case) -> bool:
    """A party sees their own files and what the other side shared; staff see all."""
    return not is_party(viewer, case) or item.shared or item.uploaded_by_id == viewer.id


def redactor(case: Case, viewer: User):
    """A function that gives each journal payload as ``viewer`` may see it.

    Staff of the case see everything; a party sees their own entries in full and the
    other side's without unshared evidence or service addresses. The entry hashes stay
    as they are, so the chain can still be checked by the platform.
    """
    if not is_party(viewer, case):
        return lambda action, payload, actor_id: payload
    private = {e.id for e in case.evidence if not may_see_evidence(e, viewer, case)}

    def redact(action: str, payload: dict[str, Any], actor_id: int | None) -> dict[str, Any]:
        if action == "evidence.added" and payload.get("evidence_id") in private:
            return {**payload, "filename": HIDDEN, "sha256": HIDDEN, "size": HIDDEN}
        if action == "party.consented" and payload.get("user_id") != viewer.id:
            return {**payload, "service_address": HIDDEN}
        return payload

    return redact
