"""Personal join links: for one participant, who proves it is them (logged in, or by the
code sent to their phone); until shortly after the end; never after a cancellation. Each
refusal is a page that says why."""

from __future__ import annotations

import re
from datetime import timedelta
from unittest import mock

import pytest
import time_machine
from sqlalchemy import select

from mediation.booking import links
from mediation.booking import operations as booking
from mediation.booking.models import MediationSession
from mediation.extensions import db
from mediation.notify.models import OutboxMessage
from tests.booking.conftest import NOW, at
from tests.conftest import csrf_token, login, post_form
from tests.factories import PASSWORD, add_weekly_hours, make_mediating_case, make_user


@pytest.fixture
def booked(app):
    """A session on Tuesday 24 November; the tokens of the applicant and the respondent.
    Made in an app context of its own, so that requests in the test share none of it."""
    with app.app_context():
        case = make_mediating_case()
        add_weekly_hours(case.mediator)
        session = booking.book(case, by=case.mediator, start=at(24, "09:00"), now=NOW)
        db.session.commit()
        parts = {p.user_id: p for p in session.participants}
        applicant, respondent = case.party_users()
        made = {
            "session_id": session.id,
            "case_page": f"/cases/{case.id}",
            "applicant": links.token_for(parts[applicant.id]),
            "applicant_phone": applicant.phone,
            "respondent": links.token_for(parts[respondent.id]),
            "respondent_phone": respondent.phone,
        }
        db.session.remove()
    return made


def clock(moment):
    """Freeze the links' notion of now."""
    return mock.patch("mediation.booking.links.utcnow", return_value=moment)


@pytest.fixture(autouse=True)
def _days_before_the_session():
    """The session is on a fixed date: every request is made days before it (NOW), unless
    a test moves the clock itself."""
    with clock(NOW):
        yield


def prove_by_code(app, client, token: str, phone: str):
    """What a party does with the link alone: ask for the code, type it in."""
    path = f"/s/{token}"
    post_form(client, f"{path}/code", {}, form_page=path)
    with app.app_context():
        body = db.session.scalars(
            select(OutboxMessage.body)
            .where(OutboxMessage.recipient == phone)
            .order_by(OutboxMessage.id.desc())
        ).first()
    code = re.search(r"\d{6}", body).group()
    return post_form(client, f"{path}/verify", {"code": code}, form_page=path)


