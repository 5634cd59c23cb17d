"""The booking pages: a mediator's hours and calendar, booking from the case page, a party's
sessions and choices; every page checks who asks."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from mediation.booking import offers
from mediation.booking import operations as booking
from mediation.booking.models import AvailabilityRule, MediationSession, SessionStatus
from mediation.extensions import db
from tests.booking.conftest import AHEAD, ahead
from tests.conftest import login, post_form
from tests.factories import PASSWORD, add_weekly_hours, make_mediating_case


@pytest.fixture
def people(app):
    """A case in mediation; phone numbers to log in with, ids to look things up by."""
    with app.app_context():
        case = make_mediating_case()
        add_weekly_hours(case.mediator)
        applicant, respondent = case.party_users()
        other = make_mediating_case()
        made = {
            "case_id": case.id,
            "mediator_id": case.mediator_id,
            "mediator": case.mediator.phone,
            "applicant": applicant.phone,
            "respondent": respondent.phone,
            "other_mediator": other.mediator.phone,
        }
        db.session.commit()
        db.session.remove()
    return made


def test_hours_are_added_and_a_wrong_entry_keeps_what_was_typed(app, client, people):
    login(client, people["mediator"], PASSWORD)
    bad = post_form(
        client,
        "/booking/availability/rules",
        {"weekday": "4", "starts": "12:00", "ends": "09:00", "place": "三楼接待室"},
        form_page="/booking/availability",
    )
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert "结束时间必须晚于开始时间" in text and "三楼接待室" in text
    ok = post_form(
        client,
        "/booking/availability/rules",
        {"weekday": "5", "starts": "09:00", "ends": "11:30", "reception": "y", "place": "三楼"},
        form_page="/booking/availability",
    )
    assert ok.status_code == 302
    with app.app_context():
        rule = db.session.query(AvailabilityRule).filter_by(weekday=5, reception=True).one()
        assert (rule.place, str(rule.ends)) == ("三楼", "11:30:00")


def test_settings_refuse_an_unknown_zone_in_chinese_and_keep_the_rest(client, people):
    login(client, people["mediator"], PASSWORD)
    response = post_form(
        client,
        "/booking/availability/settings",
        {
            "time_zone": "Mars/Olympus",
            "session_minutes": "90",
            "buffer_minutes": "10",
            "min_notice_hours": "12",
            "max_sessions_per_day": "3",
        },
        form_page="/booking/availability",
    )
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "未知的时区" in text and 'value="90"' in text and "Mars/Olympus" in text


def test_settings_answer_a_0_with_the_range_not_as_missing(client, people):
    """0 typed in is a number: the ranges answer (15 to 480, 1 to 20), not "this field is
    required" (DataRequired took 0 for an empty field; InputRequired does not)."""
    login(client, people["mediator"], PASSWORD)
    response = post_form(
        client,
        "/booking/availability/settings",
        {
            "time_zone": "Asia/Shanghai",
            "session_minutes": "0",
            "buffer_minutes": "0",
            "min_notice_hours": "0",
            "max_sessions_per_day": "0",
        },
        form_page="/booking/availability",
    )
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "15 到 480" in text and "1 到 20" in text
    assert "此项为必填项" not in text


def test_leave_on_a_date_is_recorded(client, people):
    login(client, people["mediator"], PASSWORD)
    response = post_form(
        client,
        "/booking/availability/exceptions",
        {"day": (AHEAD + timedelta(days=2)).isoformat(), "available": "0", "note": "年休假"},
        form_page="/booking/availability",
    )
    assert response.status_code == 302
    assert "年休假" in client.get("/booking/availability").get_data(as_text=True)


def test_the_mediator_books_from_the_case_page_and_sees_it_in_the_week(app, client, people):
    login(client, people["mediator"], PASSWORD)
    case_id = people["case_id"]
    assert "预约调解" in client.get(f"/cases/{case_id}").get_data(as_text=True)
    page = client.get(f"/cases/{case_id}/sessions/new")
    times = re.findall(r'name="times" value="([^"]+)"', page.get_data(as_text=True))
    assert len(times) > 10
    empty = post_form(client, f"/cases/{case_id}/sessions/new", {"note": "请带好材料"})
    assert empty.status_code == 422
    assert "请在显示的时间中选择" in empty.get_data(as_text=True)
    assert "请带好材料" in empty.get_data(as_text=True)
    booked = post_form(client, f"/cases/{case_id}/sessions/new", {"times": times[0]})
    assert booked.status_code == 302
    with app.app_context():
        session = db.session.query(MediationSession).one()
        assert session.status == SessionStatus.scheduled
        monday = session.local_day.isoformat()
    week = client.get(f"/booking/calendar?week={monday}").get_data(as_text=True)
    assert "2026-" in week and "已预约" in week
    caseload = client.get("/cases/caseload").get_data(as_text=True)
    assert "下次调解" in caseload


