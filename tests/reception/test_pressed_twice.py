"""Reception's buttons pressed twice (a double tap, a phone resending the POST, two tabs),
one after the other and at the same instant: "book", "cancel" and the host's "file a case"
and "keep as an answer" act once, send each text once, and the second press is answered as
the first was. It used to be told, as an error, that the time was no longer free, that the
talk could no longer be cancelled, or that it had already been taken further. A different
request (another subject, another person, another step) is refused as before."""

from __future__ import annotations

import re
from datetime import time, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from mediation.booking.availability import add_rule
from mediation.booking.repeats import REPEAT_WINDOW
from mediation.cases.models import Case
from mediation.consultation.models import Question
from mediation.core.db import utcnow
from mediation.extensions import db
from mediation.notify.models import OutboxMessage
from mediation.reception import operations as ops
from mediation.reception.models import ReceptionBooking
from tests.conftest import at_once, csrf_token, login
from tests.factories import PASSWORD, make_institution, make_mediator, make_user

BOOKED = "面谈已预约，确认短信已发送。"
CANCELLED = "面谈已取消，这个时间可供他人预约。"
ANSWERED = "本次面谈已保存为当事人的咨询答复。"
NOT_FREE = "这个时间已不可预约，请另选一个时间。"
TAKEN_FURTHER = "这次面谈已经转为案件或咨询答复。"
NOTES = "申请人在某厂工作，欠薪三个月共一万二千元。"


@pytest.fixture
def world(app):
    """A host receiving the public every day, a party and another person."""
    with app.app_context():
        host = make_mediator(make_institution(region_code="420102"), real_name="陈调解员")
        for weekday in range(7):
            add_rule(host.id, weekday, time(8), time(20), reception=True, place="社区服务中心")
        party, other = make_user(), make_user()
        db.session.commit()
        made = {"host_id": host.id, "host": host.phone, "party": party.phone}
        made["other"] = other.phone
        made["slot"] = ops.free_slots(host.id, utcnow().date(), now=utcnow())[0].start
    return made


def _tabs(app, phone: str, page: str, n: int = 2):
    """``n`` tabs of ``phone``'s person with ``page`` open: (client, its form's token)."""
    tabs = []
    for _ in range(n):
        client = app.test_client()
        login(client, phone, PASSWORD)
        tabs.append((client, csrf_token(client, page)))
    return tabs


def _shown(client, response) -> str:
    assert response.status_code == 302, response.status_code
    return client.get(response.location).get_data(as_text=True)


def _flash(page: str, text: str) -> str:
    """The category of the message ``text`` on ``page`` (success, info, error)."""
    found = re.search(r'class="flash flash-(\w+)"[^>]*>' + re.escape(text), page)
    assert found, f"{text!r} is not shown"
    return found.group(1)


def _count(app, what) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(what))


def _book_page(world) -> str:
    return f"/reception/hosts/{world['host_id']}/book"


def _booked(app, world) -> int:
    """The party's talk, booked through the page; its id."""
    [(client, token)] = _tabs(app, world["party"], _book_page(world), 1)
    form = {"slot": world["slot"].isoformat(), "subject": "拖欠工资", "csrf_token": token}
    answer = client.post(_book_page(world), data=form)
    return int(answer.location.rsplit("/", 1)[1])


# -- book ----------------------------------------------------------------------------------


def test_book_pressed_twice_books_once_and_says_booked_both_times(app, world):
    """The second press was answered 422 "this time is no longer free" (taken by the talk
    the first press had just booked)."""
    page = _book_page(world)
    [(client, token)] = _tabs(app, world["party"], page, 1)
    form = {"slot": world["slot"].isoformat(), "subject": "拖欠工资", "csrf_token": token}
    first = client.post(page, data=form)
    assert _flash(_shown(client, first), BOOKED) == "success"
    sent = _count(app, OutboxMessage)
    again = client.post(page, data=form)
    assert again.location == first.location
    assert _flash(_shown(client, again), BOOKED) == "success"
    assert _count(app, ReceptionBooking) == 1 and _count(app, OutboxMessage) == sent


def test_book_pressed_in_two_tabs_at_once_books_once(app, world):
    page = _book_page(world)
    tabs = _tabs(app, world["party"], page)
    slot = world["slot"].isoformat()
    answers = at_once(
        *(
            lambda c=c, t=t: c.post(
                page, data={"slot": slot, "subject": "拖欠工资", "csrf_token": t}
            )
            for c, t in tabs
        )
    )
    assert [a.status_code for a in answers] == [302, 302], answers
    assert answers[0].location == answers[1].location
    for (client, _token), answer in zip(tabs, answers, strict=True):
        assert _flash(_shown(client, answer), BOOKED) == "success"
    assert _count(app, ReceptionBooking) == 1
    assert _count(app, OutboxMessage) == 1  # one confirmation


