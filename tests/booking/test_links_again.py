"""Sending a session's links again (重新发送链接): the same form sent twice (a double tap, a
retried POST, two tabs of the same page) is one request; a press on the page shown after
it is another, however soon, because a link gone to the wrong hands must stop working at
once. The messages to one number stay paced, as codes are."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine

from mediation.booking import links, repeats
from mediation.booking import operations as booking
from mediation.booking.models import MediationSession
from mediation.core.db import utcnow
from mediation.extensions import db
from mediation.journal.models import JournalEntry
from mediation.notify.models import OutboxMessage
from tests.booking.conftest import ahead
from tests.conftest import at_once, login
from tests.factories import PASSWORD, add_weekly_hours, make_mediating_case

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_LINKS = re.compile(r'name="links" value="([^"]*)"')


@pytest.fixture
def booked(app):
    with app.app_context():
        case = make_mediating_case()
        add_weekly_hours(case.mediator)
        session = booking.book(case, by=case.mediator, start=ahead(1, "10:00"))
        db.session.commit()
        return {"case_id": case.id, "session_id": session.id, "mediator": case.mediator.phone}


def _form(client, booked) -> dict:
    """What the case page's "send the links again" form of the session sends now."""
    page = client.get(f"/cases/{booked['case_id']}").get_data(as_text=True)
    at = page.index(f"/sessions/{booked['session_id']}/resend")
    form = page[at : page.index("</form>", at)]
    data = {"csrf_token": _CSRF.search(form).group(1)}
    shown = _LINKS.search(form)
    if shown is not None:
        data["links"] = shown.group(1)
    return data


def _press(client, booked, data):
    return client.post(f"/sessions/{booked['session_id']}/resend", data=data)


def _flashed(client, response) -> str:
    assert response.status_code == 302, response.status_code
    return client.get(response.location, follow_redirects=True).get_data(as_text=True)


def _sent_links(app, session_id: int) -> list[str]:
    """The join links of everyone but the mediator, as they work now."""
    with app.app_context():
        session = db.session.get(MediationSession, session_id)
        return [links.token_for(p) for p in session.participants if p.role != "mediator"]


def _outbox(app) -> int:
    with app.app_context():
        return db.session.query(OutboxMessage).count()


def _renewals(app) -> int:
    with app.app_context():
        return db.session.query(JournalEntry).filter_by(action="session.links_renewed").count()


def test_a_leaked_link_renewed_half_a_minute_after_a_send_stops_working(app, booked):
    """The mediator sent the links again, then learnt a minute later that one went to the
    wrong hands: the second press (from the page shown after the first) used to be taken
    for a repeat, and the leaked link kept working."""
    client = app.test_client()
    login(client, booked["mediator"], PASSWORD)
    assert "已发送新链接" in _flashed(client, _press(client, booked, _form(client, booked)))
    leaked = _sent_links(app, booked["session_id"])
    with time_machine.travel(utcnow() + timedelta(seconds=30)):
        before = _outbox(app)
        again = _press(client, booked, _form(client, booked))
        assert "已发送新链接" in _flashed(client, again)
    with app.app_context():
        assert all(links.check(t, None).refusal == links.Refusal.invalid for t in leaked)
        assert all(
            links.check(t, None).refusal is None for t in _sent_links(app, booked["session_id"])
        )
    assert _renewals(app) == 2
    assert _outbox(app) > before  # everyone got their new link


def test_a_double_tap_on_send_the_links_again_sends_once(app, booked):
    """Both taps carry the same form: the second is answered as the first, and nothing is
    renewed or sent again (its links are the ones the first tap sent)."""
    client = app.test_client()
    login(client, booked["mediator"], PASSWORD)
    data = _form(client, booked)
    before = _outbox(app)
    assert "已发送新链接" in _flashed(client, _press(client, booked, data))
    sent, working = _outbox(app), _sent_links(app, booked["session_id"])
    assert sent > before
    assert "已发送新链接" in _flashed(client, _press(client, booked, data))
    assert _outbox(app) == sent  # no second text message
    assert _sent_links(app, booked["session_id"]) == working  # the first links still work
    assert _renewals(app) == 1


def test_two_tabs_of_the_same_page_at_once_send_once(app, booked):
    clients = [app.test_client(), app.test_client()]
    for client in clients:
        login(client, booked["mediator"], PASSWORD)
    forms = [_form(c, booked) for c in clients]
    before = _outbox(app)
    answers = at_once(
        *(lambda c=c, f=f: _press(c, booked, f) for c, f in zip(clients, forms, strict=True))
    )
    assert [a.status_code for a in answers] == [302, 302], answers
    assert _renewals(app) == 1
    assert _outbox(app) - before == len(_sent_links(app, booked["session_id"]))  # one each


