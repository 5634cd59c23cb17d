"""Starting a session now (立即调解), the "enter the room" buttons, the default notice, hours
that run until 23:59, and one text per person when a session is close (issue #16)."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from mediation.booking import availability, offers, reminders, slots
from mediation.booking import operations as booking
from mediation.booking.models import MediationSession, SessionStatus
from mediation.cases.models import Case
from mediation.cases.states import CaseStatus
from mediation.cases.workflow import NotPermittedError
from mediation.core.db import utcnow
from mediation.core.forms import FieldError
from mediation.extensions import db
from mediation.journal.models import JournalEntry
from mediation.notify.models import OutboxMessage
from mediation.rooms.models import Room
from tests.booking.conftest import NOW, SHANGHAI, at
from tests.conftest import csrf_token, login, post_form
from tests.factories import (
    PASSWORD,
    make_case,
    make_institution,
    make_mediating_case,
    make_mediator,
    make_user,
)

SATURDAY_NIGHT = datetime(2026, 11, 21, 22, 10, tzinfo=SHANGHAI).astimezone(UTC)


def texts(since: int = 0) -> Counter:
    """How many text messages each number received after message ``since``."""
    return Counter(
        db.session.scalars(
            select(OutboxMessage.recipient).where(
                OutboxMessage.channel == "sms", OutboxMessage.id > since
            )
        )
    )


def last_message() -> int:
    return db.session.scalar(select(func.max(OutboxMessage.id))) or 0


def sessions_of(case_id: int) -> list[MediationSession]:
    return db.session.scalars(
        select(MediationSession).where(MediationSession.case_id == case_id)
    ).all()


# -- the operation -----------------------------------------------------------------------


def test_start_now_outside_hours_texts_each_party_once_with_their_link(case):
    applicant, respondent = case.party_users()
    before = last_message()
    # Saturday night: no weekly hours, and well inside any notice period.
    session = booking.start_now(case, by=case.mediator, parties_agreed=True, now=SATURDAY_NIGHT)
    assert session.status == SessionStatus.scheduled
    assert session.start_at == SATURDAY_NIGHT
    assert session.end_at - session.start_at == timedelta(minutes=60)
    assert {p.user_id for p in session.participants} == {
        case.mediator_id,
        applicant.id,
        respondent.id,
    }
    entry = db.session.scalars(
        select(JournalEntry).where(JournalEntry.case_id == case.id).order_by(JournalEntry.seq)
    ).all()[-1]
    assert entry.action == "session.started_now" and entry.payload["parties_agreed"] is True
    sent = texts(before)
    assert sent[applicant.phone] == 1 and sent[respondent.phone] == 1
    assert sent[case.mediator.phone] == 0  # the mediator pressed the button: no text
    body = db.session.scalar(
        select(OutboxMessage.body).where(
            OutboxMessage.recipient == applicant.phone, OutboxMessage.id > before
        )
    )
    assert case.number in body and "现在开始视频调解" in body and "/s/" in body
    # No reminder follows: it would reach every phone at the same moment.
    for minutes in (0, 1, 5, 30):
        assert reminders.send_due(now=SATURDAY_NIGHT + timedelta(minutes=minutes)) == 0
    assert texts(before) == sent


def test_start_now_needs_the_parties_agreement(case):
    before = last_message()
    with pytest.raises(FieldError) as refused:
        booking.start_now(case, by=case.mediator, parties_agreed=False, now=NOW)
    assert refused.value.field == "parties_agreed" and "同意" in refused.value.message
    assert sessions_of(case.id) == [] and texts(before) == Counter()


def test_only_the_cases_mediator_starts_now_and_only_while_mediating(case):
    applicant, _respondent = case.party_users()
    with pytest.raises(NotPermittedError):
        booking.start_now(case, by=applicant, parties_agreed=True, now=NOW)
    other = make_mediating_case()
    with pytest.raises(NotPermittedError):
        booking.start_now(case, by=other.mediator, parties_agreed=True, now=NOW)
    waiting = make_case(make_user(), make_user(), mediator=make_mediator(case.institution))
    assert waiting.status == CaseStatus.awaiting_respondent
    with pytest.raises(NotPermittedError):
        booking.start_now(waiting, by=waiting.mediator, parties_agreed=True, now=NOW)
    assert sessions_of(case.id) == [] and sessions_of(waiting.id) == []


def test_start_now_twice_or_over_another_session_is_refused(case):
    booking.start_now(case, by=case.mediator, parties_agreed=True, now=NOW)
    with pytest.raises(NotPermittedError, match="调解室"):
        booking.start_now(case, by=case.mediator, parties_agreed=True, now=NOW)
    # Another case of the same mediator, booked for 30 minutes from now.
    other = make_mediating_case(case.mediator)
    later = NOW + timedelta(hours=3)
    availability.settings_for(case.mediator_id).min_notice_hours = 0
    booking.book(other, by=case.mediator, start=later + timedelta(minutes=30), now=later)
    with pytest.raises(NotPermittedError, match="分钟"):
        booking.start_now(other, by=case.mediator, parties_agreed=True, now=later)


def test_a_session_ended_early_frees_the_calendar_for_a_new_start(case):
    """Ended after ten minutes (by mistake, or a lost connection): starting again is not
    refused for the rest of the booked hour and its buffer."""
    first = booking.start_now(case, by=case.mediator, parties_agreed=True, now=NOW)
    booking.session_ended(first, at=NOW + timedelta(minutes=10))
    assert first.end_at == NOW + timedelta(minutes=10) == first.busy_until
    again = booking.start_now(
        case, by=case.mediator, parties_agreed=True, now=NOW + timedelta(minutes=11)
    )
    assert again.id != first.id and again.start_at == NOW + timedelta(minutes=11)


def test_open_session_of_finds_the_session_whose_room_is_open(case):
    assert booking.open_session_of(case, NOW) is None
    session = booking.start_now(case, by=case.mediator, parties_agreed=True, now=NOW)
    assert booking.open_session_of(case, NOW + timedelta(minutes=59)) == session
    assert booking.open_session_of(case, NOW + timedelta(hours=2)) is None


# -- one text per person when the session is close -------------------------------------


def test_booked_30_minutes_ahead_each_person_gets_one_text(case):
    availability.settings_for(case.mediator_id).min_notice_hours = 0
    before = last_message()
    start = NOW + timedelta(minutes=30)  # Friday 09:30 in Shanghai, inside the hours
    session = booking.book(case, by=case.mediator, start=start, now=NOW)
    people = [p.user.phone for p in session.participants]
    # The worker runs every few minutes until the session starts.
    for minutes in range(0, 31, 2):
        reminders.send_due(now=NOW + timedelta(minutes=minutes))
    sent = texts(before)
    assert len(people) == 3 and all(sent[phone] == 1 for phone in people), sent
    assert sum(sent.values()) == 3


def test_booked_five_hours_ahead_only_the_hour_reminder_follows(case):
    availability.settings_for(case.mediator_id).min_notice_hours = 0
    before = last_message()
    session = booking.book(case, by=case.mediator, start=NOW + timedelta(hours=5), now=NOW)
    assert reminders.send_due(now=NOW + timedelta(minutes=5)) == 0  # the 24 h one: covered
    assert reminders.send_due(now=NOW + timedelta(hours=4, minutes=5)) == 1
    phone = session.participants[1].user.phone
    assert texts(before)[phone] == 2  # the booking, and an hour before: at different times


def test_moved_to_within_the_hour_no_reminder_on_top(case):
    availability.settings_for(case.mediator_id).min_notice_hours = 0
    session = booking.book(case, by=case.mediator, start=at(24, "09:00"), now=NOW)
    before = last_message()
    booking.reschedule(
        session, by=case.mediator, start=NOW + timedelta(minutes=40), reason="提前", now=NOW
    )
    assert reminders.send_due(now=NOW + timedelta(minutes=1)) == 0
    after = texts(before)
    assert sorted(after.values()) == [1, 1, 1], after  # the notice of the move only


def test_an_offer_fixed_within_the_hour_sends_no_reminder_on_top(case):
    availability.settings_for(case.mediator_id).min_notice_hours = 0
    applicant, respondent = case.party_users()
    offered = offers.offer(
        case,
        by=case.mediator,
        starts=[NOW + timedelta(minutes=50), NOW + timedelta(hours=3)],
        now=NOW,
    )
    offers.choose(applicant, offered[0], {offered[0].id}, now=NOW + timedelta(minutes=10))
    before = last_message()
    fixed = offers.choose(respondent, offered[0], {offered[0].id}, now=NOW + timedelta(minutes=10))
    assert fixed is not None and fixed.id == offered[0].id
    assert reminders.send_due(now=NOW + timedelta(minutes=12)) == 0
    assert sorted(texts(before).values()) == [1, 1, 1]  # "the session is fixed", once each


# -- default notice and the end of the day ----------------------------------------------


def test_a_new_mediator_may_book_later_the_same_day(app_ctx):
    case = make_mediating_case()
    assert availability.settings_for(case.mediator_id).min_notice_hours == 2
    availability.add_exception(
        case.mediator_id,
        date(2026, 11, 20),
        time(9, 0),
        time(18, 0),
        available=True,
        note="",
    )
    session = booking.book(case, by=case.mediator, start=at(20, "12:00"), now=NOW)  # in 3 h
    assert session.status == SessionStatus.scheduled
    with pytest.raises(booking.SlotUnavailableError) as refused:
        booking.book(case, by=case.mediator, start=at(20, "10:00"), now=NOW)  # in 1 h
    assert refused.value.why == "notice"


def test_the_default_notice_comes_from_the_configuration(app_ctx):
    app_ctx.config["BOOKING_MIN_NOTICE_HOURS"] = 5
    mediator = make_mediator(make_institution())
    assert availability.settings_for(mediator.id).min_notice_hours == 5


SATURDAY = date(2026, 11, 21)


def _evening(ends: time) -> slots.Rules:
    """Extra hours on Saturday from 20:00 to ``ends`` (no weekly hours)."""
    from mediation.booking.models import AvailabilityException

    evening = AvailabilityException(day=SATURDAY, starts=time(20, 0), ends=ends, available=True)
    return slots.Rules(zone=SHANGHAI, min_notice_hours=0, exceptions=[evening])


def _local(hhmm: str) -> datetime:
    return datetime.combine(SATURDAY, time.fromisoformat(hhmm), tzinfo=SHANGHAI).astimezone(UTC)


def test_extra_hours_until_2359_take_a_session_ending_at_midnight():
    rules = _evening(time(23, 59))
    free = slots.compute(rules, SATURDAY, 1, [], now=NOW)
    assert free[-1].start == _local("23:00") and free[-1].end == _local("00:00") + timedelta(days=1)
    assert slots.fits(
        rules, _local("23:00"), _local("23:00") + timedelta(hours=1), [], now=NOW
    ) is (None)
    # Past midnight is outside the hours.
    late = slots.fits(rules, _local("23:30"), _local("23:30") + timedelta(hours=1), [], now=NOW)
    assert late == "hours"


def test_hours_ending_before_2359_keep_their_end():
    rules = _evening(time(23, 30))
    assert slots.compute(rules, SATURDAY, 1, [], now=NOW)[-1].start == _local("22:30")
    assert (
        slots.fits(rules, _local("23:00"), _local("23:00") + timedelta(hours=1), [], now=NOW)
        == "hours"
    )


# -- the routes and pages ---------------------------------------------------------------


@pytest.fixture
def world(app):
    with app.app_context():
        case = make_mediating_case()
        applicant, respondent = case.party_users()
        other = make_mediating_case()
        made = {
            "case_id": case.id,
            "mediator": case.mediator.phone,
            "applicant": applicant.phone,
            "respondent": respondent.phone,
            "other_mediator": other.mediator.phone,
        }
        db.session.commit()
        db.session.remove()
    return made


def _count_sessions(app, case_id: int) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count())
            .select_from(MediationSession)
            .where(MediationSession.case_id == case_id)
        )


def test_the_mediator_starts_now_from_the_case_page_and_lands_in_the_room(app, client, world):
    case_page = f"/cases/{world['case_id']}"
    login(client, world["mediator"], PASSWORD)
    page = client.get(case_page).get_data(as_text=True)
    assert "立即调解" in page and "当事人已同意现在开始" in page
    with app.app_context():
        before = last_message()
    response = post_form(
        client, f"{case_page}/sessions/now", {"parties_agreed": "y"}, form_page=case_page
    )
    assert response.status_code == 302
    room = re.fullmatch(r"/sessions/(\d+)/room", response.location)
    assert room, response.location
    assert client.get(response.location).status_code == 200
    # Back on the case page: the room, not a second start.
    page = client.get(case_page).get_data(as_text=True)
    assert "进入调解室" in page and f'href="{response.location}"' in page
    assert "start-now-button" not in page
    # The calendar and "my sessions" (now in the mediator's menu) offer the room too.
    calendar = client.get("/booking/calendar").get_data(as_text=True)
    assert f'href="{response.location}"' in calendar
    mine = client.get("/sessions/").get_data(as_text=True)
    assert 'href="/sessions/"' in mine and f'href="{response.location}"' in mine
    with app.app_context():
        sent = texts(before)
    assert sent[world["applicant"]] == 1 and sent[world["respondent"]] == 1
    assert sent[world["mediator"]] == 0


def test_parties_see_enter_the_room_and_cannot_start_now(app, client, world):
    case_page = f"/cases/{world['case_id']}"
    login(client, world["applicant"], PASSWORD)
    page = client.get(case_page).get_data(as_text=True)
    assert "立即调解" not in page and "进入调解室" not in page
    token = csrf_token(client, case_page)
    refused = client.post(
        f"{case_page}/sessions/now", data={"parties_agreed": "y", "csrf_token": token}
    )
    assert refused.status_code == 403  # not a mediator
    assert _count_sessions(app, world["case_id"]) == 0
    with app.app_context():
        case = db.session.get(Case, world["case_id"])
        session = booking.start_now(case, by=case.mediator, parties_agreed=True)
        db.session.commit()
        room = f"/sessions/{session.id}/room"
    page = client.get(case_page).get_data(as_text=True)
    assert "进入调解室" in page and f'href="{room}"' in page
    assert client.get(room).status_code == 200
    # Once the mediator ended the session, the button goes.
    with app.app_context():
        ended = utcnow()
        db.session.add(Room(session_id=session.id, ended_at=ended))
        # What the room's end does to the session (rooms.operations.end).
        booking.session_ended(db.session.get(MediationSession, session.id), at=ended)
        db.session.commit()
    assert f'href="{room}"' not in client.get(case_page).get_data(as_text=True)


def test_another_mediator_cannot_start_now_in_a_case_not_theirs(app, client, world):
    case_page = f"/cases/{world['case_id']}"
    login(client, world["other_mediator"], PASSWORD)
    token = csrf_token(client, "/booking/calendar")
    refused = client.post(
        f"{case_page}/sessions/now", data={"parties_agreed": "y", "csrf_token": token}
    )
    assert refused.status_code == 404
    assert _count_sessions(app, world["case_id"]) == 0


@pytest.mark.parametrize(
    "data", [{}, {"parties_agreed": ""}, {"parties_agreed": "0"}, {"agreed": "y"}]
)
def test_without_the_parties_agreement_nothing_starts_and_the_page_says_why(
    app, client, world, data
):
    case_page = f"/cases/{world['case_id']}"
    login(client, world["mediator"], PASSWORD)
    token = csrf_token(client, case_page)
    response = client.post(f"{case_page}/sessions/now", data={"csrf_token": token, **data})
    assert response.status_code == 302 and response.location == case_page
    assert _count_sessions(app, world["case_id"]) == 0
    page = client.get(case_page).get_data(as_text=True)
    assert "flash-error" in page and "只有在当事人同意后才能立即开始调解" in page


@pytest.mark.parametrize(
    "data",
    [
        {"parties_agreed": "y", "csrf_token": "forged"},
        {"parties_agreed": "<script>alert(1)</script>"},  # and no token at all
    ],
)
def test_a_forged_request_starts_nothing(app, client, world, data):
    case_page = f"/cases/{world['case_id']}"
    login(client, world["mediator"], PASSWORD)
    response = client.post(f"{case_page}/sessions/now", data=data)
    assert response.status_code == 400
    assert "<script>alert" not in response.get_data(as_text=True)
    assert _count_sessions(app, world["case_id"]) == 0


def test_start_now_routes_refuse_what_is_not_a_post_or_not_a_case(client, world):
    login(client, world["mediator"], PASSWORD)
    assert client.get(f"/cases/{world['case_id']}/sessions/now").status_code == 405
    token = csrf_token(client, f"/cases/{world['case_id']}")
    missing = client.post(
        "/cases/999999/sessions/now", data={"parties_agreed": "y", "csrf_token": token}
    )
    assert missing.status_code == 404
    assert client.post("/cases/abc/sessions/now").status_code == 404


def test_a_logged_out_visitor_starts_nothing(app, client, world):
    case_page = f"/cases/{world['case_id']}"
    token = csrf_token(client, "/login")
    response = client.post(
        f"{case_page}/sessions/now", data={"parties_agreed": "y", "csrf_token": token}
    )
    assert response.status_code == 302 and "/login" in response.location
    assert _count_sessions(app, world["case_id"]) == 0
