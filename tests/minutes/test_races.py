"""Two hands on one session's minutes at once, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import functools
import threading

from mediation.booking import operations as booking
from mediation.booking.models import MediationSession
from mediation.core.db import utcnow
from mediation.extensions import db
from mediation.journal import operations as journal
from mediation.minutes import operations as minutes
from mediation.rooms import operations as rooms
from mediation.rooms.models import Room, RoomMember
from tests.booking.race import committed, race_app
from tests.booking.test_races import run_together
from tests.factories import make_mediating_case
from tests.signaling.conftest import open_session

from .conftest import TEXT


def test_the_first_minutes_saved_as_the_room_ends_both_go_through(app, tmp_path, monkeypatch):
    """The mediator saves the session's first minutes from the minutes page while the room
    is ended (another tab). The save held the session's row, to make the minutes once,
    and waited for the case's journal, which the end held while it waited for the session's
    row (to mark the session held): on PostgreSQL a deadlock, and one of the two failed (a
    server error, or a room that did not end). Both go through, and the minutes written
    go out for review with the end."""
    with app.app_context():
        case = make_mediating_case()
        session = open_session(case)
        db.session.add(Room(session_id=session.id, started_at=utcnow()))
        mediator = next(p for p in session.participants if p.role == "mediator")
        # Nobody but the mediator, not let in: no minutes are required to end it.
        db.session.add(
            RoomMember(participant_id=mediator.id, session_id=session.id, role="mediator")
        )
        db.session.commit()
        session_id, member_id = session.id, mediator.id
    racing = race_app(app.config["SQLALCHEMY_DATABASE_URI"], str(tmp_path))
    saving, ending = threading.Event(), threading.Event()
    append, ended = journal.append, booking.session_ended

    def paused_append(case_id, action, *args, **kwargs):
        if action == "minutes.saved":
            saving.set()  # the minutes made, not journaled yet: the end comes now
            ending.wait(2)
        return append(case_id, action, *args, **kwargs)

    def announced(session, **kwargs):
        ending.set()
        return ended(session, **kwargs)

    monkeypatch.setattr(journal, "append", paused_append)
    monkeypatch.setattr(booking, "session_ended", announced)
    out: dict = {}

    run = functools.partial(committed, racing, out)

    def save() -> None:
        def act() -> None:
            session = db.session.get(MediationSession, session_id)
            minutes.save(session, TEXT, by=session.case.mediator)

        run("save", act)

    def end() -> None:
        saving.wait(10)

        def act() -> None:
            member = db.session.get(RoomMember, member_id)
            rooms.end(db.session.get(Room, session_id), by=member)

        run("end", act)

    run_together(save, end)
    with racing.app_context():
        db.engine.dispose()
    assert out == {"save": "done", "end": "done"}, out
    with app.app_context():
        written = minutes.of_session(session_id)
        assert written is not None and written.version == 1
        assert db.session.get(MediationSession, session_id).ended_at is not None
        assert written.review_version == 1  # sent for review as the session ended


def test_minutes_saved_again_as_the_room_ends_both_go_through(app, tmp_path, monkeypatch):
    """The mediator amends minutes already written (the minutes page) while the room is
    ended (another tab). The save held the minutes' row and waited for the case's journal,
    which the end held while it waited for the minutes' row (to send them for review): on
    PostgreSQL a deadlock, and one of the two failed (a server error, or a room that did
    not end). Both go through, one after the other: the amended minutes go out for review
    with the end."""
    with app.app_context():
        case = make_mediating_case()
        session = open_session(case)
        db.session.add(Room(session_id=session.id, started_at=utcnow()))
        mediator = next(p for p in session.participants if p.role == "mediator")
        db.session.add(
            RoomMember(participant_id=mediator.id, session_id=session.id, role="mediator")
        )
        minutes.save(session, TEXT, by=case.mediator)  # written during the session
        db.session.commit()
        session_id, member_id = session.id, mediator.id
    racing = race_app(app.config["SQLALCHEMY_DATABASE_URI"], str(tmp_path))
    saving, ending = threading.Event(), threading.Event()
    append, ended = journal.append, booking.session_ended

    def paused_append(case_id, action, *args, **kwargs):
        if action == "minutes.saved":
            saving.set()  # the new version written, not journaled yet: the end comes now
            ending.wait(2)
        return append(case_id, action, *args, **kwargs)

    def announced(session, **kwargs):
        ending.set()
        return ended(session, **kwargs)

    monkeypatch.setattr(journal, "append", paused_append)
    monkeypatch.setattr(booking, "session_ended", announced)
    out: dict = {}

    run = functools.partial(committed, racing, out)

    def save() -> None:
        def act() -> None:
            session = db.session.get(MediationSession, session_id)
            amended = {**TEXT, "facts": TEXT["facts"] + "\n双方确认剩余三千元未还。"}
            minutes.save(session, amended, by=session.case.mediator)

        run("save", act)

    def end() -> None:
        saving.wait(30)

        def act() -> None:
            member = db.session.get(RoomMember, member_id)
            rooms.end(db.session.get(Room, session_id), by=member)

        run("end", act)

    run_together(save, end)
    with racing.app_context():
        db.engine.dispose()
    assert out == {"save": "done", "end": "done"}, out
    with app.app_context():
        written = minutes.of_session(session_id)
        assert written.version == 2 and "剩余三千元" in written.facts
        assert db.session.get(MediationSession, session_id).ended_at is not None
        assert written.review_version == 2  # the amended minutes went out with the end