def test_the_same_form_again_after_the_window_is_a_new_request(app, booked):
    """A retried POST comes within the window; the same page pressed again later is meant."""
    with app.app_context():
        session = db.session.get(MediationSession, booked["session_id"])
        shown = repeats.links_shown(session)
        booking.resend_links(session, by=session.case.mediator, shown=shown)
        db.session.commit()
        later = utcnow() + repeats.REPEAT_WINDOW + timedelta(seconds=1)
        booking.resend_links(session, by=session.case.mediator, shown=shown, now=later)
        db.session.commit()
    assert _renewals(app) == 2


def test_links_sent_again_and_again_are_paced_per_number(app, booked, monkeypatch):
    """Renewing is never held back, but the messages to one number are paced as codes
    are: a message that may not go yet waits, and the next renewal takes the place of
    the one still waiting (whose link died), so a party's phone gets one message a minute
    at most, with the link that works."""
    monkeypatch.setitem(app.config, "CODE_INTERVAL_SECONDS", 60)
    start = (utcnow() + timedelta(seconds=1)).replace(microsecond=0)  # after the booking
    with app.app_context():
        session = db.session.get(MediationSession, booked["session_id"])
        mediator = session.case.mediator
        others = [p for p in session.participants if p.role != "mediator"]
        phones = {p.user.phone for p in others}

        def press(seconds: int):
            shown = repeats.links_shown(session)
            at = start + timedelta(seconds=seconds)
            waits = booking.resend_links(session, by=mediator, shown=shown, now=at)
            db.session.commit()
            return waits

        def waiting() -> list[OutboxMessage]:
            return (
                db.session.query(OutboxMessage)
                .filter(
                    OutboxMessage.recipient.in_(phones),
                    OutboxMessage.next_attempt_at > start + timedelta(seconds=1),
                )
                .all()
            )

        assert press(0) is None  # the first goes at once
        assert waiting() == []
        assert press(30) == start + timedelta(seconds=60)  # renewed; the texts wait their turn
        assert len(waiting()) == len(phones)
        assert press(45) == start + timedelta(seconds=60)  # the waiting texts are replaced
        held = waiting()
        assert len(held) == len(phones)
        now_links = {links.url_for_participant(p) for p in others}
        assert all(any(link in m.body for link in now_links) for m in held)
        assert {m.next_attempt_at for m in held} == {start + timedelta(seconds=60)}


def test_the_mediator_is_told_when_paced_messages_go(app, booked, monkeypatch):
    monkeypatch.setitem(app.config, "CODE_INTERVAL_SECONDS", 60)
    client = app.test_client()
    login(client, booked["mediator"], PASSWORD)
    _press(client, booked, _form(client, booked))
    page = _flashed(client, _press(client, booked, _form(client, booked)))
    assert "已生成新链接，之前的链接不再有效。部分参与人刚刚收到过消息" in page
    assert _renewals(app) == 2


def test_links_are_renewed_at_most_five_times_an_hour(app, booked, monkeypatch):
    """Each renewal texts every party and journals: a form posted in a loop (each time
    from the page it leads to, so never a repeat) stops renewing after five in an hour,
    with a message in Chinese and the links left as they were; an hour later it renews."""
    monkeypatch.setitem(app.config, "CODE_INTERVAL_SECONDS", 0)  # texts not held back here
    client = app.test_client()
    login(client, booked["mediator"], PASSWORD)
    start = utcnow()
    for n in range(5):
        with time_machine.travel(start + timedelta(minutes=3 * n), tick=False):
            assert "已发送新链接" in _flashed(client, _press(client, booked, _form(client, booked)))
    assert _renewals(app) == 5
    kept, texts = _sent_links(app, booked["session_id"]), _outbox(app)
    with time_machine.travel(start + timedelta(minutes=20), tick=False):
        shown = _flashed(client, _press(client, booked, _form(client, booked)))
    assert "本场调解的链接在过去一小时内已更换5次" in shown
    assert _renewals(app) == 5 and _outbox(app) == texts
    assert _sent_links(app, booked["session_id"]) == kept
    with time_machine.travel(start + timedelta(minutes=61), tick=False):
        assert "已发送新链接" in _flashed(client, _press(client, booked, _form(client, booked)))
    assert _renewals(app) == 6 and _sent_links(app, booked["session_id"]) != kept
