"""A session the mediator holds with one side alone (SPC online mediation rules art 16),
booked as the platform books it, then brought to now; and the words said in it, which the
other side must never find."""

from __future__ import annotations

import json
from datetime import timedelta

from mediation.booking import operations as booking
from mediation.booking.models import MediationSession
from mediation.cases.models import Side
from mediation.core.db import utcnow
from mediation.extensions import db
from mediation.minutes import operations as minutes
from mediation.rooms.models import Room, RoomMember
from tests.booking.conftest import ahead
from tests.factories import add_weekly_hours

# What the applicant tells the mediator alone: none of it may reach the respondent.
SECRET_CHAT = "我方底线是三万二千元"
SECRET_MINUTES = {
    "attendees": "调解员，申请人",
    "applicant_statement": "申请人单独表示可接受三万二千元，但不愿让对方知道。",
    "respondent_statement": "",
    "proposals": "调解员建议申请人先提出四万元。",
    "facts": "申请人承认曾口头同意延期。",
}
SECRETS = ("三万二千", "不愿让对方知道", "先提出四万元", "口头同意延期")


def book_one_side(case, side: str = Side.applicant) -> MediationSession:
    """Every party consents to separate sessions; the mediator books one with ``side``;
    its time then comes (the times are moved to now: the room opens by the real clock)."""
    for party in case.party_users():
        booking.consent_to_separate_sessions(case, party, True)
    add_weekly_hours(case.mediator)
    session = booking.book(case, by=case.mediator, start=ahead(1, "09:00"), side=side)
    start = utcnow() - timedelta(minutes=5)
    session.start_at, session.end_at = start, start + timedelta(hours=1)
    session.busy_until = session.end_at
    db.session.flush()
    return session


def ended_one_side(case, side: str = Side.applicant, *, text=None) -> MediationSession:
    """A session with ``side`` alone that the mediator has ended, its minutes written (the
    room's end written directly, as in tests/minutes)."""
    session = book_one_side(case, side)
    now = utcnow()
    db.session.add(Room(session_id=session.id, started_at=now, ended_at=now))
    for participant in session.participants:
        db.session.add(
            RoomMember(
                participant_id=participant.id,
                session_id=session.id,
                role=participant.role,
                side=None if participant.role == "mediator" else side,
                admitted_at=now,
                identity_confirmed_at=now,
            )
        )
    minutes.save(session, text or SECRET_MINUTES, by=case.mediator)
    db.session.flush()
    minutes.session_ended(session)
    return session


def leaks(body: str) -> list[str]:
    """The secrets found in ``body``."""
    return [s for s in (SECRET_CHAT, *SECRETS) if s in body]


def body_of(response) -> str:
    """A response's text as a person reads it (JSON with its escapes undone)."""
    if response.is_json:
        return json.dumps(response.get_json(), ensure_ascii=False)
    return response.get_data(as_text=True)
