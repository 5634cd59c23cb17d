"""Personal join links: signed, for one participant of one session, valid until shortly
after the session ends, and dead once the session is cancelled or the link is renewed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select

from mediation.accounts import operations as accounts
from mediation.accounts import personal_links
from mediation.accounts.models import CodePurpose, User
from mediation.cases import agency
from mediation.core.db import utcnow
from mediation.core.forms import FieldError
from mediation.extensions import db
from mediation.journal import operations as journal

from .models import MediationSession, SessionParticipant, SessionStatus

SALT = "mediation.booking.join"
# The link works until this long after the end; the join button from this long before.
AFTER_END = timedelta(minutes=30)
BEFORE_START = timedelta(minutes=15)


class Refusal(StrEnum):
    invalid = "invalid"  # not a link we signed, or one replaced by a newer link
    other_person = "other_person"  # someone else is logged in on this device
    # An offered time the parties did not choose: the session is at another of the times.
    chosen_elsewhere = "chosen_elsewhere"
    cancelled = "cancelled"
    expired = "expired"
    # An agent's link after the party said they do not act for them (cases/agency.refuse).
    not_acting = "not_acting"


@dataclass(frozen=True)
class JoinCheck:
    participant: SessionParticipant | None
    refusal: Refusal | None = None
    # For ``chosen_elsewhere``: the same person's place in the session that was fixed.
    instead: SessionParticipant | None = None


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def token_for(participant: SessionParticipant) -> str:
    return _serializer().dumps([participant.id, participant.link_nonce])


def url_for_participant(participant: SessionParticipant) -> str:
    """The link as sent by SMS and e-mail (built from BASE_URL: workers have no request)."""
    return f"{current_app.config['BASE_URL'].rstrip('/')}/s/{token_for(participant)}"


def check(token: str, user: User | None, *, now: datetime | None = None) -> JoinCheck:
    """Who the link is for, or why it cannot be used (by ``user``, if someone is logged in)."""
    try:
        participant_id, nonce = _serializer().loads(token)
    except (BadSignature, ValueError, TypeError):
        return JoinCheck(None, Refusal.invalid)
    participant = db.session.get(SessionParticipant, participant_id)
    if participant is None or participant.link_nonce != nonce:
        return JoinCheck(None, Refusal.invalid)
    # Whose link it is comes first: someone else logged in here learns nothing of the
    # session, not even that it was cancelled, when, or why (the mediator's reason may be
    # a party's illness).
    if user is not None and user.id != participant.user_id:
        return JoinCheck(participant, Refusal.other_person)
    if not seat_holds(participant):
        return JoinCheck(participant, Refusal.not_acting)
    session = participant.session
    if session.status == SessionStatus.cancelled:
        fixed = fixed_instead(session)
        if fixed is not None:
            mine = next((p for p in fixed.participants if p.user_id == participant.user_id), None)
            return JoinCheck(participant, Refusal.chosen_elsewhere, instead=mine)
        return JoinCheck(participant, Refusal.cancelled)
    # Over: past its hours, or ended by the mediator in the room.
    if session.ended_at is not None or (now or utcnow()) > session.end_at + AFTER_END:
        return JoinCheck(participant, Refusal.expired)
    return JoinCheck(participant)


def fixed_instead(session: MediationSession) -> MediationSession | None:
    """The session fixed at another of the times offered with ``session`` (None when it
    was not offered with others, or none of them is fixed). Only the parties' common choice
    turns an offered time into a scheduled session (offers._fix), so a scheduled session
    sharing the offer's key is the one they chose, moved or ended since perhaps; one the
    mediator cancelled afterwards is not found, and the link says why this time was
    dropped."""
    if session.offer_key is None:
        return None
    return db.session.scalar(
        select(MediationSession).where(
            MediationSession.offer_key == session.offer_key,
            MediationSession.id != session.id,
            MediationSession.status == SessionStatus.scheduled,
        )
    )


def seat_holds(participant: SessionParticipant) -> bool:
    """An agent's seat holds while they act for a party of the case: once the party said
    they do not (cases/agency.refuse), a seat kept as a record (one the room records, or
    of a session whose room was open: ``cleanup.unseat_refused_agent``) opens neither the
    link nor the room, and is told nothing."""
    if participant.role != "agent":
        return True
    case = participant.session.case
    return agency.agent_row(case, participant.user) is not None


def open_now(participant: SessionParticipant, now: datetime | None = None) -> bool:
    """Whether the join button is active: from shortly before the start to after the end."""
    session = participant.session
    return window_open(session.status, session.start_at, session.end_at, now)


def window_open(
    status: SessionStatus, start_at: datetime, end_at: datetime, now: datetime | None = None
) -> bool:
    """``open_now`` from the session's plain values (the room's hot path reads no objects)."""
    now = now or utcnow()
    return (
        status == SessionStatus.scheduled and start_at - BEFORE_START <= now <= end_at + AFTER_END
    )


may_enter_by_code = personal_links.may_enter_by_code


def enter_by_code(participant: SessionParticipant, code: str) -> User:
    """Check the code sent to the participant's phone; the caller logs the user in."""
    if not may_enter_by_code(participant.user) or not accounts.consume_code(
        participant.user, CodePurpose.invitation_login, code
    ):
        raise FieldError("code", _("The code is wrong or has expired. Ask for a new one."))
    journal.append(
        participant.session.case_id,
        "party.entered",
        {"user_id": participant.user_id, "via": "session link"},
        actor_id=participant.user_id,
    )
    return participant.user
