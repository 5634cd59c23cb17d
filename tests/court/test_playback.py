"""The court the parties applied to plays the joint session's recordings (with seeking);
another court, or one whose application was withdrawn, plays nothing; caucuses stay private."""

from __future__ import annotations

from pathlib import Path

from mediation.core.db import utcnow
from mediation.core.i18n import format_when
from mediation.court import application as applying
from mediation.extensions import db
from mediation.recording import operations as recording
from mediation.recording.models import Composition
from mediation.rooms.models import Room
from tests.conftest import login
from tests.factories import PASSWORD
from tests.recording.test_views import CONTENT
from tests.signaling.conftest import open_session

from .conftest import apply_jointly, in_force

MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64


def recorded_and_applied(app, *, review: bool = False) -> dict:
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
        if review:
            # The joint session's review video (everyone side by side), as the recorder
            # makes it; the court's page then shows it instead of each file.
            path = f"compositions/playback-{session.id}.mp4"
            (Path(app.config["STORAGE_DIR"]) / path).parent.mkdir(parents=True, exist_ok=True)
            (Path(app.config["STORAGE_DIR"]) / path).write_bytes(MP4)
            db.session.add(
                Composition(session_id=session.id, path=path, status="finished", size=len(MP4))
            )
        application = apply_jointly(world)
        db.session.commit()
        return {
            "session": session.id,
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
    assert client.get(joint).status_code == 410  # withdrawn: the court's access ends


def test_after_a_withdrawal_the_court_is_told_who_withdrew_and_when(app):
    """SPC provisions art 5 para 2: a party withdrew the application before the ruling; the
    court's access to its files ends. The clerk whose page still shows the recordings is
    told who withdrew it and when, with the way back to the application (410), not a blank
    404; the page itself says so. Whoever could not play a file before (another court, a
    side's caucus) still gets the plain 404, told nothing."""
    made = recorded_and_applied(app, review=True)
    joint = f"/recordings/{made['files']['joint']}.webm"
    caucus = f"/recordings/{made['files']['caucus:applicant']}.webm"
    review = f"/sessions/{made['session']}/review.mp4"
    detail = f"/court/applications/{made['application']}"
    clerk = app.test_client()
    login(clerk, made["clerk"], PASSWORD)
    assert clerk.get(review).status_code == 200  # before: the court plays it
    with app.test_request_context():
        from mediation.accounts.models import User
        from mediation.court.models import Application

        application = db.session.get(Application, made["application"])
        party = db.session.get(User, made["party"])
        applying.withdraw(application, by=party)
        db.session.commit()
        said = (
            f"{party.real_name}已于{format_when(application.withdrawn_at)}撤回司法确认申请，"
            "法院已不能再查阅其材料和调解录像。"
        )

    for url, headers in ((joint, {}), (joint, {"Range": "bytes=0-9"}), (review, {})):
        answer = clerk.get(url, headers=headers)
        text = answer.get_data(as_text=True)
        assert answer.status_code == 410, (url, answer.status_code)
        assert said in text and f'href="{detail}"' in text, url
        assert CONTENT not in answer.data and MP4 not in answer.data
    page = clerk.get(detail).get_data(as_text=True)
    assert said in page and joint not in page and review not in page

    # Nobody learns more than before: a side's caucus was never the court's; another court
    # never had the application; the parties still play their sessions.
    for client, url in ((clerk, caucus), (_as(app, made["other"]), joint)):
        refused = client.get(url)
        assert refused.status_code == 404 and "撤回" not in refused.get_data(as_text=True), url
    other_review = _as(app, made["other"]).get(review)
    assert other_review.status_code == 404 and "撤回" not in other_review.get_data(as_text=True)
    with app.app_context():
        from mediation.accounts.models import User

        phone = db.session.get(User, made["party"]).phone
    assert _as(app, phone).get(joint).status_code == 200


def _as(app, phone: str):
    client = app.test_client()
    login(client, phone, PASSWORD)
    return client
