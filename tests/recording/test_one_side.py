"""Recordings of a session held with one side alone (SPC online mediation rules art 16):
labelled with that side, never "joint", whatever group the recorder was told; playable by
that side and the mediator only; they count as the session's record and make its review
video, which only that side and the mediator see."""

from __future__ import annotations

from mediation.cases.models import Side
from mediation.core.db import utcnow
from mediation.extensions import db
from mediation.recording import access
from mediation.recording import operations as recording
from mediation.rooms import operations as rooms
from mediation.rooms.models import Room, RoomMember
from tests.conftest import login
from tests.factories import PASSWORD, make_mediating_case
from tests.one_side import book_one_side

from .test_views import CONTENT


def _recorded(app) -> dict:
    with app.app_context():
        case = make_mediating_case()
        session = book_one_side(case, Side.applicant)
        db.session.add(Room(session_id=session.id, started_at=utcnow()))
        db.session.flush()
        party = next(p for p in session.participants if p.role == "party")
        # The recorder names the room's main group as the layout does: "joint".
        file = recording.open_file(session.id, party.id, "w", "joint")
        recording.absolute(file).write_bytes(CONTENT)
        recording.finish_file(file, duration=3.0)
        db.session.commit()
        applicant, respondent = case.party_users()
        made = {
            "id": file.id,
            "scope": file.scope,
            "case": case.id,
            "session": session.id,
            "applicant": applicant.phone,
            "respondent": respondent.phone,
            "mediator": case.mediator.phone,
        }
        db.session.remove()
    return made


def test_labelled_with_the_side_and_played_by_that_side_and_the_mediator_only(app, client):
    made = _recorded(app)
    assert made["scope"] == "separate:applicant"
    url = f"/recordings/{made['id']}.webm"
    login(client, made["respondent"], PASSWORD)
    assert client.get(url).status_code == 404
    page = client.get(f"/cases/{made['case']}/recordings").get_data(as_text=True)
    assert url not in page
    for who in ("applicant", "mediator"):
        own = app.test_client()
        login(own, made[who], PASSWORD)
        assert own.get(url).status_code == 200
        assert url in own.get(f"/cases/{made['case']}/recordings").get_data(as_text=True)


def test_they_are_the_session_s_record_and_its_review_video_stays_with_the_side(app_ctx):
    case = make_mediating_case()
    session = book_one_side(case, Side.applicant)
    applicant, respondent = case.party_users()
    now = utcnow()
    room = Room(session_id=session.id, started_at=now)
    db.session.add(room)
    for participant in session.participants:
        db.session.add(
            RoomMember(
                participant_id=participant.id,
                session_id=session.id,
                role=participant.role,
                side=None if participant.role == "mediator" else Side.applicant,
                admitted_at=now,
                recording_consent=participant.role != "mediator" or None,
            )
        )
        file = recording.open_file(session.id, participant.id, "w", "joint")
        recording.absolute(file).write_bytes(CONTENT)
        recording.mark_written(file.id, now)
        recording.finish_file(file, duration=3.0)
    db.session.flush()
    # Recorded throughout: the recording may stand for the minutes (art 22).
    assert rooms.recorded_throughout(room)

    from mediation.recording.models import Composition

    db.session.add(Composition(session_id=session.id, path="x.mp4", status="finished"))
    db.session.flush()
    assert access.review_videos(case, respondent) == []
    assert [c.session_id for c in access.review_videos(case, applicant)] == [session.id]
    assert [c.session_id for c in access.review_videos(case, case.mediator)] == [session.id]
