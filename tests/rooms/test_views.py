"""The room's page once the session has ended: it says so and leads on, to the minutes for
those who read them (the case's parties and mediator) and to "my sessions" for everyone."""

from __future__ import annotations

from mediation.booking.models import SessionParticipant
from mediation.core.db import utcnow
from mediation.extensions import db
from tests.conftest import login
from tests.factories import PASSWORD, make_mediating_case, make_user
from tests.signaling.conftest import open_session


def test_after_the_end_a_guest_is_not_led_to_minutes_they_may_not_read(app, client):
    with app.app_context():
        case = make_mediating_case()
        session = open_session(case)
        guest = make_user(real_name="王律师")
        session.participants.append(
            SessionParticipant(user_id=guest.id, role="guest", side="applicant")
        )
        session.ended_at = utcnow()
        db.session.commit()
        path = f"/sessions/{session.id}/room"
        minutes = f"/sessions/{session.id}/minutes"
        phones = {"guest": guest.phone, "party": case.party_users()[0].phone}
    seen = {}
    for who, phone in phones.items():
        c = app.test_client()
        login(c, phone, PASSWORD)
        page = c.get(path)
        assert page.status_code == 200
        seen[who] = minutes in page.get_data(as_text=True)
        assert "/sessions" in page.get_data(as_text=True)  # "my sessions", for everyone
    assert seen == {"guest": False, "party": True}
