"""What one party may not see of the other side's: evidence that was not shared with them
(files and journal entries), the other side's address for documents, what the other
side said to the mediator in a caucus, everything of a session the mediator held with
the other side alone (SPC online mediation rules art 16), and the applicant's consultation
of an expert before filing (not even that it took place)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mediation.accounts.models import User

from .models import Case, CaseParty, Evidence, Side

HIDDEN = "—"

# What a journal entry of a session says, as opposed to the fact that it happened: hidden
# from the other side when the session was held with one side alone (art 16). Entries
# written since such content is sealed (``journal.SealedContent``) carry none of it; this
# covers entries written before.
SESSION_CONTENT = {
    "room.chat": ("text",),
    "room.identity_confirmed": ("name", "id_number"),
    "minutes.saved": (
        "attendees",
        "applicant_statement",
        "respondent_statement",
        "proposals",
        "facts",
    ),
    "minutes.confirmed": ("disputes",),
}


# Entries the other side does not see at all, not even that they exist, by the prefix of
# their action: how the applicant prepared before filing. Their consultation of an expert,
# copied into the case when it was turned into one (consultation/conversion.py, and an
# answer or handover after it); the court fees and time limits they worked out
# (evaluation/operations.py: what a suit would have cost them, the amount they weighed);
# their talk at a mediator's public reception that the host turned into their draft
# (reception/operations.py: that they sought advice, when, and from whom). That they did
# so, what, and who advised them is the applicant's private matter, not the respondent's
# (People's Mediation Law art 15 (4); SPC online mediation rules art 29 (4): 个人隐私和其他
# 不宜公开的信息). The case's staff see them, and the court receives the whole chain
# (court/bundle.py): it checks the chain, and may see what the mediator may.
OWN_SIDE_ENTRIES = {
    "consultation.": Side.applicant,
    "evaluation.": Side.applicant,
    "reception.": Side.applicant,
}


def entry_side(action: str) -> str | None:
    """The side a whole entry belongs to (its other side does not see it), if any."""
    return next((side for p, side in OWN_SIDE_ENTRIES.items() if action.startswith(p)), None)


def is_party(user: User, case: Case) -> bool:
    return any(p.user_id == user.id for p in case.parties)


def shown_identity(party: CaseParty, viewer: User) -> tuple[str, str | None]:
    """The name and masked ID number under which ``viewer`` sees ``party``.

    The account behind a phone number is not shown to whoever typed the number before its
    holder took part in the case: the other parties see the name they were given (and no
    ID number) until the party answered. The party themselves and staff see the account.
    """
    user = party.user
    if party.user_id == viewer.id or not is_party(viewer, party.case):
        return user.real_name, user.id_number_masked if user.id_number else None
    if party.named_name is not None and party.consented_at is None:
        return party.named_name, None
    return user.real_name, user.id_number_masked if user.id_number else None


def actor_name(case: Case, actor: User, viewer: User) -> str:
    """Who did something, as ``viewer`` may know them: a party under the name they were
    named by until they answered (entering by their link is not answering)."""
    party = next((p for p in case.parties if p.user_id == actor.id), None)
    return shown_identity(party, viewer)[0] if party is not None else actor.real_name


def name_mismatch(party: CaseParty) -> str | None:
    """For staff: the name a party was named by, when the account's own name differs (a
    mistyped number, a changed name, or someone else's account): the mediator checks on
    camera; nothing is decided by the platform."""
    if party.named_name and party.named_name.strip() != party.user.real_name.strip():
        return party.named_name
    return None


def may_see_evidence(item: Evidence, viewer: User, case: Case) -> bool:
    """A party sees their own files and what the other side shared; staff see all."""
    return not is_party(viewer, case) or item.shared or item.uploaded_by_id == viewer.id


def readable_sides(case: Case, viewer: User) -> set[str]:
    """Whose sealed journal content ``viewer`` reads: a party their own side's, staff
    every side's."""
    sides = {p.side for p in case.parties if p.user_id == viewer.id}
    return sides or set(Side)


def shown_entries(case: Case, viewer: User):
    """A function that tells whether ``viewer`` sees a journal entry at all (by its
    action): staff of the case see every entry, a party (their agent too: a party row of
    the same side) not the other side's own entries (``OWN_SIDE_ENTRIES``)."""
    sides = readable_sides(case, viewer)
    return lambda action: entry_side(action) in (None, *sides)


def one_side_sessions(payloads: Iterable[tuple[str, dict[str, Any]]]) -> dict[int, str]:
    """session id -> side, for the sessions held with one side alone, as the journal's own
    booking entries record them ((action, payload) pairs)."""
    return {
        payload["session_id"]: payload["side"]
        for action, payload in payloads
        if action.startswith("session.") and payload.get("side") and "session_id" in payload
    }


def redactor(case: Case, viewer: User, *, one_side: dict[int, str] | None = None):
    """A function that gives each journal payload as ``viewer`` may see it.

    Staff of the case see everything; a party sees their own entries in full and the
    other side's without unshared evidence or service addresses, and nothing said or
    written in a session the mediator held with the other side alone (``one_side``:
    session id -> side). The entry hashes stay as they are, so the chain can still be
    checked by the platform.
    """
    if not is_party(viewer, case):
        return lambda action, payload, actor_id: payload
    private = {e.id for e in case.evidence if not may_see_evidence(e, viewer, case)}
    side = next(p.side for p in case.parties if p.user_id == viewer.id)
    elsewhere = {sid for sid, held_with in (one_side or {}).items() if held_with != side}
    # What was said in the room where this party was not: the other side's caucus with
    # the mediator, and the other side's own talk while waiting.
    unheard = {f"caucus:{other}" for other in ("applicant", "respondent") if other != side}
    unheard |= {f"waiting:{other}" for other in ("applicant", "respondent") if other != side}

    def redact(action: str, payload: dict[str, Any], actor_id: int | None) -> dict[str, Any]:
        if payload.get("session_id") in elsewhere and action in SESSION_CONTENT:
            return {
                **payload,
                **{key: HIDDEN for key in SESSION_CONTENT[action] if key in payload},
            }
        if action == "evidence.added" and payload.get("evidence_id") in private:
            return {**payload, "filename": HIDDEN, "sha256": HIDDEN, "size": HIDDEN}
        if action == "party.consented" and payload.get("user_id") != viewer.id:
            return {**payload, "service_address": HIDDEN}
        if action.startswith("party.identity_") and payload.get("user_id") != viewer.id:
            return {**payload, **{k: HIDDEN for k in ("id_number", "ethnicity") if k in payload}}
        if action == "room.chat" and payload.get("scope") in unheard:
            return {**payload, "text": HIDDEN}
        return payload

    return redact
