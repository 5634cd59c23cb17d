"""Personal join links: for one participant, until shortly after the end, never after a
cancellation; each refusal is a page that says why."""

from datetime import timedelta
from unittest import mock

import pytest

from mediation.booking import links
from mediation.booking import operations as booking
from mediation.core.db import utcnow
from mediation.extensions import db
from tests.booking.conftest import NOW, at
from tests.conftest import login
from tests.factories import PASSWORD, add_weekly_hours, make_mediating_case


@pytest.fixture
def booked(app):
    """A session next Tuesday; the tokens of the applicant and of the respondent. Made in
    an app context of its own, so that requests in the test do not share its state."""
    with app.app_context():
        case = make_mediating_case()
        add_weekly_hours(case.mediator)
        session = booking.book(case, by=case.mediator, start=at(24, "09:00"), now=NOW)
        db.session.commit()
        parts = {p.user_id: p for p in session.participants}
        applicant, respondent = case.party_users()
        made = {
            "session_id": session.id,
            "applicant": links.token_for(parts[applicant.id]),
            "respondent": links.token_for(parts[respondent.id]),
            "respondent_phone": respondent.phone,
        }
        db.session.remove()
    return made


def clock(moment):
    """Freeze the links' notion of now."""
    return mock.patch("mediation.booking.links.utcnow", return_value=moment)


def test_the_link_shows_the_session_to_its_participant_without_a_login(client, booked):
    with clock(NOW):
        page = client.get(f"/s/{booked['applicant']}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "2026年11月24日" in text and "加入调解" in text
    assert 'class="join" disabled' in text  # days before: the button is not active yet


def test_the_join_button_opens_shortly_before_the_start_and_lets_only_them_in(client, booked):
    with clock(at(24, "08:50")):
        page = client.get(f"/s/{booked['applicant']}")
        assert 'class="join" disabled' not in page.get_data(as_text=True)
        token = page.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
        entered = client.post(f"/s/{booked['applicant']}/enter", data={"csrf_token": token})
        assert entered.status_code == 302
        room = client.get(entered.headers["Location"])
    assert room.status_code == 200
    # Another browser without the pass is sent to log in; the pass is for this session only.
    other = client.application.test_client()
    with clock(at(24, "08:50")):
        assert other.get(f"/sessions/{booked['session_id']}/room").status_code == 302


def test_a_link_is_refused_for_another_person_logged_in(client, booked):
    login(client, booked["respondent_phone"], PASSWORD)
    with clock(NOW):
        page = client.get(f"/s/{booked['applicant']}")
    assert page.status_code == 403
    assert "发给另一个人" in page.get_data(as_text=True)
    with clock(NOW):  # their own link works
        assert client.get(f"/s/{booked['respondent']}").status_code == 200


def test_a_link_is_refused_after_the_session_is_over(client, booked):
    with clock(at(24, "10:00") + links.AFTER_END + timedelta(minutes=1)):
        page = client.get(f"/s/{booked['applicant']}")
    assert page.status_code == 410
    assert "已经结束" in page.get_data(as_text=True)


def test_a_link_is_refused_after_cancellation_with_the_reason(app, client, booked):
    with app.app_context():
        from mediation.booking.models import MediationSession

        session = db.session.get(MediationSession, booked["session_id"])
        booking.cancel(session, by=session.mediator, reason="当事人已和解")
        db.session.commit()
    page = client.get(f"/s/{booked['applicant']}")
    assert page.status_code == 410
    text = page.get_data(as_text=True)
    assert "已取消" in text and "当事人已和解" in text


def test_a_forged_or_replaced_link_is_refused(app, client, booked):
    assert client.get("/s/not-a-token").status_code == 404
    token = booked["applicant"]
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert client.get(f"/s/{forged}").status_code == 404
    with app.app_context():  # a new link replaces the old one
        from mediation.booking.models import SessionParticipant

        participant = db.session.get(SessionParticipant, links._serializer().loads(token)[0])
        participant.link_nonce = "renewed"
        db.session.commit()
    assert client.get(f"/s/{token}").status_code == 404


def test_the_device_check_is_reachable_from_the_link_before_the_day(client, booked):
    with clock(NOW):
        page = client.get(f"/s/{booked['applicant']}/check")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "device-check.js" in text and "摄像头" in text
    assert client.get("/booking/ping?bytes=1000").content_length == 1000


def test_utcnow_is_the_default_clock():
    # The fixtures above freeze time; in use the links read the real clock.
    assert links.utcnow is utcnow
