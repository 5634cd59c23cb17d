"""What one party may not see of the other side's entries in a case's journal: evidence that
was not shared with them, and the other side's address for documents."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from mediation.accounts.models import User
from mediation.extensions import db

from .models import Case, Evidence

HIDDEN = "—"


def redactor(case: Case, viewer: User):
    """A function that gives each journal payload as ``viewer`` may see it.

    Staff of the case see everything; a party sees their own entries in full and the
    other side's without unshared evidence or service addresses. The entry hashes stay
    as they are, so the chain can still be checked by the platform.
    """
    if not any(p.user_id == viewer.id for p in case.parties):
        return lambda action, payload, actor_id: payload
    private = set(
        db.session.scalars(
            select(Evidence.id).where(
                Evidence.case_id == case.id,
                Evidence.shared.is_(False),
                Evidence.uploaded_by_id != viewer.id,
            )
        )
    )

    def redact(action: str, payload: dict[str, Any], actor_id: int | None) -> dict[str, Any]:
        if action == "evidence.added" and payload.get("evidence_id") in private:
            return {**payload, "filename": HIDDEN, "sha256": HIDDEN, "size": HIDDEN}
        if action == "party.consented" and payload.get("user_id") != viewer.id:
            return {**payload, "service_address": HIDDEN}
        return payload

    return redact
