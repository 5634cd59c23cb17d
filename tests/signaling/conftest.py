"""A session whose room is open now, and Socket.IO clients of its participants."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mediation.booking.models import MediationSession, SessionParticipant
from mediation.core.db import utcnow
from mediation.extensions import db, socketio
from tests.conftest import login
from tests.factories import PASSWORD, make_mediating_case


def open_session(case, *, start=None, uid: str | None = None) -> MediationSession:
    """A session that began a few minutes ago, or at ``start`` (written directly: booking
    is tested elsewhere, and its notice rules would not allow it); ``uid``: another than
    the case's first session's."""
    start = start or utcnow() - timedelta(minutes=5)
    session = MediationSession(
        case_id=case.id,
        mediator_id=case.mediator_id,
        start_at=start,
        end_at=start + timedelta(hours=1),
        busy_until=start + timedelta(hours=1),
        local_day=start.date(),
        uid=uid or f"room-{case.id}@test",
        participants=[
            SessionParticipant(user_id=case.mediator_id, role="mediator"),
            *(SessionParticipant(user_id=u.id, role="party") for u in case.party_users()),
        ],
    )
    db.session.add(session)
    db.session.flush()
    return session


@pytest.fixture
def room(app):
    """ids and phones of a session in progress: mediator, applicant (a), respondent (b)."""
    with app.app_context():
        case = make_mediating_case()
        session = open_session(case)
        db.session.commit()
        ids = {p.role if p.role == "mediator" else p.user_id: p.id for p in session.participants}
        applicant, respondent = case.party_users()
        made = {
            "session": session.id,
            "case": case.id,
            "phones": {
                "mediator": case.mediator.phone,
                "a": applicant.phone,
                "b": respondent.phone,
            },
            "ids": {"mediator": ids["mediator"], "a": ids[applicant.id], "b": ids[respondent.id]},
        }
        db.session.remove()
    return made


@pytest.fixture
def connect(app, room):
    """connect("a") -> a Socket.IO test client logged in as that person, in the room."""
    made = []

    def connect(
        who: str,
        *,
        session_id: int | None = None,
        login_first: bool = True,
        resume: str | None = None,
    ):
        client = app.test_client()
        if login_first:
            login(client, room["phones"][who], PASSWORD)
        sock = socketio.test_client(
            app,
            namespace="/room",
            auth={"session": session_id or room["session"], "resume": resume},
            flask_test_client=client,
        )
        made.append(sock)
        return sock

    yield connect
    for sock in made:
        if sock.is_connected("/room"):
            sock.disconnect("/room")