def test_a_booking_of_the_time_taken_otherwise_is_still_refused(app, world):
    """Another person, the same person about something else, or the same form after the
    window: the time is not free, as before."""
    page = _book_page(world)
    slot = world["slot"].isoformat()
    booking_id = _booked(app, world)
    [(other, token)] = _tabs(app, world["other"], page, 1)
    refused = other.post(page, data={"slot": slot, "subject": "拖欠工资", "csrf_token": token})
    assert refused.status_code == 422 and NOT_FREE in refused.get_data(as_text=True)
    [(party, token)] = _tabs(app, world["party"], page, 1)
    changed = party.post(page, data={"slot": slot, "subject": "邻里纠纷", "csrf_token": token})
    assert changed.status_code == 422 and NOT_FREE in changed.get_data(as_text=True)
    with time_machine.travel(utcnow() + REPEAT_WINDOW + timedelta(seconds=5)):
        later = party.post(page, data={"slot": slot, "subject": "拖欠工资", "csrf_token": token})
    assert later.status_code == 422 and NOT_FREE in later.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(select(ReceptionBooking.id)).all() == [booking_id]


# -- cancel --------------------------------------------------------------------------------


def test_cancel_pressed_twice_says_cancelled_both_times(app, world):
    """The second press said, styled as an error, "this talk can no longer be cancelled"
    although the first had just cancelled it; later (not the same press) it still says so."""
    booking_id = _booked(app, world)
    page = f"/reception/{booking_id}"
    [(client, token)] = _tabs(app, world["party"], page, 1)
    first = client.post(f"{page}/cancel", data={"csrf_token": token})
    assert _flash(_shown(client, first), CANCELLED) == "success"
    with app.app_context():
        cancelled_at = db.session.get(ReceptionBooking, booking_id).cancelled_at
    again = client.post(f"{page}/cancel", data={"csrf_token": token})
    assert _flash(_shown(client, again), CANCELLED) == "success"
    with app.app_context():
        assert db.session.get(ReceptionBooking, booking_id).cancelled_at == cancelled_at
    with time_machine.travel(utcnow() + REPEAT_WINDOW + timedelta(seconds=5)):
        later = client.post(f"{page}/cancel", data={"csrf_token": token})
        assert _flash(_shown(client, later), "这次面谈已无法取消。") == "error"


def test_cancel_pressed_in_two_tabs_at_once_cancels_once(app, world):
    booking_id = _booked(app, world)
    page = f"/reception/{booking_id}"
    tabs = _tabs(app, world["party"], page)
    answers = at_once(
        *(lambda c=c, t=t: c.post(f"{page}/cancel", data={"csrf_token": t}) for c, t in tabs)
    )
    for (client, _token), answer in zip(tabs, answers, strict=True):
        assert _flash(_shown(client, answer), CANCELLED) == "success"
    with app.app_context():
        assert db.session.get(ReceptionBooking, booking_id).status == "cancelled"


# -- the host takes the talk further -------------------------------------------------------


def _host_presses(app, world, booking_id: int, action: str, n: int = 2):
    """The host's record form on ``n`` tabs, with ``action`` to press: [(client, form)]."""
    page = f"/reception/{booking_id}"
    return [
        (client, {"notes": NOTES, "category": "labour", "action": action, "csrf_token": token})
        for client, token in _tabs(app, world["host"], page, n)
    ]


def test_file_a_case_pressed_twice_files_one_case_and_says_so_both_times(app, world):
    """The second press showed the record form again, 422, with "this talk has already
    been taken further" under the notes."""
    booking_id = _booked(app, world)
    path = f"/reception/{booking_id}/record"
    [(client, form)] = _host_presses(app, world, booking_id, "case", 1)
    first = client.post(path, data=form)
    with app.app_context():
        number = db.session.scalars(select(Case.number)).one()
    drafted = f"已为当事人起草案件 {number}。"
    assert _flash(_shown(client, first), drafted) == "success"
    sent = _count(app, OutboxMessage)
    again = client.post(path, data=form)
    assert again.location == first.location
    assert _flash(_shown(client, again), drafted) == "success"
    assert _count(app, Case) == 1 and _count(app, OutboxMessage) == sent
    # Another step on the talk taken further (an answer, or a case of another kind) is
    # refused, as before.
    for other in ({"action": "answer"}, {"category": "neighbourhood"}):
        refused = client.post(path, data={**form, **other})
        assert refused.status_code == 422 and TAKEN_FURTHER in refused.get_data(as_text=True)
    assert _count(app, Case) == 1 and _count(app, Question) == 0


def test_file_a_case_pressed_in_two_tabs_at_once_files_one_case(app, world):
    booking_id = _booked(app, world)
    path = f"/reception/{booking_id}/record"
    tabs = _host_presses(app, world, booking_id, "case")
    sent = _count(app, OutboxMessage)
    answers = at_once(*(lambda c=c, f=f: c.post(path, data=f) for c, f in tabs))
    assert [a.status_code for a in answers] == [302, 302], answers
    with app.app_context():
        number = db.session.scalars(select(Case.number)).one()
    for (client, _form), answer in zip(tabs, answers, strict=True):
        assert _flash(_shown(client, answer), f"已为当事人起草案件 {number}。") == "success"
    assert _count(app, OutboxMessage) == sent + 1  # the party told once


