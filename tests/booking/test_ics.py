"""Calendar data: every .ics parses with the icalendar package; updates keep the UID and
raise the SEQUENCE; a cancellation is METHOD:CANCEL with the same UID; the private feed."""

import base64

from icalendar import Calendar
from sqlalchemy import select

from mediation.booking import operations as booking
from mediation.booking.models import BookingSettings
from mediation.extensions import db
from mediation.notify.models import OutboxMessage
from tests.booking.conftest import NOW, ahead, at
from tests.conftest import login
from tests.factories import PASSWORD, add_weekly_hours, make_mediating_case


def invitations(address: str) -> list[Calendar]:
    mails = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.recipient == address, OutboxMessage.channel == "email")
        .order_by(OutboxMessage.id)
    ).all()
    return [Calendar.from_ical(base64.b64decode(a["data"])) for m in mails for a in m.attachments]


def the_event(cal: Calendar):
    (event,) = cal.walk("VEVENT")
    return event


def test_booking_rescheduling_and_cancelling_replace_one_calendar_event(case):
    applicant = case.party_users()[0]
    applicant.email = "applicant@example.org"
    session = booking.book(case, by=case.mediator, start=at(24, "09:00"), now=NOW)
    booking.reschedule(session, by=case.mediator, start=at(25, "14:00"), reason="改期", now=NOW)
    booking.cancel(session, by=case.mediator, reason="已和解", now=NOW)
    booked, moved, cancelled = invitations("applicant@example.org")
    assert [str(c["method"]) for c in (booked, moved, cancelled)] == [
        "REQUEST",
        "REQUEST",
        "CANCEL",
    ]
    events = [the_event(c) for c in (booked, moved, cancelled)]
    assert len({str(e["uid"]) for e in events}) == 1
    assert [int(e["sequence"]) for e in events] == [0, 1, 2]
    assert events[0].decoded("dtstart") == at(24, "09:00")
    assert events[1].decoded("dtstart") == at(25, "14:00")
    assert str(events[2]["status"]) == "CANCELLED"
    attendees = [str(a) for a in events[0].get("attendee")]
    assert "mailto:applicant@example.org" in attendees


def test_the_mediators_feed_lists_sessions_and_dies_when_renewed(case, client):
    booking.book(case, by=case.mediator, start=ahead(1, "09:00"))
    second = booking.book(case, by=case.mediator, start=ahead(3, "09:00"))
    booking.cancel(second, by=case.mediator, reason="x")
    token = db.session.get(BookingSettings, case.mediator_id).feed_token
    phone = case.mediator.phone
    db.session.commit()
    response = client.get(f"/booking/feed/{token}.ics")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    cal = Calendar.from_ical(response.data)
    assert "method" not in cal
    statuses = sorted(str(e["status"]) for e in cal.walk("VEVENT"))
    assert statuses == ["CANCELLED", "CONFIRMED"]
    login(client, phone, PASSWORD)
    page = client.get("/booking/availability")
    csrf = page.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    client.post("/booking/feed/renew", data={"csrf_token": csrf})
    assert client.get(f"/booking/feed/{token}.ics").status_code == 404


def test_a_participant_downloads_the_sessions_ics(app, client):
    # Built in its own app context: requests made while a test holds one would share its
    # ``g``, and with it the logged-in user.
    with app.app_context():
        case = make_mediating_case()
        add_weekly_hours(case.mediator)
        session = booking.book(case, by=case.mediator, start=ahead(1, "09:00"))
        applicant_phone, session_id, uid = case.party_users()[0].phone, session.id, session.uid
        db.session.commit()
    outsider = app.test_client()
    assert outsider.get(f"/sessions/{session_id}.ics").status_code == 302
    login(client, applicant_phone, PASSWORD)
    response = client.get(f"/sessions/{session_id}.ics")
    assert response.status_code == 200
    assert str(the_event(Calendar.from_ical(response.data))["uid"]) == uid
