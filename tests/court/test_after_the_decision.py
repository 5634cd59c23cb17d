"""A court's file closes with its decision (a refusal, or its ruling): what the case does
after (the parties applying to another court, that court's steps, a new session) is not in
the packages it downloads later, nor among the recordings it plays. Found by an audit: a
court that refused read, in every package it downloaded again, the whole journal as it
stood, another court's request for materials included (docs/security.md: a court sees the
application sent to it)."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from mediation.accounts.models import CourtLevel, Role
from mediation.court import examination
from mediation.extensions import db, limiter
from tests.conftest import login
from tests.factories import PASSWORD, make_court, make_user

from .conftest import apply_jointly, in_force

SECRET = "第二家法院要求补充的材料：甲方的银行流水"


def refused_then_elsewhere(app) -> dict:
    """Court A refuses the parties' application (not competent); they apply to court B,
    which accepts it and asks for materials (SECRET)."""
    from mediation.court import api as court_api

    with app.app_context():
        world = in_force()
        first = apply_jointly(world)  # to court A
        examination.refuse(first, "no_jurisdiction", "", by=world.clerk)
        court_b = make_court(region_code=world.case.institution.region_code, level=CourtLevel.basic)
        clerk_b = make_user(Role.court_clerk, court_id=court_b.id)
        second = apply_jointly(world, court=court_b)
        examination.accept(second, by=clerk_b)
        examination.request_materials(second, SECRET, 5, by=clerk_b)
        token = court_api.new_token(world.court, "court A's system")
        db.session.commit()
        return {
            "first": first.id,
            "clerk_a": world.clerk.phone,
            "token_a": token,
            "b_number": second.court_case_number,
        }


def test_a_court_that_refused_does_not_read_what_another_court_did_later(app, client):
    made = refused_then_elsewhere(app)
    login(client, made["clerk_a"], PASSWORD)
    package = client.get(f"/court/applications/{made['first']}/package.zip")
    assert package.status_code == 200
    journal = zipfile.ZipFile(io.BytesIO(package.data)).read("journal.json").decode()
    # Court A's package does not carry court B's examination of the case.
    assert SECRET not in journal
    assert made["b_number"] not in json.dumps(json.loads(journal), ensure_ascii=False)


def test_nor_through_the_api(app, client):
    """The same through the court API's /package (same bundle.build)."""
    made = refused_then_elsewhere(app)
    package = client.get(
        f"/api/court/v1/applications/{made['first']}/package",
        headers={"Authorization": f"Bearer {made['token_a']}"},
    )
    assert package.status_code == 200
    assert SECRET not in zipfile.ZipFile(io.BytesIO(package.data)).read("journal.json").decode()


@pytest.fixture
def package_limit(app):
    kept = app.config["COURT_API_PACKAGE_LIMIT"]
    app.config["COURT_API_PACKAGE_LIMIT"] = "2 per day"
    limiter.reset()
    yield 2
    app.config["COURT_API_PACKAGE_LIMIT"] = kept
    limiter.reset()


def test_the_portal_package_is_limited_like_the_api_s(app, client, package_limit):
    """Built, signed and timestamped on each download (bundle.py): the portal's download is
    limited per clerk or judge as the API's is per token (COURT_API_PACKAGE_LIMIT)."""
    with app.app_context():
        world = in_force()
        application = apply_jointly(world)
        db.session.commit()
        path, clerk = f"/court/applications/{application.id}/package.zip", world.clerk.phone
    login(client, clerk, PASSWORD)
    answers = [client.get(path) for _ in range(package_limit + 1)]
    built = [a.data for a in answers if a.status_code == 200]
    assert len(built) == package_limit and len(set(built)) == len(built)  # each built anew
    assert answers[-1].status_code == 429, [a.status_code for a in answers]


def test_a_court_that_refused_plays_the_sessions_before_its_decision_only(app, client):
    from datetime import timedelta

    from mediation.core.db import utcnow
    from mediation.recording import operations as recording
    from tests.recording.test_views import CONTENT
    from tests.signaling.conftest import open_session

    from .test_playback import recorded_and_applied

    made = recorded_and_applied(app)
    with app.app_context():
        from sqlalchemy import select

        from mediation.accounts.models import User
        from mediation.court.models import Application

        application = db.session.get(Application, made["application"])
        clerk = db.session.scalar(select(User).where(User.phone == made["clerk"]))
        examination.refuse(application, "no_jurisdiction", "", by=clerk)
        db.session.commit()
        case = application.case
        # The parties meet again after the refusal (a new agreement, another court).
        start = utcnow() + timedelta(hours=2)  # after the first, which is still on
        later = open_session(case, start=start, uid=f"after-{case.id}")
        db.session.flush()
        file = recording.open_file(later.id, later.participants[1].id, "w", "joint")
        recording.absolute(file).write_bytes(CONTENT)
        recording.finish_file(file, duration=3.0)
        db.session.commit()
        after = file.id
    login(client, made["clerk"], PASSWORD)
    assert client.get(f"/recordings/{made['files']['joint']}.webm").status_code == 200
    assert client.get(f"/recordings/{after}.webm").status_code == 404
