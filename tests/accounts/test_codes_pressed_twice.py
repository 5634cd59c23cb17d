"""A button that sends a code pressed twice, with production pacing (one code a minute per
number): registration's "get code", a link's "send code", a login on an unproven number.
The second request leaves before the first answer arrives, so it carries the cookie the
page had. It used to be told, styled as an error, to wait a minute, although the code it
needed had just been sent; now it goes on as the first did, and one text goes out."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from mediation.cases import invitations
from mediation.extensions import db
from mediation.notify.models import OutboxMessage
from tests.conftest import at_once, code_sent_to, csrf_token
from tests.factories import PASSWORD, make_case, make_user, valid_id_number

PHONE = "+8613912345678"
SENT = "已向+86 139****5678发送短信。"
CODE_SENT = "验证码已发送至+86 139****5678。"
WAIT = "秒后可再次获取"
ACCOUNT = {
    "real_name": "王小明",
    "id_number": valid_id_number(7),
    "email": "",
    "password": "a long password",
}


@pytest.fixture(autouse=True)
def paced(app):
    app.config.update(CODE_INTERVAL_SECONDS=60)
    yield
    app.config.update(CODE_INTERVAL_SECONDS=0)


def second_tap(app, browser):
    """A client with ``browser``'s cookies as they are now: the request of a second tap,
    sent before the answer to the first arrived."""
    tap = app.test_client()
    for (domain, path, name), cookie in browser._cookies.items():
        tap.set_cookie(name, cookie.value, domain=domain, path=path)
    return tap


def texts_to(app, recipient: str) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.recipient == recipient)
        )


def shown(client, response) -> str:
    """The page the answer leads to, with its messages."""
    assert response.status_code in (302, 303), response.status_code
    return client.get(response.location).get_data(as_text=True)


def flash_of(page: str, text: str) -> str:
    found = re.search(r'class="flash flash-(\w+)"[^>]*>' + re.escape(text), page)
    assert found, f"{text!r} is not shown"
    return found.group(1)


def finish(app, client):
    form = {**ACCOUNT, "code": code_sent_to(app, PHONE)}
    return client.post(
        "/register/confirm", data={**form, "csrf_token": csrf_token(client, "/register/confirm")}
    )


# -- registration ---------------------------------------------------------------------------


def test_get_code_pressed_twice_goes_on_to_the_code_with_one_text(app):
    browser = app.test_client()
    form = {"phone": "13912345678", "csrf_token": csrf_token(browser, "/register")}
    tap = second_tap(app, browser)
    first = browser.post("/register", data=form)
    second = tap.post("/register", data=form)
    for answer, client in ((first, browser), (second, tap)):
        assert answer.status_code == 302 and answer.location.endswith("/register/confirm")
        page = shown(client, answer)
        assert flash_of(page, SENT) == "info" and WAIT not in page
    # Once more, with the first answer's cookie (it came back before the second tap).
    third = browser.post("/register", data=form)
    assert flash_of(shown(browser, third), SENT) == "info"
    assert texts_to(app, PHONE) == 1
    # The code works in the browser, whichever answer it kept.
    assert finish(app, tap).status_code == 302
    assert client_is_logged_in(tap)


def client_is_logged_in(client) -> bool:
    return client.get("/account").status_code == 200


def test_get_code_pressed_twice_at_the_same_instant_sends_one_text(app):
    browser = app.test_client()
    form = {"phone": "13912345678", "csrf_token": csrf_token(browser, "/register")}
    taps = [browser, second_tap(app, browser)]
    answers = at_once(*(lambda c=c: c.post("/register", data=form) for c in taps))
    assert [a.status_code for a in answers] == [302, 302], answers
    assert all(a.location.endswith("/register/confirm") for a in answers)
    assert texts_to(app, PHONE) == 1
    assert finish(app, taps[1]).status_code == 302


def test_a_number_with_an_account_is_answered_the_same_twice(app):
    """The owner gets one note, and the second tap the same words as the first: nothing
    tells that the number has an account."""
    with app.app_context():
        make_user(phone="13912345678")
        db.session.commit()
    browser = app.test_client()
    form = {"phone": "13912345678", "csrf_token": csrf_token(browser, "/register")}
    taps = [browser, second_tap(app, browser)]
    answers = at_once(*(lambda c=c: c.post("/register", data=form) for c in taps))
    assert [a.status_code for a in answers] == [302, 302], answers
    for answer, client in zip(answers, taps, strict=True):
        assert flash_of(shown(client, answer), SENT) == "info"
    again = browser.post("/register", data=form)
    assert flash_of(shown(browser, again), SENT) == "info"
    assert texts_to(app, PHONE) == 1


def test_another_browser_asking_in_the_same_minute_is_still_told_to_wait(app):
    browser = app.test_client()
    form = {"phone": "13912345678", "csrf_token": csrf_token(browser, "/register")}
    assert browser.post("/register", data=form).status_code == 302
    other = app.test_client()
    refused = other.post(
        "/register", data={"phone": "13912345678", "csrf_token": csrf_token(other, "/register")}
    )
    assert refused.status_code == 200 and WAIT in refused.get_data(as_text=True)
    assert texts_to(app, PHONE) == 1


# -- codes to log in by: a case's invitation, a session's link, an unproven number ----------


def test_send_code_on_an_invitation_pressed_twice_sends_one_code(app):
    with app.app_context():
        applicant, respondent = make_user(), make_user(phone="13912345678", password=None)
        case = make_case(applicant, respondent)
        token = invitations.create_invitation(respondent, case.id)
        db.session.commit()
    browser = app.test_client()
    data = {"csrf_token": csrf_token(browser, f"/join/{token}")}
    taps = [browser, second_tap(app, browser)]
    answers = at_once(*(lambda c=c: c.post(f"/join/{token}/code", data=data) for c in taps))
    for answer, client in zip(answers, taps, strict=True):
        assert answer.location.endswith(f"/join/{token}")
        page = shown(client, answer)
        assert flash_of(page, CODE_SENT) == "info" and WAIT not in page
    again = browser.post(f"/join/{token}/code", data=data)
    assert flash_of(shown(browser, again), CODE_SENT) == "info"
    assert texts_to(app, PHONE) == 1


def test_send_code_on_a_session_link_pressed_twice_sends_one_code(app):
    from mediation.booking import links
    from mediation.booking import operations as booking
    from tests.booking.conftest import ahead
    from tests.factories import add_weekly_hours, make_mediating_case

    with app.app_context():
        case = make_mediating_case()
        add_weekly_hours(case.mediator)
        session = booking.book(case, by=case.mediator, start=ahead(1, "10:00"))
        applicant, _respondent = case.party_users()
        applicant.password_hash = None  # enters by the code only
        part = next(p for p in session.participants if p.user_id == applicant.id)
        token, phone = links.token_for(part), applicant.phone
        db.session.commit()
    browser = app.test_client()
    data = {"csrf_token": csrf_token(browser, f"/s/{token}")}
    before = texts_to(app, phone)
    tap = second_tap(app, browser)
    first = browser.post(f"/s/{token}/code", data=data)
    again = tap.post(f"/s/{token}/code", data=data)
    masked = re.search(r"验证码已发送至([^。]+)。", shown(browser, first)).group(1)
    assert flash_of(shown(tap, again), f"验证码已发送至{masked}。") == "info"
    assert texts_to(app, phone) - before == 1


def test_log_in_pressed_twice_on_an_unproven_number_asks_for_one_code(app):
    with app.app_context():
        make_user(phone="13912345678", verified=False)
        db.session.commit()
    browser = app.test_client()
    form = {"identifier": PHONE, "password": PASSWORD, "csrf_token": csrf_token(browser, "/login")}
    taps = [browser, second_tap(app, browser)]
    answers = at_once(*(lambda c=c: c.post("/login", data=form) for c in taps))
    for answer, client in zip(answers, taps, strict=True):
        assert answer.location.endswith("/login/verify")
        assert WAIT not in shown(client, answer)
    assert texts_to(app, PHONE) == 1
