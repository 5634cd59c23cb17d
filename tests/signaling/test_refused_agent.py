"""An agent the party refused (cases/agency.refuse) leaves the case's sessions: the room they
are in closes their connection and does not let them back, the room page and their link to
the session say why, and their seats in sessions to come go (no link, no reminder, nothing
in their list). Their seat in the session under way stays: the record of who took part.

Found by an attacker's audit: the refusal removed the agent from the case, but their seat,
made when the session was booked, still opened the room (page 200, connect, roster,
signalling) while every page of the case answered them 404."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from mediation.accounts import personal_links
from mediation.accounts.models import User
from mediation.booking import links, notices
from mediation.booking.models import MediationSession, SessionParticipant
from mediation.cases import agency
from mediation.cases.models import Case, CaseParty
from mediation.core.db import utcnow
from mediation.extensions import db
from mediation.minutes import review
from mediation.notify.models import OutboxMessage
from mediation.rooms import arrival
from mediation.rooms import operations as rooms
from mediation.rooms.models import ChatMessage
from tests.conftest import login, post_form
from tests.factories import PASSWORD, make_user
from tests.signaling.conftest import open_session

NS = "/room"


def seat_agent(app, room) -> dict:
    """A confirmed agent of the respondent, seated in the session under way and in one
    booked for next week."""
    with app.app_context():
        case = db.session.get(Case, room["case"])
        respondent = case.party_users()[1]
        row = CaseParty(user=make_user(), side="respondent", is_agent=True, represents=respondent)
        case.parties.append(row)
        db.session.flush()
        agency.confirm(row, by=case.mediator)
        now = db.session.get(MediationSession, room["session"])
        seat = SessionParticipant(user_id=row.user_id, role="agent")
        now.participants.append(seat)
        later = open_session(case, start=utcnow() + timedelta(days=7), uid=f"later-{case.id}")
        # Seated with everyone of the case (open_session): as an agent, as booking seats them.
        next(p for p in later.participants if p.user_id == row.user_id).role = "agent"
        db.session.flush()
        made = {
            "phone": row.user.phone,
            "user": row.user_id,
            "seat": seat.id,
            "later": later.id,
            "link": "/s/" + links.token_for(seat),
            "refuse": "/agency/" + personal_links.token(agency.SALT, case.id, row.id),
            "respondent": respondent.phone,
        }
        db.session.commit()
        db.session.remove()
    return made


def as_agent(app, room, agent):
    from mediation.extensions import socketio

    client = app.test_client()
    login(client, agent["phone"], PASSWORD)
    sock = socketio.test_client(
        app, namespace=NS, auth={"session": room["session"]}, flask_test_client=client
    )
    return client, sock


def test_an_agent_the_party_refused_leaves_the_room_and_cannot_come_back(app, room, connect):
    agent = seat_agent(app, room)
    mediator, b = connect("mediator"), connect("b")
    client, sock = as_agent(app, room, agent)
    assert sock.is_connected(NS)
    assert client.get(f"/sessions/{room['session']}/room").status_code == 200

    # The respondent refuses them from the link sent to their phone.
    party = app.test_client()
    login(party, agent["respondent"], PASSWORD)
    answer = post_form(party, agent["refuse"], {"choice": "refuse"})
    assert answer.status_code == 302

    assert not sock.is_connected(NS)  # their connection closed at the commit
    assert mediator.is_connected(NS) and b.is_connected(NS)  # nobody else's
    _, again = as_agent(app, room, agent)
    assert not again.is_connected(NS)
    with app.app_context(), pytest.raises(rooms.RoomError) as refused:
        arrival.arrive(db.session.get(SessionParticipant, agent["seat"]), "sid-again")
    assert refused.value.code == "not_acting"
    assert "您已不再代理本案" in str(refused.value)

    # The room page and the session's link say why, and open nothing.
    page = client.get(f"/sessions/{room['session']}/room")
    assert page.status_code == 302
    told = client.get(page.headers["Location"], follow_redirects=True).get_data(as_text=True)
    assert "您已不再代理本案" in told, told[:2000]
    link = client.get(agent["link"])
    assert link.status_code == 410
    assert "代理" in link.get_data(as_text=True)

    assert client.get(f"/sessions/{room['session']}.ics").status_code == 404
    assert client.get("/sessions/").status_code == 200  # listed no more (my_sessions)
    assert f"/sessions/{room['session']}/room" not in client.get("/sessions/").get_data(True)

    with app.app_context():
        # The seat of the session under way stays (they arrived: the room records that
        # seat); the one booked for next week is gone, and with it its reminders and its
        # line in the list.
        seats = db.session.scalars(
            select(SessionParticipant.session_id).where(SessionParticipant.user_id == agent["user"])
        ).all()
        assert seats == [room["session"]]
        assert not links.seat_holds(db.session.get(SessionParticipant, agent["seat"]))
        # Told nothing more of the session (a new time, a reminder), nor asked to confirm
        # its minutes.
        session = db.session.get(MediationSession, room["session"])
        before = texts_to(agent["phone"])
        notices.tell(session, notices.REMINDER)
        assert texts_to(agent["phone"]) == before
        assert agent["user"] not in {p.user_id for p in review.reviewers(session)}
        db.session.rollback()
        db.session.remove()


def texts_to(phone: str) -> int:
    return db.session.scalar(
        select(func.count()).select_from(OutboxMessage).where(OutboxMessage.recipient == phone)
    )


def test_a_seat_the_room_records_stays_in_a_session_moved_ahead(app, room, connect):
    """An agent who arrived and spoke in a session that was then moved two weeks ahead (not
    ended: the mediator never pressed End): the refusal goes through, and their seat, which
    the room's record names (their arrival, their chat line), stays, opening nothing."""
    agent = seat_agent(app, room)
    mediator = connect("mediator")
    _, sock = as_agent(app, room, agent)
    mediator.emit("admit", {"participant": agent["seat"]}, namespace=NS)
    sock.emit("chat", {"text": "我是被申请人的代理人"}, namespace=NS)
    sock.disconnect(NS)
    with app.app_context():
        session = db.session.get(MediationSession, room["session"])
        week = timedelta(days=14)  # past the one booked for next week
        session.start_at, session.end_at = session.start_at + week, session.end_at + week
        session.busy_until += week
        db.session.commit()
        row = db.session.scalar(
            select(CaseParty).where(CaseParty.user_id == agent["user"], CaseParty.is_agent)
        )
        respondent = db.session.scalar(select(User).where(User.phone == agent["respondent"]))
        agency.refuse(row, by=respondent)
        db.session.commit()
        seat = db.session.get(SessionParticipant, agent["seat"])
        assert seat is not None and not links.seat_holds(seat)
        said = db.session.scalars(
            select(ChatMessage.text).where(ChatMessage.participant_id == agent["seat"])
        ).all()
        assert said == ["我是被申请人的代理人"]
        later = db.session.get(MediationSession, agent["later"])
        assert agent["user"] not in {p.user_id for p in later.participants}  # never entered
        db.session.remove()