def test_the_link_shows_the_session_and_asks_for_the_code(client, booked):
    with clock(NOW):
        page = client.get(f"/s/{booked['applicant']}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "2026年11月24日" in text and "发送验证码" in text
    assert "加入调解</button>" not in text  # not before they proved who they are


def test_a_forwarded_link_alone_does_not_let_anyone_in(app, client, booked):
    token = booked["applicant"]
    with clock(at(24, "08:50")):
        entered = client.post(
            f"/s/{token}/enter", data={"csrf_token": csrf_token(client, f"/s/{token}")}
        )
    assert entered.status_code == 302 and entered.headers["Location"].endswith(f"/s/{token}")
    assert client.get(f"/sessions/{booked['session_id']}/room").status_code == 302  # log in


def test_the_code_lets_the_party_in_when_the_room_opens(app, client, booked):
    token = booked["applicant"]
    assert prove_by_code(app, client, token, booked["applicant_phone"]).status_code == 302
    with clock(NOW):  # days before: the button is there but not active
        assert 'class="join" disabled' in client.get(f"/s/{token}").get_data(as_text=True)
    with clock(at(24, "08:50")):
        page = client.get(f"/s/{token}").get_data(as_text=True)
        assert 'class="join" disabled' not in page and "加入调解</button>" in page
        entered = post_form(client, f"/s/{token}/enter", {}, form_page=f"/s/{token}")
        assert entered.headers["Location"].endswith(f"/sessions/{booked['session_id']}/room")
        assert client.get(entered.headers["Location"]).status_code == 200


def test_a_wrong_code_is_refused_in_chinese(client, booked):
    token = booked["applicant"]
    post_form(client, f"/s/{token}/verify", {"code": "000000"}, form_page=f"/s/{token}")
    assert "验证码错误或已过期" in client.get(f"/s/{token}").get_data(as_text=True)


def test_a_link_is_refused_for_another_person_logged_in(client, booked):
    login(client, booked["respondent_phone"], PASSWORD)
    with clock(NOW):
        page = client.get(f"/s/{booked['applicant']}")
    assert page.status_code == 403
    assert "发给另一个人" in page.get_data(as_text=True)
    with clock(NOW):  # their own link works, without a code: they are logged in
        own = client.get(f"/s/{booked['respondent']}").get_data(as_text=True)
    assert 'class="join" disabled' in own


def test_a_link_is_refused_after_the_session_is_over(client, booked):
    with clock(at(24, "10:00") + links.AFTER_END + timedelta(minutes=1)):
        page = client.get(f"/s/{booked['applicant']}")
    assert page.status_code == 410
    assert "已经结束" in page.get_data(as_text=True)


def test_a_link_is_refused_after_cancellation_with_the_reason(app, client, booked):
    with app.app_context():
        session = db.session.get(MediationSession, booked["session_id"])
        booking.cancel(session, by=session.mediator, reason="当事人已和解")
        db.session.commit()
    page = client.get(f"/s/{booked['applicant']}")
    assert page.status_code == 410
    text = page.get_data(as_text=True)
    assert "已取消" in text and "当事人已和解" in text


def test_a_forged_link_is_refused(client, booked):
    assert client.get("/s/not-a-token").status_code == 404
    token = booked["applicant"]
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert client.get(f"/s/{forged}").status_code == 404


def test_the_device_check_and_its_network_test_need_a_valid_link(client, booked):
    token = booked["applicant"]
    with clock(NOW):
        page = client.get(f"/s/{token}/check")
        assert page.status_code == 200
        assert "device-check.js" in page.get_data(as_text=True)
        assert client.get(f"/s/{token}/ping?bytes=1000").content_length == 1000
        too_big = client.post(
            f"/s/{token}/ping",
            data=b"0" * 1_000_001,
            headers={"X-CSRFToken": csrf_token(client, f"/s/{token}/check")},
        )
        assert too_big.status_code == 413
    assert client.get("/s/forged/ping?bytes=1000").status_code == 404


def test_links_sent_again_replace_the_earlier_ones(app, client, booked):
    with app.app_context():
        session = db.session.get(MediationSession, booked["session_id"])
        mediator_phone = session.mediator.phone
        db.session.remove()
    login(client, mediator_phone, PASSWORD)
    assert "重新发送链接" in client.get(booked["case_page"]).get_data(as_text=True)
    response = post_form(
        client, f"/sessions/{booked['session_id']}/resend", {}, form_page=booked["case_page"]
    )
    assert response.status_code == 302
    assert client.get(f"/s/{booked['applicant']}").status_code == 404  # replaced
    with app.app_context():
        newest = db.session.scalars(
            select(OutboxMessage.body)
            .where(OutboxMessage.recipient == booked["applicant_phone"])
            .order_by(OutboxMessage.id.desc())
        ).first()
    new_token = re.search(r"/s/(\S+)", newest).group(1)
    assert client.application.test_client().get(f"/s/{new_token}").status_code == 200


# -- whose link it is, decided before anything of the session is said --------------------


def _stranger(app) -> str:
    """Someone with an account and no part in the case: the phone they log in with."""
    with app.app_context():
        phone = make_user(real_name="路人").phone
        db.session.commit()
    return phone


def _cancel(app, session_id: int, reason: str) -> None:
    with app.app_context():
        session = db.session.get(MediationSession, session_id)
        booking.cancel(session, by=session.mediator, reason=reason, now=NOW)
        db.session.commit()


def test_a_cancelled_session_tells_a_stranger_nothing(app, client, booked):
    """Someone else logged in gets what every personal link answers them (the way out),
    not the session's time nor the mediator's reason; only the way out, which leads the
    link's own person on."""
    _cancel(app, booked["session_id"], "被申请人住院治疗")
    path = f"/s/{booked['applicant']}"
    login(client, _stranger(app), PASSWORD)
    page = client.get(path)
    text = page.get_data(as_text=True)
    assert page.status_code == 403
    assert "住院" not in text and "2026年11月24日" not in text and "已取消" not in text
    assert "发给另一个人" in text and 'value="switch"' in text
    # The same answer for a session still to come: the refusal does not tell them apart.
    live = client.get(f"/s/{booked['respondent']}")
    assert live.status_code == 403 and "2026年11月24日" not in live.get_data(as_text=True)
    # "Log out and go on": on this device the link is then the link's own, as for anyone.
    switched = post_form(client, path, {"action": "switch"})
    assert switched.status_code == 302 and switched.headers["Location"].endswith(path)
    after = client.get(path)
    assert after.status_code == 410 and "住院" in after.get_data(as_text=True)


def test_the_person_sees_the_cancelled_time_and_the_reason(client, booked, app):
    _cancel(app, booked["session_id"], "被申请人住院治疗")
    login(client, booked["applicant_phone"], PASSWORD)
    page = client.get(f"/s/{booked['applicant']}")
    text = page.get_data(as_text=True)
    assert page.status_code == 410
    assert "2026年11月24日" in text and "原因：被申请人住院治疗" in text


def test_an_ended_session_s_link_tells_a_stranger_nothing_either(app, client, booked):
    login(client, _stranger(app), PASSWORD)
    with clock(at(24, "10:00") + links.AFTER_END + timedelta(minutes=1)):
        page = client.get(f"/s/{booked['applicant']}")
    assert page.status_code == 403 and "已经结束" not in page.get_data(as_text=True)


# -- an offered time the parties did not choose ------------------------------------------


@pytest.fixture
def chosen_second(app):
    """Two times offered (24 and 25 November); both parties chose the second. The
    applicant's links to the first (which lost) and to the session fixed."""
    from mediation.booking import offers

    with app.app_context():
        case = make_mediating_case()
        add_weekly_hours(case.mediator)
        offered = offers.offer(
            case, by=case.mediator, starts=[at(24, "09:00"), at(25, "10:00")], now=NOW
        )
        applicant, respondent = case.party_users()
        for party in (applicant, respondent):
            fixed = offers.choose(party, offered[0], {offered[1].id}, now=NOW)
        assert fixed is offered[1]
        db.session.commit()

        def token_of(session):
            return links.token_for(next(p for p in session.participants if p.user == applicant))

        made = {
            "lost": token_of(offered[0]),
            "fixed": token_of(offered[1]),
            "applicant_phone": applicant.phone,
        }
        db.session.remove()
    return made


def test_the_person_at_a_time_that_lost_is_sent_to_the_session_fixed(client, chosen_second):
    login(client, chosen_second["applicant_phone"], PASSWORD)
    answer = client.get(f"/s/{chosen_second['lost']}")
    assert answer.status_code == 302
    assert answer.headers["Location"].endswith(f"/s/{chosen_second['fixed']}")
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "调解时间已定为2026年11月25日" in page and "10:00" in page
    assert "已取消" not in page


def test_my_sessions_lists_the_time_chosen_and_not_the_one_that_lost(client, chosen_second):
    """The parties chose the second of two times: "my sessions" shows that one, and the
    first is not listed as cancelled (nothing was cancelled for them)."""
    with time_machine.travel(NOW, tick=False):  # days before both times
        login(client, chosen_second["applicant_phone"], PASSWORD)
        page = client.get("/sessions/")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "2026年11月25日" in text
    assert "2026年11月24日" not in text and "已取消" not in text


def test_a_visitor_at_a_time_that_lost_is_told_the_time_fixed(client, chosen_second):
    """Not logged in: told plainly when the session is, and to use the newest message (the
    old link does not lead to the newest one, which may have been sent again since)."""
    page = client.get(f"/s/{chosen_second['lost']}")
    text = page.get_data(as_text=True)
    assert page.status_code == 410
    assert "调解时间已定为2026年11月25日" in text and "请使用最新短信中的链接" in text
    assert "已取消" not in text and chosen_second["fixed"] not in text


def test_a_stranger_at_a_time_that_lost_learns_nothing(app, client, chosen_second):
    login(client, _stranger(app), PASSWORD)
    page = client.get(f"/s/{chosen_second['lost']}")
    text = page.get_data(as_text=True)
    assert page.status_code == 403
    assert "2026年11月25日" not in text and chosen_second["fixed"] not in text
