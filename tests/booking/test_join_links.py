"""Personal join links: for one participant, who proves it is them (logged in, or by the
code sent to their phone); until shortly after the end; never after a cancellation. Each
refusal is a page that says why."""

from __future__ import annotations

import re
from datetime import timedelta
from unittest import mock

import pytest
from sqlalchemy import select

from mediation.booking import links
from mediation.booking import operations as booking
from mediation.booking.models import MediationSession
from mediation.extensions import db
from mediation.notify.models import OutboxMessage
from tests.booking.conftest import NOW, at
from tests.conftest import csrf_token, login, post_form
from tests.factories import PASSWORD, add_weekly_hours, make_mediating_case


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