def test_offered_times_are_chosen_through_the_personal_link(app, client, people):
    from mediation.booking import links

    with app.app_context():
        from mediation.cases.models import Case

        case = db.session.get(Case, people["case_id"])
        offered = offers.offer(
            case, by=case.mediator, starts=[ahead(1, "09:00"), ahead(2, "09:00")]
        )
        tokens = {
            p.user.phone: links.token_for(p) for p in offered[0].participants if p.role == "party"
        }
        ids = [s.id for s in offered]
        db.session.commit()
    for phone in (people["applicant"], people["respondent"]):
        party = app.test_client()
        login(party, phone, PASSWORD)
        path = f"/s/{tokens[phone]}"
        assert "您可以在哪些时间参加" in party.get(path).get_data(as_text=True)
        post_form(party, f"{path}/choose", {"chosen": str(ids[1])}, form_page=path)
    with app.app_context():
        statuses = [db.session.get(MediationSession, i).status for i in ids]
    assert statuses == [SessionStatus.cancelled, SessionStatus.scheduled]


def test_a_party_sees_my_sessions_and_consents_to_separate_sessions(app, client, people):
    with app.app_context():
        from mediation.cases.models import Case

        case = db.session.get(Case, people["case_id"])
        booking.book(case, by=case.mediator, start=ahead(1, "09:00"))
        db.session.commit()
    login(client, people["applicant"], PASSWORD)
    mine = client.get("/sessions/").get_data(as_text=True)
    day = AHEAD + timedelta(days=1)
    assert f"{day.year}年{day.month}月{day.day}日" in mine and "disabled" in mine
    case_page = f"/cases/{people['case_id']}"
    response = post_form(
        client, f"{case_page}/separate-sessions", {"consent": "1"}, form_page=case_page
    )
    assert response.status_code == 302
    assert "撤回我的同意" in client.get(case_page).get_data(as_text=True)


def test_only_the_cases_mediator_reaches_its_booking_pages(client, people):
    case_id = people["case_id"]
    login(client, people["other_mediator"], PASSWORD)
    assert client.get(f"/cases/{case_id}/sessions/new").status_code == 404
    client.post("/logout", data={"csrf_token": "x"})
    other = client.application.test_client()
    login(other, people["applicant"], PASSWORD)
    assert other.get(f"/cases/{case_id}/sessions/new").status_code == 403
    assert other.get("/booking/availability").status_code == 403
    assert other.get("/booking/calendar").status_code == 403


def test_reception_hours_are_listed_publicly_with_their_place(app, client):
    from datetime import time

    from mediation.booking import availability

    with app.app_context():
        case = make_mediating_case()
        availability.add_rule(
            case.mediator_id, 4, time(9), time(12), reception=True, place="街道调解室"
        )
        db.session.commit()
    page = client.get("/reception").get_data(as_text=True)
    assert "街道调解室" in page and "09:00–12:00" in page and "周五" in page  # core.i18n.format_day


def test_a_time_taken_since_the_page_loaded_is_explained_and_the_note_kept(app, client, people):
    login(client, people["mediator"], PASSWORD)
    case_id = people["case_id"]
    page = client.get(f"/cases/{case_id}/sessions/new").get_data(as_text=True)
    first = re.findall(r'name="times" value="([^"]+)"', page)[0]
    with app.app_context():
        from datetime import datetime

        from mediation.cases.models import Case

        case = db.session.get(Case, case_id)
        booking.book(case, by=case.mediator, start=datetime.fromisoformat(first))
        db.session.commit()
    response = post_form(
        client, f"/cases/{case_id}/sessions/new", {"times": first, "note": "请带好材料"}
    )
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "该时间刚刚被占用" in text and "请带好材料" in text
    assert "not a valid choice" not in text


def test_a_week_far_away_or_malformed_shows_this_week(client, people):
    login(client, people["mediator"], PASSWORD)
    for week in ("0001-01-01", "9999-12-31", "next"):
        assert client.get(f"/booking/calendar?week={week}").status_code == 200


def test_a_guest_is_invited_from_the_case_page_and_a_mistake_keeps_the_form(app, client, people):
    with app.app_context():
        from mediation.cases.models import Case

        case = db.session.get(Case, people["case_id"])
        session_id = booking.book(case, by=case.mediator, start=ahead(1, "09:00")).id
        db.session.commit()
    login(client, people["mediator"], PASSWORD)
    page = f"/cases/{people['case_id']}"
    assert "邀请亲属、邻居或专业人员" in client.get(page).get_data(as_text=True)
    bad = post_form(
        client,
        f"/sessions/{session_id}/guests",
        {"real_name": "张小明", "phone": "12345", "relation": "relative", "side": "applicant"},
        form_page=page,
    )
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert "张小明" in text and "12345" in text
    good = post_form(
        client,
        f"/sessions/{session_id}/guests",
        {
            "real_name": "张小明",
            "phone": "13912345678",
            "relation": "relative",
            "side": "applicant",
        },
        form_page=page,
    )
    assert good.status_code == 302
    assert "张小明" in client.get(page).get_data(as_text=True)


