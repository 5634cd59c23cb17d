"""The mediator's booking buttons pressed twice (a double tap, a phone resending the POST,
two tabs): "book", "start now", "cancel" and "move" act once, send each text once, and the
second press is answered as the first was. A booking that really collides with the time
just taken (another case, or the same one later on) is still refused, and a move to
another time is still made."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from mediation.booking import operations as booking
from mediation.booking.models import MediationSession
from mediation.booking.repeats import REPEAT_WINDOW
from mediation.core.db import utcnow
from mediation.extensions import db
from mediation.journal.models import JournalEntry
from mediation.notify.models import OutboxMessage
from tests.booking.conftest import ahead
from tests.conftest import at_once, csrf_token, login
from tests.factories import PASSWORD, add_weekly_hours, make_mediating_case

BOOKED = "调解已预约，已通知所有参加人员。"
OFFERED = "已提供可选时间，各方当事人选择后即确定。"
TAKEN = "该时间刚刚被占用，请另选时间。"
CANCELLED = "调解已取消，已通知所有人。"
STARTED = "调解已开始，已向当事人发送参加链接。"
MOVED = "调解已改期，已通知所有人。"


@pytest.fixture
def world(app):
    """A case in mediation, and another case of the same mediator (other parties)."""
    with app.app_context():
        case = make_mediating_case()
        add_weekly_hours(case.mediator)
        other = make_mediating_case(case.mediator)
        made = {"case_id": case.id, "other_id": other.id, "mediator": case.mediator.phone}
        db.session.commit()
    return made


def _tabs(app, world, page: str, n: int = 2):
    """``n`` tabs of the mediator with ``page`` open: (client, its form's token)."""
    tabs = []
    for _ in range(n):
        client = app.test_client()
        login(client, world["mediator"], PASSWORD)
        tabs.append((client, csrf_token(client, page)))
    return tabs


def _shown(client, response) -> str:
    """The page a redirect leads to, with its messages, as the person sees it."""
    assert response.status_code == 302, response.status_code
    return client.get(response.location, follow_redirects=True).get_data(as_text=True)


def _flash(page: str, text: str) -> str:
    """The category of the message ``text`` on ``page`` (success, info, error)."""
    found = re.search(r'class="flash flash-(\w+)"[^>]*>' + re.escape(text), page)
    assert found, f"{text!r} is not shown"
    return found.group(1)


def _texts(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(OutboxMessage))


def _sessions(app, case_id: int) -> list[tuple[str, str]]:
    with app.app_context():
        rows = db.session.execute(
            select(MediationSession.status, MediationSession.start_at)
            .where(MediationSession.case_id == case_id)
            .order_by(MediationSession.id)
        ).all()
    return [(status, start.isoformat()) for status, start in rows]


def _journaled(app, action: str) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count()).select_from(JournalEntry).where(JournalEntry.action == action)
        )


# -- book ----------------------------------------------------------------------------------


def test_book_pressed_twice_books_once_and_says_booked_both_times(app, world):
    """The second press was answered 422 "this time has just been taken" (by the session
    the first press had just booked); now it says the session is booked, as the first did."""
    page = f"/cases/{world['case_id']}/sessions/new"
    [(client, token)] = _tabs(app, world, page, 1)
    form = {"times": ahead(2, "10:00").isoformat(), "note": "请带好证据原件", "csrf_token": token}
    first = client.post(page, data=form)
    assert _flash(_shown(client, first), BOOKED) == "success"
    sent = _texts(app)
    again = client.post(page, data=form)
    assert again.location == first.location
    assert _flash(_shown(client, again), BOOKED) == "success"
    assert _sessions(app, world["case_id"]) == [("scheduled", ahead(2, "10:00").isoformat())]
    assert _texts(app) == sent  # one set of invitations
    assert _journaled(app, "session.booked") == 1


def test_book_pressed_in_two_tabs_at_once_books_once(app, world):
    page = f"/cases/{world['case_id']}/sessions/new"
    time = ahead(2, "10:00").isoformat()
    before = _texts(app)
    answers = at_once(
        *(
            lambda c=c, t=t: c.post(page, data={"times": time, "csrf_token": t})
            for c, t in _tabs(app, world, page)
        )
    )
    assert [a.status_code for a in answers] == [302, 302], answers
    assert _sessions(app, world["case_id"]) == [("scheduled", time)]
    assert _journaled(app, "session.booked") == 1
    with app.app_context():
        invited = len(db.session.scalars(select(MediationSession)).one().participants)
    texts = _texts(app) - before
    assert 0 < texts <= invited  # each participant invited once (not twice)


