"""The court the parties applied to plays the joint session's recordings (with seeking);
another court, or one whose application was withdrawn, plays nothing; caucuses stay private."""

from __future__ import annotations

from mediation.core.db import utcnow
from mediation.court import application as applying
from mediation.extensions import db
from mediation.recording import operations as recording
from mediation.rooms.models import Room
from tests.conftest import login
from tests.factories import PASSWORD
from tests.recording.test_views import CONTENT
from tests.signaling.conftest import open_session

from .conftest import apply_jointly, in_force


def recorded_and_applied(app) -> dict:
    with app.app_context():
        world = in_force()
        session = open_session(world.case)
        db.session.add(Room(session_id=session.id, started_at=utcnow()))
        db.session.flush()
        files = {}
        for scope in ("joint", "caucus:applicant"):
            file = recording.open_file(session.id, session.participants[1].id, "w", scope)
            recording.absolute(file).write_bytes(CONTENT)
            recording.finish_file(file, duration=3.0)
            files[scope] = file.id
        application = apply_jointly(world)
        db.session.commit()
        return {
            "files": files,
            "application": application.id,
            "clerk": world.clerk.phone,
            "other": world.other_judge.phone,
            "case": world.case.id,
            "party": world.case.party_users()[0].id,
        }


def test_the_court_plays_the_joint_session_and_nothing_else(app, client):
    made = recorded_and_applied(app)
    joint = f"/recordings/{made['files']['joint']}.webm"
    caucus = f"/recordings/{made['files']['caucus:applicant']}.webm"
    login(client, made["clerk"], PASSWORD)
    part = client.get(joint, headers={"Range": "bytes=10-19"})
    assert part.status_code == 206 and part.data == CONTENT[10:20]
    assert client.get(caucus).status_code == 404  # a side's private talk stays its own
    page = client.get(f"/court/applications/{made['application']}").get_data(as_text=True)
    assert joint in page

    other = app.test_client()
    login(other, made["other"], PASSWORD)
    assert other.get(joint).status_code == 404

    with app.app_context():
        from mediation.accounts.models import User
        from mediation.court.models import Application

        application = db.session.get(Application, made["application"])
        applying.withdraw(application, by=db.session.get(User, made["party"]))
        db.session.commit()
    assert client.get(joint).status_code == 404  # withdrawn: the court's access ends
