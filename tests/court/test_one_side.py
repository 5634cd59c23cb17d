"""What the court gets of a session the mediator held with one side alone (SPC online
mediation rules art 16): that it took place and the hashes of its minutes and recordings,
not its words (art 18: concessions may not be turned against a party; art 29 (4): the
mediation's course is not disclosed). The package still verifies, chain included."""

from __future__ import annotations

import json
from datetime import timedelta

from mediation.booking.models import MediationSession, SessionParticipant
from mediation.cases.models import Side
from mediation.core.db import utcnow
from mediation.court import bundle
from mediation.extensions import db
from mediation.minutes import operations as minutes
from mediation.minutes import review
from mediation.recording import operations as recording
from mediation.recording.models import Composition
from mediation.rooms.models import Room, RoomMember
from tests.conftest import login
from tests.factories import PASSWORD
from tests.one_side import SECRET_MINUTES, leaks
from tests.recording.test_views import CONTENT

from .conftest import apply_jointly, in_force


def _with_the_applicant_alone(case) -> MediationSession:
    """A session held with the applicant alone, ended, its minutes final and a file
    recorded (written directly: the agreement is in force, so nothing can be booked)."""
    applicant = case.party_users()[0]
    start = utcnow() - timedelta(hours=2)
    session = MediationSession(
        case_id=case.id,
        mediator_id=case.mediator_id,
        start_at=start,
        end_at=start + timedelta(hours=1),
        busy_until=start + timedelta(hours=1),
        local_day=start.date(),
        side=Side.applicant,
        uid=f"one-side-{case.id}@test",
        participants=[
            SessionParticipant(user_id=case.mediator_id, role="mediator"),
            SessionParticipant(user_id=applicant.id, role="party"),
        ],
    )
    db.session.add(session)
    db.session.flush()
    db.session.add(Room(session_id=session.id, started_at=start, ended_at=utcnow()))
    for participant in session.participants:
        db.session.add(
            RoomMember(
                participant_id=participant.id,
                session_id=session.id,
                role=participant.role,
                side=None if participant.role == "mediator" else Side.applicant,
                admitted_at=start,
            )
        )
    minutes.save(session, SECRET_MINUTES, by=case.mediator)
    minutes.session_ended(session)
    review.close_review(session, minutes.of_session(session.id), by=case.mediator)
    file = recording.open_file(session.id, session.participants[1].id, "w", "joint")
    recording.absolute(file).write_bytes(CONTENT)
    recording.finish_file(file, duration=3.0)
    db.session.add(Composition(session_id=session.id, path="x.mp4", status="finished"))
    db.session.flush()
    return session


def test_the_package_withholds_the_session_s_words_and_keeps_their_hashes(app_ctx):
    world = in_force()
    session = _with_the_applicant_alone(world.case)
    application = apply_jointly(world)
    files = bundle.files_of(application)

    assert f"minutes/session-{session.id}.pdf" not in files
    assert json.loads(files["withheld.json"]) == [
        {
            "session": session.id,
            "side": "applicant",
            "minutes_sha256": minutes.of_session(session.id).document_sha256,
        }
    ]
    scopes = {r["scope"] for r in json.loads(files["recordings.json"])}
    assert scopes == {"separate:applicant"}
    everything = "".join(
        json.dumps(json.loads(files[name]), ensure_ascii=False)
        for name in files
        if name.endswith(".json")
    )
    assert not leaks(everything)
    assert bundle.journal_checks(files) == []  # the chain verifies offline as it is


def test_the_court_plays_nothing_of_it(app, client):
    with app.app_context():
        world = in_force()
        session = _with_the_applicant_alone(world.case)
        application = apply_jointly(world)
        db.session.commit()
        (file,) = recording.of_case(world.case.id)
        made = (file.id, application.id, session.id, world.clerk.phone)
        db.session.remove()
    file_id, application_id, session_id, clerk = made
    login(client, clerk, PASSWORD)
    assert client.get(f"/recordings/{file_id}.webm").status_code == 404
    assert client.get(f"/sessions/{session_id}/review.mp4").status_code == 404
    assert client.get(f"/sessions/{session_id}/minutes").status_code == 404
    page = client.get(f"/court/applications/{application_id}").get_data(as_text=True)
    assert f"/recordings/{file_id}.webm" not in page
    assert f"/sessions/{session_id}/review.mp4" not in page