def test_offered_times_sent_twice_are_offered_once(app, world):
    page = f"/cases/{world['case_id']}/sessions/new"
    [(client, token)] = _tabs(app, world, page, 1)
    times = [ahead(2, "10:00").isoformat(), ahead(3, "10:00").isoformat()]
    form = {"times": times, "csrf_token": token}
    assert _flash(_shown(client, client.post(page, data=form)), OFFERED) == "success"
    sent = _texts(app)
    assert _flash(_shown(client, client.post(page, data=form)), OFFERED) == "success"
    assert _sessions(app, world["case_id"]) == [("offered", t) for t in times]
    assert _texts(app) == sent


def test_a_booking_that_really_collides_is_still_refused(app, world):
    """Another case of the mediator at the time just booked, the same case at that time
    with another note (not the same form), or the same form long after: refused as
    before, nothing booked, nothing sent."""
    page = f"/cases/{world['case_id']}/sessions/new"
    [(client, token)] = _tabs(app, world, page, 1)
    time = ahead(2, "10:00").isoformat()
    assert client.post(page, data={"times": time, "csrf_token": token}).status_code == 302
    sent = _texts(app)
    other_page = f"/cases/{world['other_id']}/sessions/new"
    other = client.post(other_page, data={"times": time, "csrf_token": token})
    assert other.status_code == 422 and TAKEN in other.get_data(as_text=True)
    changed = client.post(page, data={"times": time, "note": "改了", "csrf_token": token})
    assert changed.status_code == 422 and TAKEN in changed.get_data(as_text=True)
    with time_machine.travel(utcnow() + REPEAT_WINDOW + timedelta(seconds=5)):
        later = client.post(page, data={"times": time, "csrf_token": token})
    assert later.status_code == 422 and TAKEN in later.get_data(as_text=True)
    assert _sessions(app, world["other_id"]) == []
    assert _sessions(app, world["case_id"]) == [("scheduled", time)]
    assert _texts(app) == sent


# -- cancel --------------------------------------------------------------------------------


def _booked(app, world) -> int:
    with app.app_context():
        from mediation.cases.models import Case

        case = db.session.get(Case, world["case_id"])
        session = booking.book(case, by=case.mediator, start=ahead(1, "10:00"))
        db.session.commit()
        return session.id


def test_cancel_pressed_twice_says_cancelled_both_times(app, world):
    """The second press said, styled as an error, "this session is already cancelled"
    although the first had just cancelled it."""
    session_id = _booked(app, world)
    [(client, token)] = _tabs(app, world, f"/cases/{world['case_id']}", 1)
    path, form = f"/sessions/{session_id}/cancel", {"reason": "当事人住院", "csrf_token": token}
    first = client.post(path, data=form)
    assert _flash(_shown(client, first), CANCELLED) == "success"
    sent = _texts(app)
    again = client.post(path, data=form)
    assert again.location == first.location
    assert _flash(_shown(client, again), CANCELLED) == "success"
    assert _texts(app) == sent and _journaled(app, "session.cancelled") == 1


def test_cancel_pressed_in_two_tabs_at_once_cancels_once(app, world):
    session_id = _booked(app, world)
    path = f"/sessions/{session_id}/cancel"
    tabs = _tabs(app, world, f"/cases/{world['case_id']}")
    answers = at_once(
        *(
            lambda c=c, t=t: c.post(path, data={"reason": "当事人住院", "csrf_token": t})
            for c, t in tabs
        )
    )
    assert [a.status_code for a in answers] == [302, 302], answers
    for (client, _token), answer in zip(tabs, answers, strict=True):
        assert _flash(_shown(client, answer), CANCELLED) == "success"
    assert _journaled(app, "session.cancelled") == 1


def test_a_session_cancelled_otherwise_still_says_so(app, world):
    """Cancelled for another reason (or long ago): the press is not the same request, and
    the mediator is told the session was already cancelled, as before."""
    session_id = _booked(app, world)
    [(client, token)] = _tabs(app, world, f"/cases/{world['case_id']}", 1)
    path = f"/sessions/{session_id}/cancel"
    client.post(path, data={"reason": "当事人住院", "csrf_token": token})
    other = client.post(path, data={"reason": "调解员出差", "csrf_token": token})
    assert _flash(_shown(client, other), "该调解已取消。") == "error"
    with time_machine.travel(utcnow() + REPEAT_WINDOW + timedelta(seconds=5)):
        later = client.post(path, data={"reason": "当事人住院", "csrf_token": token})
        assert _flash(_shown(client, later), "该调解已取消。") == "error"


# -- start now -----------------------------------------------------------------------------


def test_start_now_pressed_twice_starts_once_and_both_land_in_the_room(app, world):
    """The second press said, styled as an error, "a session of this case is open now"
    and stayed on the case page; now it goes to the same room, as the first did."""
    case_page = f"/cases/{world['case_id']}"
    [(client, token)] = _tabs(app, world, case_page, 1)
    path, form = f"{case_page}/sessions/now", {"parties_agreed": "y", "csrf_token": token}
    first = client.post(path, data=form)
    assert re.fullmatch(r"/sessions/\d+/room", first.location), first.location
    assert _flash(_shown(client, first), STARTED) == "success"
    sent = _texts(app)
    again = client.post(path, data=form)
    assert again.location == first.location
    assert _flash(_shown(client, again), STARTED) == "success"
    assert len(_sessions(app, world["case_id"])) == 1
    assert _texts(app) == sent and _journaled(app, "session.started_now") == 1