def test_times_are_shown_in_the_viewers_own_zone(app, client, people):
    from zoneinfo import ZoneInfo

    from mediation.accounts.models import User

    start = ahead(1, "09:00")
    with app.app_context():
        from mediation.cases.models import Case

        case = db.session.get(Case, people["case_id"])
        booking.book(case, by=case.mediator, start=start)
        db.session.scalar(
            db.select(User).where(User.phone == people["applicant"])
        ).time_zone = "Europe/London"
        db.session.commit()
    login(client, people["applicant"], PASSWORD)
    mine = client.get("/sessions/").get_data(as_text=True)
    in_london = start.astimezone(ZoneInfo("Europe/London")).strftime("%H:%M")
    assert f"{in_london}（英国时间）" in mine  # the zone named in words (core.i18n.zone_name)
    assert in_london != "09:00"  # the same instant, not the same clock time


def _flashed(client, response) -> str:
    """The page a redirect leads to, with its messages."""
    assert response.status_code == 302, response.status_code
    return client.get(response.location, follow_redirects=True).get_data(as_text=True)


@pytest.fixture
def booked(app):
    """A case in mediation with a session booked; another mediator of its institution, and
    an administrator who can give the case to them."""
    from mediation.accounts.models import Role
    from tests.factories import make_mediator, make_user

    with app.app_context():
        case = make_mediating_case()
        add_weekly_hours(case.mediator)
        session = booking.book(case, by=case.mediator, start=ahead(1, "10:00"))
        successor = make_mediator(case.institution)
        admin = make_user(Role.institution_admin, institution_id=case.institution_id)
        made = {
            "case_id": case.id,
            "session_id": session.id,
            "mediator": case.mediator.phone,
            "successor_id": successor.id,
            "admin_id": admin.id,
        }
        db.session.commit()
    return made


def _buttons(booked) -> list[tuple[str, dict]]:
    """Every booking form on the case page, as the old mediator would press it."""
    case, session = booked["case_id"], booked["session_id"]
    guest = {"real_name": "张三", "phone": "13912345678", "relation": "relative"}
    return [
        (f"/cases/{case}/sessions/new", {"times": ahead(2, "10:00").isoformat(), "note": "说明"}),
        (f"/cases/{case}/sessions/now", {"parties_agreed": "y"}),
        (f"/sessions/{session}/guests", guest | {"side": "applicant"}),
        (f"/sessions/{session}/resend", {}),
        (f"/sessions/{session}/cancel", {"reason": "临时有事"}),
        (
            f"/sessions/{session}/reschedule",
            {"start": ahead(3, "10:00").isoformat(), "reason": "改期"},
        ),
    ]


def test_booking_buttons_of_a_case_given_to_another_mediator_say_so(app, booked):
    """Art 14: the institution gave the case to another mediator while the first had its
    page open. Each booking button they press then says the case is no longer theirs: not
    "page not found", and never the case's page again (the guest form used to show it)."""
    from mediation.accounts.models import User
    from mediation.cases import assignment
    from mediation.cases.models import Case
    from tests.conftest import csrf_token

    client = app.test_client()
    login(client, booked["mediator"], PASSWORD)
    token = csrf_token(client, f"/cases/{booked['case_id']}")  # the page on their screen
    with app.app_context():
        assignment.reassign_by_institution(
            db.session.get(Case, booked["case_id"]),
            mediator=db.session.get(User, booked["successor_id"]),
            by=db.session.get(User, booked["admin_id"]),
        )
        db.session.commit()
        sessions_before = db.session.query(MediationSession).count()
    for path, data in _buttons(booked):
        pressed = client.post(path, data=data | {"csrf_token": token})
        assert pressed.status_code == 302, path
        assert "/cases/" not in pressed.location and "/sessions/" not in pressed.location, path
        assert "该案件已交由其他调解员办理" in _flashed(client, pressed), path
    with app.app_context():
        assert db.session.query(MediationSession).count() == sessions_before
        session = db.session.get(MediationSession, booked["session_id"])
        assert session.status == SessionStatus.cancelled  # by the reassignment, once
        assert [p.role for p in session.participants].count("guest") == 0


