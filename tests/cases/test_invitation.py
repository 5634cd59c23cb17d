"""A party enters a case through an invitation link and a code sent to their phone."""

import re
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from sqlalchemy import select

from mediation.cases import invitations as cases
from mediation.cases.models import Invitation
from mediation.core.db import utcnow
from mediation.extensions import db
from mediation.notify.models import OutboxMessage
from tests.conftest import csrf_token, post_form
from tests.factories import make_case, make_user


def invite(app):
    with app.app_context():
        applicant = make_user()
        respondent = make_user(password=None)  # this party never chooses a password
        case = make_case(applicant, respondent)
        other_case = make_case(applicant, make_user())
        token = cases.create_invitation(respondent, case.id)
        db.session.commit()
        return token, case.id, other_case.id, respondent.phone


def sent_code(app, phone: str) -> str:
    with app.app_context():
        message = db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.recipient == phone)
            .order_by(OutboxMessage.id.desc())
        ).first()
        assert message.channel == "sms"
        return re.search(r"\d{6}", message.body).group()


def test_invitation_and_phone_code_open_the_case(app, client):
    token, case_id, other_case_id, phone = invite(app)
    page = client.get(f"/join/{token}").get_data(as_text=True)
    assert "+86 139****" in page  # the phone, masked
    client.post(f"/join/{token}/code", data={"csrf_token": csrf_token(client, f"/join/{token}")})
    code = sent_code(app, phone)

    response = client.post(
        f"/join/{token}", data={"csrf_token": csrf_token(client, f"/join/{token}"), "code": code}
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/cases/{case_id}")
    assert client.get(f"/cases/{case_id}").status_code == 200
    assert client.get(f"/cases/{other_case_id}").status_code == 404
    entries = client.get(f"/cases/{case_id}/journal.json").json["entries"]
    assert entries[-1]["action"] == "party.entered"
    assert entries[-1]["payload"]["via"] == "invitation"


def test_wrong_code_does_not_enter(app, client):
    token, case_id, _, phone = invite(app)
    client.post(f"/join/{token}/code", data={"csrf_token": csrf_token(client, f"/join/{token}")})
    code = sent_code(app, phone)
    wrong = "000000" if code != "000000" else "111111"
    response = client.post(
        f"/join/{token}", data={"csrf_token": csrf_token(client, f"/join/{token}"), "code": wrong}
    )
    assert "验证码错误或已过期" in response.get_data(as_text=True)
    assert client.get(f"/cases/{case_id}").status_code == 302


def test_unknown_links_lead_nowhere_and_expired_ones_say_so(app, client):
    token, *_ = invite(app)
    assert client.get("/join/not-a-token").status_code == 404
    with app.app_context():
        invitation = db.session.scalar(select(Invitation))
        invitation.expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    assert client.get(f"/join/{token}").status_code == 410


def test_invitations_are_only_for_the_parties_of_the_case(app_ctx):
    from mediation.accounts.models import Role

    applicant, respondent = make_user(), make_user()
    case = make_case(applicant, respondent)
    with pytest.raises(ValueError):
        cases.create_invitation(make_user(), case.id)  # not a party of this case
    # A party who is also staff logs in with a password, never by a code alone.
    staff = make_user(Role.party, Role.mediator)
    staff_case = make_case(applicant, staff)
    with pytest.raises(ValueError):
        cases.create_invitation(staff, staff_case.id)
    assert cases.create_invitation(respondent, case.id)


def test_a_code_asked_again_too_soon_returns_to_the_page_that_asked(app, client):
    """Issue #15 item 8: "send code" pressed again 20 seconds later on the invitation page
    (a POST-only address) comes back to that page saying when, not to a 405 or a bare 429.
    (Pressed twice at once, it is the same request: tests/accounts/test_codes_pressed_twice.)"""
    token, _case_id, _, _phone = invite(app)
    app.config.update(CODE_INTERVAL_SECONDS=60)
    now = [utcnow()]
    try:
        page = f"http://{app.config['SERVER_NAME']}/join/{token}"  # where the button was
        for _ in range(2):
            with mock.patch("mediation.accounts.codes.utcnow", side_effect=lambda: now[0]):
                response = client.post(
                    f"/join/{token}/code",
                    data={"csrf_token": csrf_token(client, f"/join/{token}")},
                    headers={"Referer": page},
                )
            now[0] += timedelta(seconds=20)
        assert response.status_code == 303
        assert response.headers["Location"].endswith(f"/join/{token}")
        assert "秒后可再次获取" in client.get(f"/join/{token}").get_data(as_text=True)
    finally:
        app.config.update(CODE_INTERVAL_SECONDS=0)


def test_an_expired_invitation_says_so_and_shows_nothing_of_the_case(app, client):
    """Opened days later than INVITATION_TTL_DAYS: 410 saying what to do, not "page not
    found"; a token the platform never issued is still not found. The clock is frozen: the
    invitation is sent at a fixed instant and opened just before and just after its end."""
    sent = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    with app.app_context():
        respondent = make_user(password=None)
        case = make_case(make_user(), respondent)
        token = cases.create_invitation(respondent, case.id, now=sent)
        number, name = case.number, respondent.real_name
        db.session.commit()
    days = app.config["INVITATION_TTL_DAYS"]
    end = sent + timedelta(days=days)
    with mock.patch("mediation.cases.invitations.utcnow", return_value=end - timedelta(minutes=1)):
        assert client.get(f"/join/{token}").status_code == 200
    with mock.patch("mediation.cases.invitations.utcnow", return_value=end + timedelta(minutes=1)):
        page = client.get(f"/join/{token}")
        text = page.get_data(as_text=True)
        assert page.status_code == 410
        assert (
            f"此链接已过期（有效期{days}天）。请使用最新短信中的链接，或者联系调解员重新发送。"
            in text
        )
        assert number not in text and name not in text and "+86 139****" not in text
        # Nor may a code be sent from it.
        asked = post_form(client, f"/join/{token}/code", {}, form_page="/login")
        assert asked.status_code == 410
        assert client.get("/join/never-issued").status_code == 404
