"""Reception talks (issue #21, item 2): slots of a host's public reception hours, booked
once only, cancelled by the booker, recorded by the host and turned into a case or a
consultation answer; access on every route. Both databases (the ``app`` fixture)."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, time, timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from mediation.booking.availability import add_rule
from mediation.cases import operations as cases
from mediation.cases.models import Case
from mediation.consultation.models import Question
from mediation.core.db import utcnow
from mediation.core.forms import FieldError
from mediation.extensions import db
from mediation.journal.models import JournalEntry
from mediation.notify.models import OutboxMessage
from mediation.reception import operations as ops
from mediation.reception.models import ReceptionBooking
from tests.conftest import csrf_token, login, post_form
from tests.factories import PASSWORD, make_institution, make_mediator, make_user

# Monday 1 December 2025, 09:00 in Shanghai; no public holiday in the fortnight after.
NOW = datetime(2025, 12, 1, 1, 0, tzinfo=UTC)
AT_9 = datetime(2025, 12, 4, 1, 0, tzinfo=UTC)  # Thursday 09:00 in Shanghai


@pytest.fixture
def english(app_ctx):
    """The rules' messages as written in the source (the catalog is the merger's)."""
    with force_locale("en"):
        yield app_ctx


def _host(weekdays=(3,), starts=time(9), ends=time(11)):
    """A mediator whose Thursdays 9-11 are public reception (社区律师接待日)."""
    host = make_mediator(make_institution(region_code="420102"), real_name="陈调解员")
    for weekday in weekdays:
        add_rule(host.id, weekday, starts, ends, reception=True, place="社区服务中心二楼")
    if 1 not in weekdays:
        add_rule(host.id, 1, time(9), time(17), reception=False, place="")  # not public
    return host


def _sms_to(user) -> list[str]:
    return list(
        db.session.scalars(select(OutboxMessage.body).where(OutboxMessage.recipient == user.phone))
    )


def test_slots_come_from_the_reception_hours_and_are_booked_once(english):
    host, party, other = _host(), make_user(), make_user()
    free = ops.free_slots(host.id, NOW.date(), now=NOW)
    # Thursday 9-11 in half-hour talks; Tuesday's private hours are not offered.
    assert [s.start for s in free[:4]] == [AT_9 + timedelta(minutes=30 * i) for i in range(4)]
    assert {s.start.astimezone(UTC).weekday() for s in free} == {3}
    assert free[0].place == "社区服务中心二楼"

    booking = ops.book(party, host, AT_9, "  拖欠工资  怎么办 ", now=NOW)
    assert booking.subject == "拖欠工资 怎么办" and booking.place == "社区服务中心二楼"
    assert any("社区服务中心二楼" in body for body in _sms_to(party))
    assert AT_9 not in {s.start for s in ops.free_slots(host.id, NOW.date(), now=NOW)}
    with pytest.raises(FieldError, match="no longer free"):
        ops.book(other, host, AT_9, "我也要", now=NOW)
    with pytest.raises(FieldError, match="yourself"):
        ops.book(host, host, AT_9 + timedelta(minutes=30), "自己", now=NOW)
    with pytest.raises(FieldError, match="no longer free"):  # not a slot at all
        ops.book(other, host, AT_9 + timedelta(minutes=7), "我也要", now=NOW)


def test_two_people_booking_one_slot_at_once_get_one_winner(english, monkeypatch):
    host, first, second = _host(), make_user(), make_user()
    slot = ops.free_slots(host.id, NOW.date(), now=NOW)[0]
    ops.book(first, host, slot.start, "邻里纠纷", now=NOW)
    # The second read the slot free before the first wrote: the conditional insert says no.
    monkeypatch.setattr(ops, "free_slots", lambda *a, **k: [slot])
    with pytest.raises(FieldError, match="just booked"):
        ops.book(second, host, slot.start, "邻里纠纷", now=NOW)
    # And what neither condition can see (two transactions at once) the index refuses.
    row = {"host_id": host.id, "start_at": slot.start, "end_at": slot.end, "subject": "x"}
    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.add(ReceptionBooking(booker_id=second.id, **row))
        db.session.flush()
    db.session.add(ReceptionBooking(booker_id=second.id, status="cancelled", **row))
    db.session.flush()  # a cancelled booking does not hold the slot
    assert db.session.scalar(select(func.count(ReceptionBooking.id))) == 2


def test_one_person_cannot_hold_many_slots(english):
    hosts = [_host(weekdays=range(7), starts=time(8), ends=time(20)) for _ in range(2)]
    flooder = make_user()
    tries = [(h, s) for h in hosts for s in ops.free_slots(h.id, NOW.date(), now=NOW)]
    assert len(tries) > 300
    booked = []
    for host, slot in tries:
        with contextlib.suppress(FieldError):
            booked.append(ops.book(flooder, host, slot.start, "刷号", now=NOW))
    assert len(booked) == ops.MAX_UPCOMING
    # One a day with a host.
    assert len({(b.host_id, b.start_at.date()) for b in booked}) == len(booked)
    ops.cancel(booked[0], flooder, now=NOW)  # cancelling frees the allowance
    host, slot = tries[-1]
    ops.book(flooder, host, slot.start, "再约", now=NOW)


def test_only_the_booker_cancels_and_only_before_the_start(english):
    host, party = _host(), make_user()
    booking = ops.book(party, host, AT_9, "房屋租赁", now=NOW)
    with pytest.raises(ops.NotAllowedError):
        ops.cancel(booking, host, now=NOW)
    with pytest.raises(FieldError):
        ops.cancel(booking, party, now=AT_9 + timedelta(minutes=1))
    ops.cancel(booking, party, now=NOW)
    assert booking.status == "cancelled"
    assert AT_9 in {s.start for s in ops.free_slots(host.id, NOW.date(), now=NOW)}
    with pytest.raises(FieldError, match="cancelled"):
        ops.record(booking, host, "未到", now=AT_9)


def test_the_host_records_the_talk_and_files_a_case_for_the_party(english):
    host, party = _host(), make_user()
    booking = ops.book(party, host, AT_9, "公司拖欠三个月工资", now=NOW)
    with pytest.raises(ops.NotAllowedError):
        ops.record(booking, party, "我自己写", now=AT_9)
    with pytest.raises(FieldError):
        ops.record(booking, host, "   ", now=AT_9)
    ops.record(booking, host, "申请人在某厂工作，欠薪三个月共一万二千元。", now=AT_9)
    case = ops.to_case(booking, host, "labour")
    assert case.status == "draft" and case.title == "公司拖欠三个月工资"
    assert "一万二千元" in case.facts and case.region_code == "420102"
    assert [p.user_id for p in case.parties] == [party.id]
    assert cases.can_view(party, case) and not cases.can_view(host, case)
    assert booking.outcome == "case" and booking.case_id == case.id
    actions = db.session.scalars(
        select(JournalEntry.action).where(JournalEntry.case_id == case.id)
    ).all()
    assert "reception.converted" in actions
    assert any("提交" in body or "submit" in body for body in _sms_to(party))
    with pytest.raises(FieldError, match="already"):
        ops.to_case(booking, host, "labour")
    with pytest.raises(FieldError, match="already"):
        ops.to_answer(booking, host, "labour")
    assert db.session.scalar(select(func.count(Case.id))) == 1


def test_the_host_keeps_the_talk_as_the_party_s_consultation_answer(english):
    host, party = _host(), make_user()
    booking = ops.book(party, host, AT_9, "楼上漏水", now=NOW)
    ops.record(booking, host, "先书面通知楼上维修，再申请调解。", now=AT_9)
    with pytest.raises(FieldError):
        ops.to_answer(booking, host, "no-such-category")
    ops.to_answer(booking, host, "neighbourhood")
    question = db.session.get(Question, booking.question_id)
    assert question.asker_id == party.id and question.expert_id == host.id
    assert question.status == "answered" and question.region_code == "420000"
    assert question.answer == "先书面通知楼上维修，再申请调解。"
    assert len(_sms_to(party)) == 2  # booked, answered


def _free_now(app, host_id):
    with app.app_context():
        return ops.free_slots(host_id, utcnow().date(), now=utcnow())[0].start.isoformat()


def test_every_route_checks_who_asks(app, client):
    with app.app_context():
        host = _host(weekdays=range(7))
        party, stranger = make_user(), make_user()
        ids = host.id, party.phone, stranger.phone
        db.session.commit()
    host_id, party_phone, stranger_phone = ids
    book_url = f"/reception/hosts/{host_id}/book"
    # Anonymous: to the phone code first, and back to the booking page after.
    response = client.get(book_url)
    assert response.status_code == 302 and "/consultation/start" in response.location
    assert client.get("/reception/hosts/999999/book").status_code == 404
    assert client.get("/reception/day").status_code == 302

    login(client, party_phone, PASSWORD)
    assert client.get("/reception/day").status_code == 404  # not a host
    slot = _free_now(app, host_id)
    hostile = [
        ({"slot": slot, "subject": "字" * 201}, "200"),
        ({"slot": "not a time", "subject": "问题"}, "slot-error"),
        ({"slot": "2025-12-04T09:00:00", "subject": "问题"}, "slot-error"),
        ({"subject": "问题"}, "slot-error"),
    ]
    for data, message in hostile:
        response = post_form(client, book_url, data)
        assert response.status_code == 422 and message in response.get_data(as_text=True)
    response = post_form(client, book_url, {"slot": slot, "subject": "<script>alert(1)</script>"})
    assert response.status_code == 302
    page = client.get(response.location).get_data(as_text=True)
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page
    booking_url = response.location
    booking_id = int(booking_url.rsplit("/", 1)[1])
    assert (
        post_form(
            client, f"/reception/{booking_id}/record", {"notes": "x"}, form_page=booking_url
        ).status_code
        == 404
    )  # the booker does not record
    client = app.test_client()
    login(client, stranger_phone, PASSWORD)
    token = csrf_token(client, "/reception/mine")
    for url in (booking_url, f"/reception/{booking_id + 999}"):
        assert client.get(url).status_code == 404
    for action in ("cancel", "record"):
        response = client.post(f"/reception/{booking_id}/{action}", data={"csrf_token": token})
        assert response.status_code == 404
    with app.app_context():
        assert db.session.get(ReceptionBooking, booking_id).status == "booked"


def test_booking_is_rate_limited_per_address(app, client):
    with app.app_context():
        host = _host(weekdays=range(7))
        phone, host_id = make_user().phone, host.id
        db.session.commit()
    login(client, phone, PASSWORD)
    url = f"/reception/hosts/{host_id}/book"
    token = csrf_token(client, url)
    app.config["RECEPTION_BOOK_LIMIT"] = "3 per hour"
    try:
        statuses = [
            client.post(url, data={"csrf_token": token, "subject": "x"}).status_code
            for _ in range(5)
        ]
    finally:
        app.config["RECEPTION_BOOK_LIMIT"] = "20 per hour"
    assert statuses == [422, 422, 422, 429, 429]  # a script's ten thousand stop here