def test_keep_as_an_answer_pressed_twice_keeps_one_answer(app, world):
    booking_id = _booked(app, world)
    path = f"/reception/{booking_id}/record"
    tabs = _host_presses(app, world, booking_id, "answer", 3)
    sent = _count(app, OutboxMessage)
    answers = at_once(*(lambda c=c, f=f: c.post(path, data=f) for c, f in tabs[:2]))
    answers.append(tabs[2][0].post(path, data=tabs[2][1]))  # and once more, after them
    for (client, _form), answer in zip(tabs, answers, strict=True):
        assert _flash(_shown(client, answer), ANSWERED) == "success"
    assert _count(app, Question) == 1 and _count(app, Case) == 0
    assert _count(app, OutboxMessage) == sent + 1  # the party told once
    refused = tabs[0][0].post(path, data={**tabs[0][1], "action": "case"})
    assert refused.status_code == 422 and TAKEN_FURTHER in refused.get_data(as_text=True)


def test_file_a_case_again_with_another_record_is_refused_and_the_record_kept(app, world):
    """Only the same form is the same press: the host who corrects the record and presses
    "file a case" again within the window was told "case drafted" (the first press's
    answer), and the corrected record was dropped without a word. It is refused as before,
    the form keeping what they wrote (as "keep as an answer" with another record is)."""
    booking_id = _booked(app, world)
    path = f"/reception/{booking_id}/record"
    [(client, form)] = _host_presses(app, world, booking_id, "case", 1)
    assert client.post(path, data=form).status_code == 302
    corrected = NOTES + "另，申请人希望先行调解。"
    refused = client.post(path, data={**form, "notes": corrected})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and TAKEN_FURTHER in page and corrected in page
    with app.app_context():
        assert db.session.scalars(select(Case.facts)).one() == NOTES


# -- the record saved again --------------------------------------------------------------


def _record_times(app, booking_id: int):
    with app.app_context():
        booking = db.session.get(ReceptionBooking, booking_id)
        return booking.recorded_at, booking.edited_at


def test_the_record_saved_again_keeps_the_time_it_was_written(app, world):
    """Saving the record again (a double tap of "save", or the same notes saved later) moved
    ``recorded_at``, the time of what was recorded: the answer kept from the talk an hour
    later was dated then. The record keeps its first time; a real change is told apart
    (``edited_at``, on the page and in the journal of a case filed from it)."""
    booking_id = _booked(app, world)
    path = f"/reception/{booking_id}/record"
    [(client, form)] = _host_presses(app, world, booking_id, "save", 1)
    written = utcnow().replace(microsecond=0) + timedelta(minutes=1)
    with time_machine.travel(written, tick=False):
        assert _flash(_shown(client, client.post(path, data=form)), "记录已保存。") == "success"
    with time_machine.travel(written + timedelta(minutes=5), tick=False):
        client.post(path, data=form)  # the same notes again
    assert _record_times(app, booking_id) == (written, None)
    changed = written + timedelta(minutes=10)
    with time_machine.travel(changed, tick=False):
        page = _shown(client, client.post(path, data={**form, "notes": NOTES + "已协商未果。"}))
    assert _record_times(app, booking_id) == (written, changed)
    assert "最后修改于" in page
    # Kept as the party's answer an hour later, with a double tap: one answer, of the talk.
    with time_machine.travel(written + timedelta(hours=1), tick=False):
        keep = {**form, "notes": NOTES + "已协商未果。", "action": "answer"}
        for _tap in range(2):
            assert _flash(_shown(client, client.post(path, data=keep)), ANSWERED) == "success"
    assert _record_times(app, booking_id) == (written, changed)
    with app.app_context():
        [question] = db.session.scalars(select(Question)).all()
        assert question.answered_at == written


@pytest.mark.parametrize(
    ("action", "says"),
    [
        ("answer", "由本次接待保留的答复采用当时记录的文字"),
        ("case", "由本次接待起草的申请采用当时记录的事实"),
    ],
)
def test_the_host_is_told_a_kept_answer_or_case_keeps_the_words_it_had(app, world, action, says):
    """A record corrected after it was kept as the party's answer (or drafted into a case)
    changes the host's record only; the page says so, where before it said nothing."""
    booking_id = _booked(app, world)
    [(client, form)] = _host_presses(app, world, booking_id, action, 1)
    page = f"/reception/{booking_id}"
    assert says not in client.get(page).get_data(as_text=True)
    assert client.post(f"{page}/record", data=form).status_code == 302
    assert says in client.get(page).get_data(as_text=True)
