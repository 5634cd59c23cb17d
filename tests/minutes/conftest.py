"""A session that has ended, with its minutes written and the room's record of who came."""

from __future__ import annotations

import re

from sqlalchemy import select

from mediation.accounts.models import Role
from mediation.booking import operations as booking
from mediation.booking.models import SessionParticipant
from mediation.cases import assignment
from mediation.core.db import utcnow
from mediation.extensions import db
from mediation.minutes import operations as minutes
from mediation.notify.models import OutboxMessage
from mediation.rooms.models import Room, RoomMember
from tests.factories import make_mediator, make_user
from tests.signaling.conftest import open_session

TEXT = {
    "attendees": "调解员王某，申请人张某，被申请人李某",
    "applicant_statement": "申请人称被申请人欠款五千元。\n约定于十月一日前归还。",
    "respondent_statement": "被申请人称只欠三千元。",
    "proposals": "调解员建议分两期归还。",
    "facts": "双方确认曾有借款关系。\n双方确认已还款二千元。",
}


def ended_session(case, *, admitted: bool = True, written: bool = True, agents=()):
    """A session of ``case`` whose room the mediator has just ended (the room's end is
    written directly: the room's own rules are tested in tests/rooms); ``agents``: users
    seated as agents too, who attended."""
    session = open_session(case)
    for user in agents:  # seated by open_session already if named in the case before
        seat = next((p for p in session.participants if p.user_id == user.id), None)
        if seat is None:
            session.participants.append(SessionParticipant(user_id=user.id, role="agent"))
        else:
            seat.role = "agent"
    db.session.flush()
    now = utcnow()
    db.session.add(Room(session_id=session.id, started_at=now, ended_at=now))
    for participant in session.participants:
        side = next((p.side for p in case.parties if p.user_id == participant.user_id), None)
        db.session.add(
            RoomMember(
                participant_id=participant.id,
                session_id=session.id,
                role=participant.role,
                side=side,
                admitted_at=now if admitted else None,
                identity_confirmed_at=now if admitted else None,
            )
        )
    if written:
        minutes.save(session, TEXT, by=case.mediator)
    db.session.flush()
    minutes.session_ended(session)
    return session


def given_to_another(case, session):
    """The session took place (as the room's end records it in the calendar, so the new
    mediator's arrival does not cancel it), then the institution gives the case to another
    of its mediators (SPC online mediation rules art 14). Returns the new mediator."""
    booking.session_ended(session, at=utcnow())
    new = make_mediator(case.institution)
    admin = make_user(Role.institution_admin, institution_id=case.institution_id)
    assignment.reassign_by_institution(case, mediator=new, by=admin)
    assert session.status != "cancelled" and case.mediator_id == new.id
    return new


def last_code_to(phone: str) -> str:
    body = db.session.scalars(
        select(OutboxMessage.body)
        .where(OutboxMessage.recipient == phone)
        .order_by(OutboxMessage.id.desc())
    ).first()
    return re.search(r"\d{6}", body).group()


def messages_to(phone: str) -> list[str]:
    return list(
        db.session.scalars(
            select(OutboxMessage.body)
            .where(OutboxMessage.recipient == phone)
            .order_by(OutboxMessage.id)
        )
    )
