"""The end of a session (issue #16): hands lowered, the session reads as ended everywhere,
and nothing is offered for it any more (move, cancel, join, new links)."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from mediation.booking import cleanup, links
from mediation.booking import operations as booking
from mediation.booking.models import MediationSession
from mediation.cases.models import Case
from mediation.cases.workflow import NotPermittedError
from mediation.core.db import utcnow
from mediation.extensions import db
from mediation.rooms.models import RoomMember
from tests.conftest import login
from tests.factories import PASSWORD, make_user

NS = "/room"


def end_with_a_hand_up(connect, room) -> None:
    mediator, a = connect("mediator"), connect("a")
    mediator.emit("admit", {"participant": room["ids"]["a"]}, namespace=NS)
    a.emit("raise_hand", {"raised": True}, namespace=NS)
    mediator.emit("minutes", {"facts": "双方确认押金3000元尚未退还"}, namespace=NS)
    a.get_received(NS)
    mediator.emit("end", {}, namespace=NS)
    received = a.get_received(NS)
    rosters = [e["args"][0]["members"] for e in received if e["name"] == "roster"]
    mine = next(m for m in rosters[-1] if m["id"] == room["ids"]["a"])
    assert mine["hand_raised"] is False  # the last roster before the end: hands down
    assert any(e["name"] == "ended" for e in received)


def test_the_end_lowers_every_hand_and_the_session_takes_place(app, room, connect):
    end_with_a_hand_up(connect, room)
    with app.app_context():
        session = db.session.get(MediationSession, room["session"])
        assert session.ended_at is not None and session.shown_status == "ended"
        hands = db.session.scalars(
            select(RoomMember.hand_raised_at).where(RoomMember.session_id == room["session"])
        ).all()
        assert hands and all(h is None for h in hands)
        mediator = session.mediator
        refusals = (
            lambda: booking.reschedule(
                session, by=mediator, start=session.start_at + timedelta(days=7), reason="改期"
            ),
            lambda: booking.cancel(session, by=mediator, reason="取消"),
            lambda: booking.resend_links(session, by=mediator),
            lambda: booking.invite_guest(
                session,
                by=mediator,
                real_name="王五",
                phone="13900000999",
                relation="relative",
                side="applicant",
            ),
        )
        for refused in refusals:
            with pytest.raises(NotPermittedError, match="已经举行"):
                refused()
            db.session.rollback()
        # The personal link in the text message leads nowhere now: "the session is over".
        party = next(p for p in session.participants if p.role == "party")
        assert links.check(links.token_for(party), None).refusal == links.Refusal.expired


def test_a_session_that_took_place_is_not_cancelled_when_its_case_closes(app, room, connect):
    end_with_a_hand_up(connect, room)
    with app.app_context():
        session = db.session.get(MediationSession, room["session"])
        db.session.get(Case, session.case_id).status = "terminated"
        db.session.commit()
        cleanup.end_stale(now=utcnow())
        db.session.commit()
        assert db.session.get(MediationSession, room["session"]).status == "scheduled"


def test_after_the_end_the_pages_say_it_took_place(app, room, connect):
    end_with_a_hand_up(connect, room)
    party = app.test_client()
    login(party, room["phones"]["a"], PASSWORD)
    mine = party.get("/sessions/").get_data(as_text=True)
    assert "已结束" in mine and "已预约" not in mine
    assert "阅读调解笔录" in mine and "加入调解" not in mine

    # The room page opens again without a connection: it says the session ended.
    page = party.get(f"/sessions/{room['session']}/room").get_data(as_text=True)
    config = json.loads(re.search(r'id="room-config">(.*?)</script>', page).group(1))
    assert config["ended"] is True and config["iceServers"] == []
    assert "调解员已结束本次调解。" in re.search(r'id="state"[^>]*>(.*?)</p>', page).group(1)

    mediator = app.test_client()
    login(mediator, room["phones"]["mediator"], PASSWORD)
    with app.app_context():
        case_id = db.session.get(MediationSession, room["session"]).case_id
    case_page = mediator.get(f"/cases/{case_id}").get_data(as_text=True)
    sessions = case_page[case_page.index('class="sessions"') :]
    assert "已结束" in sessions and "已预约" not in sessions
    assert f"/sessions/{room['session']}/reschedule" not in sessions
    assert f"/sessions/{room['session']}/cancel" not in sessions
    room_page = mediator.get(f"/sessions/{room['session']}/room").get_data(as_text=True)
    assert "您已结束本次调解，请接着完成调解笔录。" in room_page

    # Someone who took no part still gets nothing.
    with app.app_context():
        phone = make_user().phone
        db.session.commit()
    stranger = app.test_client()
    login(stranger, phone, PASSWORD)
    assert stranger.get(f"/sessions/{room['session']}/room").status_code == 403
