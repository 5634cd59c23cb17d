"""Playing recordings: who may, and seeking with HTTP range requests."""

from __future__ import annotations

from mediation.core.db import utcnow
from mediation.extensions import db
from mediation.recording import operations as recording
from mediation.rooms.models import Room
from tests.conftest import login
from tests.factories import PASSWORD, make_mediating_case
from tests.signaling.conftest import open_session

CONTENT = b"\x1a\x45\xdf\xa3" + bytes(range(256)) * 64


def recorded(app, scope: str = "joint") -> dict:
    with app.app_context():
        case = make_mediating_case()
        other = make_mediating_case()
        session = open_session(case)
        db.session.add(Room(session_id=session.id, started_at=utcnow()))
        db.session.flush()
        file = recording.open_file(session.id, session.participants[1].id, "w", scope)
        recording.absolute(file).write_bytes(CONTENT)
        recording.finish_file(file, duration=3.0)
        db.session.commit()
        applicant, respondent = case.party_users()
        made = {
            "id": file.id,
            "case": case.id,
            "mediator": case.mediator.phone,
            "applicant": applicant.phone,
            "respondent": respondent.phone,
            "stranger": other.party_users()[0].phone,
        }
        db.session.remove()
    return made


def test_the_case_s_people_play_with_seeking_and_others_get_404(app, client):
    made = recorded(app)
    url = f"/recordings/{made['id']}.webm"
    assert client.get(url).status_code in (302, 401)  # not logged in: to the login page
    login(client, made["stranger"], PASSWORD)
    assert client.get(url).status_code == 404
    assert client.get(f"/cases/{made['case']}/recordings").status_code == 404

    for who in ("applicant", "mediator"):
        client = app.test_client()
        login(client, made[who], PASSWORD)
        whole = client.get(url)
        assert whole.status_code == 200 and whole.data == CONTENT
        assert whole.headers["Accept-Ranges"] == "bytes"
        part = client.get(url, headers={"Range": "bytes=100-199"})
        assert part.status_code == 206 and part.data == CONTENT[100:200]
        assert part.headers["Content-Range"] == f"bytes 100-199/{len(CONTENT)}"
        page = client.get(f"/cases/{made['case']}/recordings")
        assert url in page.get_data(as_text=True)


def test_a_recorded_caucus_is_for_its_own_side_only(app, client):
    made = recorded(app, scope="caucus:applicant")
    url = f"/recordings/{made['id']}.webm"
    login(client, made["respondent"], PASSWORD)
    assert client.get(url).status_code == 404
    assert url not in client.get(f"/cases/{made['case']}/recordings").get_data(as_text=True)
    client = app.test_client()
    login(client, made["applicant"], PASSWORD)
    assert client.get(url).status_code == 200


def test_an_institution_administrator_chooses_whether_caucuses_are_recorded(app, client):
    from mediation.accounts.models import Institution, Role
    from tests.conftest import post_form
    from tests.factories import make_institution, make_user

    with app.app_context():
        institution = make_institution()
        admin = make_user(Role.institution_admin, institution_id=institution.id)
        db.session.commit()
        phone, institution_id = admin.phone, institution.id
        db.session.remove()
    login(client, phone, PASSWORD)
    assert "record_caucus" in client.get("/institution/").get_data(as_text=True)
    post_form(client, "/institution/recording", {"record_caucus": "1"}, form_page="/institution/")
    with app.app_context():
        assert db.session.get(Institution, institution_id).record_caucus is True
        db.session.remove()
    post_form(client, "/institution/recording", {}, form_page="/institution/")
    with app.app_context():
        assert db.session.get(Institution, institution_id).record_caucus is False
        db.session.remove()
