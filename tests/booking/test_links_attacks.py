"""Sending a session's links again, attacked from outside: the form's number of the links
shown forged (stale, negative, huge, not a number, a digit that is no ASCII digit),
another mediator's session, a party's or a visitor's post, and hundreds of posts in a
row with production pacing: every answer a page, the texts to each number paced (one
waiting at a time, with the link that works), and the renewals themselves at most
LINK_RENEWALS_PER_HOUR an hour, so nothing grows per post. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import func, select

from mediation.accounts.models import CodePurpose, OneTimeCode
from mediation.booking import links
from mediation.booking.models import MediationSession
from mediation.booking.participants import LINK_RENEWALS_PER_HOUR
from mediation.extensions import db
from mediation.notify.models import OutboxMessage
from tests.booking.test_links_again import _form, _press, _renewals, booked
from tests.conftest import csrf_token, login
from tests.factories import PASSWORD, add_weekly_hours, make_mediating_case

__all__ = ["booked"]  # the fixture, used below

FORGED = ["0", "-1", "99999999999", "abc", "", "\u00b2", "\uff10", "1" * 10, " 1"]


def _phones(app, session_id) -> set[str]:
    with app.app_context():
        session = db.session.get(MediationSession, session_id)
        return {p.user.phone for p in session.participants if p.role != "mediator"}


def _to(app, phones) -> tuple[int, int]:
    """The newest message to ``phones`` in the outbox, and paced sends counted for them."""
    with app.app_context():
        texts = db.session.scalar(
            select(func.coalesce(func.max(OutboxMessage.id), 0)).where(
                OutboxMessage.recipient.in_(phones)
            )
        )
        slots = db.session.scalar(
            select(func.count(OneTimeCode.id)).where(
                OneTimeCode.sent_to.in_(phones), OneTimeCode.purpose == CodePurpose.session_links
            )
        )
        return texts, slots


def test_forged_numbers_and_hundreds_of_posts_stay_paced(app, booked, monkeypatch):
    monkeypatch.setitem(app.config, "CODE_INTERVAL_SECONDS", 60)
    monkeypatch.setitem(app.config, "CODE_LIMIT_PER_RECIPIENT_HOUR", 6)
    client = app.test_client()
    login(client, booked["mediator"], PASSWORD)
    phones = _phones(app, booked["session_id"])
    before = _to(app, phones)
    page = _form(client, booked)
    for n in range(60):
        data = {**page, "links": FORGED[n % len(FORGED)]} if n % 3 else _form(client, booked)
        response = _press(client, booked, data)
        assert response.status_code == 302, (n, data.get("links"), response.status_code)
    with app.app_context():
        texts = db.session.scalar(
            select(func.count(OutboxMessage.id)).where(
                OutboxMessage.recipient.in_(phones), OutboxMessage.id > before[0]
            )
        )
    slots = _to(app, phones)[1] - before[1]
    # One went at once to each number, one waits its turn with the newest link.
    assert texts <= 2 * len(phones), texts
    assert slots <= 2 * len(phones), slots
    with app.app_context():
        session = db.session.get(MediationSession, booked["session_id"])
        working = {links.url_for_participant(p) for p in session.participants}
        newest = db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.recipient.in_(phones))
            .order_by(OutboxMessage.id.desc()).limit(len(phones))
        ).all()  # fmt: skip
        assert all(any(link in m.body for link in working) for m in newest)
    # Renewing is held back after LINK_RENEWALS_PER_HOUR in an hour: before, every new
    # form renewed (and journaled), 30 times here.
    assert _renewals(app) == LINK_RENEWALS_PER_HOUR


def test_only_the_session_s_own_mediator_sends_its_links_again(app, booked):
    with app.app_context():
        other = make_mediating_case()
        add_weekly_hours(other.mediator)
        session = db.session.get(MediationSession, booked["session_id"])
        party = session.case.party_users()[0].phone
        db.session.commit()
        phones = {"other mediator": other.mediator.phone, "party": party}
    renewals = _renewals(app)
    for who, phone in phones.items():
        client = app.test_client()
        assert login(client, phone, PASSWORD).status_code == 302
        token = csrf_token(client, "/account")
        response = _press(client, booked, {"csrf_token": token, "links": "0"})
        assert response.status_code in (403, 404), (who, response.status_code)
    visitor = app.test_client()
    response = _press(visitor, booked, {"csrf_token": csrf_token(visitor, "/login"), "links": "0"})
    assert response.status_code in (302, 401, 403) and "/login" in response.headers.get(
        "Location", "/login"
    )
    assert _renewals(app) == renewals
