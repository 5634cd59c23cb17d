"""A case's journal as people read it: one line per entry — when, who (in their part in the
case), what happened — and the few details a reader needs, in words (issue #16: parties were
shown event codes and JSON). The entries' full payloads stay in the journal's JSON export
for staff and in the court package; this is what a page shows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l

from mediation.accounts.models import Role, User

from .labels import STATUS_NAMES, TERMINATION_REASONS, journal_label
from .models import Case
from .privacy import HIDDEN, actor_name

# Who did it, by their part in the case (the agent before the party: an agent is a party
# row too).
AGENT = _l("Agent")
PARTS = {
    "applicant": _l("Applicant"),
    "respondent": _l("Respondent"),
    "mediator": _l("Mediator"),
    Role.institution_admin: _l("Institution"),
    Role.court_clerk: _l("Court"),
    Role.judge: _l("Court"),
    Role.platform_admin: _l("Platform administrator"),
}
# An entry no person wrote: the platform's own worker (a deadline, a reminder).
PLATFORM = _l("The platform")

# Payload values shown in words, by key (anything else is in the JSON export for staff).
DETAILS = {
    "note": _l("Note"),
    "reason": _l("Reason"),
    "reasons": _l("Reasons"),
    "situation": _l("Situation"),
    "court": _l("Court"),
    "service_address": _l("Address for documents"),
    "filename": _l("File"),
    "name": _l("File"),
    "text": _l("Message"),
    "version": _l("Version"),
    "days": _l("Days added"),
}


@dataclass
class Line:
    seq: int
    at: datetime
    who: str
    what: str
    details: list[tuple[str, str]] = field(default_factory=list)
    # Part of what the entry records is not for this reader (the other side's caucus, an
    # unshared file: cases.privacy); the line says so instead of showing a dash.
    withheld: bool = False


def who_did(case: Case, actor: User | None, viewer: User) -> str:
    """ "调解员 王某": the actor's part in the case and their name as ``viewer`` knows it."""
    if actor is None:
        return str(PLATFORM)
    name = actor_name(case, actor, viewer)
    party = next((p for p in case.parties if p.user_id == actor.id), None)
    if party is not None:
        part = AGENT if party.is_agent else PARTS[str(party.side)]
    elif actor.id == case.mediator_id or actor.has_role(Role.mediator):
        part = PARTS["mediator"]
    else:
        part = next((PARTS[r] for r in PARTS if isinstance(r, Role) and actor.has_role(r)), "")
    return f"{part} {name}".strip()


def details(payload: dict[str, Any]) -> list[tuple[str, str]]:
    """The payload's readable parts: a change of status, a reason, a note, a court, a file."""
    shown: list[tuple[str, str]] = []
    before, after = payload.get("from"), payload.get("to")
    if before in STATUS_NAMES and after in STATUS_NAMES:
        shown.append((str(_l("Status")), f"{STATUS_NAMES[before]} → {STATUS_NAMES[after]}"))
    for key, label in DETAILS.items():
        value = payload.get(key)
        if value in (None, "", HIDDEN) or isinstance(value, dict | list):
            continue
        if key == "reason":
            value = TERMINATION_REASONS.get(value)
            if value is None:
                continue
        shown.append((str(label), str(value)))
    return shown


def lines(case: Case, entries: list[tuple[Any, dict[str, Any]]], viewer: User) -> list[Line]:
    """``entries``: (journal entry, its payload as ``viewer`` may see it)."""
    return [
        Line(
            seq=entry.seq,
            at=entry.created_at,
            who=who_did(case, entry.actor, viewer),
            what=journal_label(entry.action),
            details=details(payload),
            withheld=HIDDEN in payload.values(),
        )
        for entry, payload in entries
    ]