def test_a_cancelled_session_s_buttons_say_it_was_cancelled(app, booked):
    """The mediator cancelled a session in another tab; the guest form and "send the links
    again" on the older page say the session was cancelled, and why (they used to say
    "only a fixed session can be moved"), and nobody is invited to it."""
    from tests.conftest import csrf_token

    client = app.test_client()
    login(client, booked["mediator"], PASSWORD)
    token = csrf_token(client, f"/cases/{booked['case_id']}")
    with app.app_context():
        session = db.session.get(MediationSession, booked["session_id"])
        booking.cancel(session, by=session.case.mediator, reason="当事人住院")
        db.session.commit()
    for path, data in _buttons(booked)[2:4]:
        pressed = client.post(path, data=data | {"csrf_token": token})
        assert pressed.location.endswith(f"/cases/{booked['case_id']}"), path
        assert "该场调解已取消（当事人住院）" in _flashed(client, pressed), path
    with app.app_context():
        session = db.session.get(MediationSession, booked["session_id"])
        assert all(p.role != "guest" for p in session.participants)


def test_booking_for_a_case_ended_meanwhile_says_it_ended(app, booked):
    """The booking page was open while the case was terminated: the mediator is told the
    case ended (not that the parties have yet to agree to mediate), the note typed is
    shown again, and nothing is booked."""
    from mediation.cases import workflow
    from mediation.cases.models import Case
    from mediation.cases.states import Action, TerminationReason
    from tests.conftest import csrf_token

    client = app.test_client()
    login(client, booked["mediator"], PASSWORD)
    form_page = f"/cases/{booked['case_id']}/sessions/new"
    token = csrf_token(client, form_page)
    with app.app_context():
        case = db.session.get(Case, booked["case_id"])
        workflow.transition(
            case, Action.terminate, by=case.mediator, reason=TerminationReason.too_far_apart
        )
        db.session.commit()
        before = db.session.query(MediationSession).count()
    time = ahead(2, "10:00").isoformat()
    pressed = client.post(
        form_page, data={"times": time, "note": "请带好证据原件", "csrf_token": token}
    )
    page = pressed.get_data(as_text=True)
    assert pressed.status_code == 422
    assert "本案现在的状态是“已终结”，不再安排调解" in page and "请带好证据原件" in page
    with app.app_context():
        assert db.session.query(MediationSession).count() == before


# -- the same button pressed twice: a double tap, a phone resending the POST, two tabs ----


def _outbox_count(app) -> int:
    from mediation.notify.models import OutboxMessage

    with app.app_context():
        return db.session.query(OutboxMessage).count()


def _link_nonces(app, session_id: int) -> dict[int, str]:
    with app.app_context():
        session = db.session.get(MediationSession, session_id)
        return {p.user_id: p.link_nonce for p in session.participants}


GUEST = {"real_name": "张小明", "phone": "13912345678", "relation": "relative", "side": "applicant"}


def _guests(app, session_id: int) -> list[int]:
    with app.app_context():
        session = db.session.get(MediationSession, session_id)
        return [p.user_id for p in session.participants if p.role == "guest"]


def test_a_guest_invited_twice_in_a_row_is_invited_once(app, booked):
    """The guest form sent twice answered the second time with a 422 "this person already
    takes part in the session"; now it says the person was invited, and sends nothing more."""
    from tests.conftest import csrf_token

    client = app.test_client()
    login(client, booked["mediator"], PASSWORD)
    path = f"/sessions/{booked['session_id']}/guests"
    form = GUEST | {"csrf_token": csrf_token(client, f"/cases/{booked['case_id']}")}
    assert "已邀请" in _flashed(client, client.post(path, data=form))
    sent = _outbox_count(app)
    again = client.post(path, data=form)
    assert again.location.endswith(f"/cases/{booked['case_id']}")
    assert "这位人员已经邀请过了" in _flashed(client, again)
    assert len(_guests(app, booked["session_id"])) == 1 and _outbox_count(app) == sent
    # The same person asked to come in another capacity is still a mistake to correct.
    other = client.post(path, data=form | {"relation": "neighbour"})
    assert other.status_code == 422
    assert "此人已经是本次调解的参加人员" in other.get_data(as_text=True)


def test_a_guest_invited_from_two_tabs_at_once_is_invited_once(app, booked):
    from mediation.journal.models import JournalEntry
    from tests.conftest import at_once, csrf_token

    clients = [app.test_client(), app.test_client()]
    for client in clients:
        login(client, booked["mediator"], PASSWORD)
    forms = [GUEST | {"csrf_token": csrf_token(c, f"/cases/{booked['case_id']}")} for c in clients]
    path = f"/sessions/{booked['session_id']}/guests"
    answers = at_once(
        *(lambda c=c, f=f: c.post(path, data=f) for c, f in zip(clients, forms, strict=True))
    )
    assert [a.status_code for a in answers] == [302, 302], answers
    assert len(_guests(app, booked["session_id"])) == 1
    with app.app_context():
        invited = db.session.query(JournalEntry).filter_by(action="session.guest_invited")
        assert invited.count() == 1
