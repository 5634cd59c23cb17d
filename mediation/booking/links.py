"""Personal join links: signed, for one participant of one session, valid until shortly
after the session ends, and dead once the session is cancelled or the link is renewed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer

from mediation.accounts import operations as accounts
from mediation.accounts import personal_links
from mediation.accounts.models import CodePurpose, User
from mediation.core.db import utcnow
from mediation.core.forms import FieldError
from mediation.extensions import db
from mediation.journal import operations as journal

from .models import SessionParticipant, SessionStatus

SALT = "mediation.booking.join"
# The link works until this long after the end; the join button from this long before.
AFTER_END = timedelta(minutes=30)
BEFORE_START = timedelta(minutes=15)


class Refusal(StrEnum):
    invalid = "invalid"  # not a link we signed, or one replaced by a newer link
    cancelled = "cancelled"
    expired = "expired"
    other_person = "other_person"  # someone else is logged in on this device


@dataclass(frozen=True)
class JoinCheck:
    participant: SessionParticipant | None
    refusal: Refusal | None = None


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
    session = participant.session
    if session.status == SessionStatus.cancelled:
        return JoinCheck(participant, Refusal.cancelled)
    # Over: past its hours, or ended by the mediator in the room.
    if session.ended_at is not None or (now or utcnow()) > session.end_at + AFTER_END:
        return JoinCheck(participant, Refusal.expired)
    if user is not None and user.id != participant.user_id:
        return JoinCheck(participant, Refusal.other_person)
    return JoinCheck(participant)


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
