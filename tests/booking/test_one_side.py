"""A session booked with one side alone (SPC online mediation rules art 16): only that side
is invited and may enter; on the case page the other side sees that it took place, and
nothing more (no minutes link, no guests, no reason)."""

from __future__ import annotations

from mediation.booking import operations as booking
from mediation.cases.models import Side
from mediation.extensions import db
from mediation.rooms import operations as rooms
from tests.conftest import login
from tests.factories import PASSWORD, make_mediating_case
from tests.one_side import book_one_side


def test_only_that_side_is_invited_and_may_enter(app_ctx):
    case = make_mediating_case()
    session = book_one_side(case, Side.applicant)
    applicant, respondent = case.party_users()
    assert {p.user_id for p in session.participants} == {case.mediator_id, applicant.id}
    assert rooms.participant_for(session.id, respondent) is None
    assert rooms.participant_for(session.id, applicant) is not None
    assert session.hidden_from(respondent)
    assert not session.hidden_from(applicant) and not session.hidden_from(case.mediator)


def test_the_case_page_shows_the_other_side_the_time_only(app, client):
    with app.app_context():
        case = make_mediating_case()
        session = book_one_side(case, Side.applicant)
        booking.invite_guest(
            session,
            by=case.mediator,
            real_name="王小红",
            phone="13912345678",
            relation="relative",
            side=Side.applicant,
        )
        db.session.commit()
        applicant, respondent = case.party_users()
        made = (case.id, session.id, applicant.phone, respondent.phone)
        db.session.remove()
    case_id, session_id, applicant_phone, respondent_phone = made
    minutes_link = f"/sessions/{session_id}/minutes"

    login(client, respondent_phone, PASSWORD)
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "申请人" in page  # the session with the applicant is listed...
    assert minutes_link not in page and "王小红" not in page  # ...with nothing of it

    own = app.test_client()
    login(own, applicant_phone, PASSWORD)
    page = own.get(f"/cases/{case_id}").get_data(as_text=True)
    assert minutes_link in page and "王小红" in page