def test_start_now_pressed_in_two_tabs_at_once_starts_once(app, world):
    case_page = f"/cases/{world['case_id']}"
    path = f"{case_page}/sessions/now"
    answers = at_once(
        *(
            lambda c=c, t=t: c.post(path, data={"parties_agreed": "y", "csrf_token": t})
            for c, t in _tabs(app, world, case_page)
        )
    )
    assert [a.status_code for a in answers] == [302, 302], answers
    assert answers[0].location == answers[1].location
    assert re.fullmatch(r"/sessions/\d+/room", answers[0].location)
    assert len(_sessions(app, world["case_id"])) == 1
    assert _journaled(app, "session.started_now") == 1


def test_start_now_with_a_session_open_for_a_while_still_says_so(app, world):
    """Started some minutes ago (not the same press): the mediator is told to enter the
    room, as before."""
    case_page = f"/cases/{world['case_id']}"
    [(client, token)] = _tabs(app, world, case_page, 1)
    path, form = f"{case_page}/sessions/now", {"parties_agreed": "y", "csrf_token": token}
    client.post(path, data=form)
    with time_machine.travel(utcnow() + REPEAT_WINDOW + timedelta(seconds=5)):
        later = client.post(path, data=form)
        assert later.location == case_page
        assert _flash(_shown(client, later), "本案已有正在进行的调解，请进入调解室。") == "error"
    assert len(_sessions(app, world["case_id"])) == 1
    assert _journaled(app, "session.started_now") == 1


# -- move ----------------------------------------------------------------------------------


def _move(client, session_id: int, token: str, start, reason: str = "调解员临时出差"):
    form = {"start": start.isoformat(), "reason": reason, "csrf_token": token}
    return client.post(f"/sessions/{session_id}/reschedule", data=form)


def _moved_to(app, session_id: int) -> tuple[str, int]:
    with app.app_context():
        session = db.session.get(MediationSession, session_id)
        return session.start_at.isoformat(), session.sequence


def test_move_pressed_twice_moves_once_and_says_moved_both_times(app, world):
    """The second press moved the session to the same time again and texted everyone a
    second time; now it says the session is moved, as the first did, and sends nothing."""
    session_id = _booked(app, world)
    page = f"/sessions/{session_id}/reschedule"
    [(client, token)] = _tabs(app, world, page, 1)
    first = _move(client, session_id, token, ahead(2, "10:00"))
    assert _flash(_shown(client, first), MOVED) == "success"
    sent, moved = _texts(app), _moved_to(app, session_id)
    again = _move(client, session_id, token, ahead(2, "10:00"))
    assert again.location == first.location
    assert _flash(_shown(client, again), MOVED) == "success"
    assert _moved_to(app, session_id) == moved == (ahead(2, "10:00").isoformat(), moved[1])
    assert _texts(app) == sent  # one set of texts
    assert _journaled(app, "session.rescheduled") == 1


def test_move_pressed_in_two_tabs_at_once_moves_once(app, world):
    session_id = _booked(app, world)
    page = f"/sessions/{session_id}/reschedule"
    before = _texts(app)
    answers = at_once(
        *(
            lambda c=c, t=t: _move(c, session_id, t, ahead(2, "10:00"))
            for c, t in _tabs(app, world, page)
        )
    )
    assert [a.status_code for a in answers] == [302, 302], answers
    assert answers[0].location == answers[1].location
    assert _journaled(app, "session.rescheduled") == 1
    with app.app_context():
        told = len(db.session.get(MediationSession, session_id).participants)
    assert 0 < _texts(app) - before <= told  # each participant told once (not twice)


def test_another_move_is_still_made(app, world):
    """A move to another time, the same time for another reason, or the same form after
    the window is not the same request: made, and everyone is told, as before."""
    session_id = _booked(app, world)
    page = f"/sessions/{session_id}/reschedule"
    [(client, token)] = _tabs(app, world, page, 1)
    _move(client, session_id, token, ahead(2, "10:00"))
    for start, reason in ((ahead(3, "10:00"), "调解员临时出差"), (ahead(3, "10:00"), "当事人要求")):
        sent = _texts(app)
        assert _flash(_shown(client, _move(client, session_id, token, start, reason)), MOVED)
        assert _moved_to(app, session_id)[0] == start.isoformat() and _texts(app) > sent
    with time_machine.travel(utcnow() + REPEAT_WINDOW + timedelta(seconds=5)):
        sent = _texts(app)
        _move(client, session_id, token, ahead(3, "10:00"), "当事人要求")
    assert _texts(app) > sent
    assert _journaled(app, "session.rescheduled") == 4
