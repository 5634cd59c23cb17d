"""Cheap joins (issue 18): what one arrival costs the server in SQL statements, arrivals
told to the room once per tick, and no database read between a let-in and the first offer.
Counts, not times (the times are bench/room_join.py's)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from mediation.extensions import db, socketio
from mediation.rooms.models import ChatMessage
from tests.conftest import login
from tests.factories import PASSWORD

NS = "/room"
# What a member's first arrival reads and writes: the user of the login cookie with their
# place in the session and the session (1), the room locked and counted (1), the member
# read (1), their side and the new row (2; a return updates the row: 1), the journal entry
# (3), whether anything was said in the room (1), and the room as everyone is told it (1).
# The chat so far is one more once something was said.
MOST_STATEMENTS_PER_ARRIVAL = 10
# A departure reads nothing about the member (resolved when the connection opened): the
# room locked and counted, the connection cleared, the journal entry (3), and the room as
# everyone is told it.
MOST_STATEMENTS_PER_DEPARTURE = 6


@contextmanager
def statements(app) -> Iterator[list[str]]:
    """The SQL statements this process runs meanwhile."""
    run: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        run.append(statement)

    def committed(conn) -> None:
        run.append("COMMIT")

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    event.listen(engine, "commit", committed)
    try:
        yield run
    finally:
        event.remove(engine, "before_cursor_execute", count)
        event.remove(engine, "commit", committed)


def logged_in(app, room, who: str):
    client = app.test_client()
    login(client, room["phones"][who], PASSWORD)
    return client


def arrive(app, room, client):
    return socketio.test_client(
        app, namespace=NS, auth={"session": room["session"]}, flask_test_client=client
    )


def received(sock, name: str) -> list[dict]:
    return [e["args"][0] for e in sock.get_received(NS) if e["name"] == name]


def test_an_arrival_runs_a_few_statements_whatever_the_room(app, room):
    clients = {who: logged_in(app, room, who) for who in ("mediator", "a", "b")}
    socks, counts = [], []
    for who in ("mediator", "a", "b"):
        with statements(app) as run:
            socks.append(arrive(app, room, clients[who]))
        assert socks[-1].is_connected(NS)
        counts.append(len([s for s in run if s != "COMMIT"]))
    # The first arrival also makes the room (the lock finding none, then the room read and
    # inserted in a savepoint) and reads the mediator's minutes.
    assert counts[0] <= MOST_STATEMENTS_PER_ARRIVAL + 6
    assert counts[1] <= MOST_STATEMENTS_PER_ARRIVAL
    # The third arrival costs what the second did: nothing grows with who is there.
    assert counts[2] == counts[1]
    with statements(app) as run:
        socks[2].disconnect(NS)
    assert len([s for s in run if s != "COMMIT"]) <= MOST_STATEMENTS_PER_DEPARTURE
    assert run.count("COMMIT") == 1
    with statements(app) as run:  # a return (a reload) is no dearer than a first arrival
        socks[2] = arrive(app, room, clients["b"])
    assert len([s for s in run if s != "COMMIT"]) <= counts[2]
    for sock in socks:
        sock.disconnect(NS)


# A room change: the member acting (with their person and the room: 1), the member acted
# on (with their person: 1), the room locked (1), that member read again under the lock (1),
# the change (1), the journal entry (3), the layout counted (1), the room as everyone is told
# it (1). Confirming an ID number on record confirms it under a savepoint (3 more). The
# party's acknowledgement acts on themself (2 fewer).
MOST_STATEMENTS_PER_CHANGE = {"admit": 10, "confirm_identity": 13, "acknowledge_warning": 8}


def test_a_room_change_runs_a_few_statements(app, room):
    mediator = arrive(app, room, logged_in(app, room, "mediator"))
    a = arrive(app, room, logged_in(app, room, "a"))
    target = {"participant": room["ids"]["a"]}
    for name, sock, data in (
        ("admit", mediator, target),
        ("confirm_identity", mediator, target),
        ("acknowledge_warning", a, {}),
    ):
        with statements(app) as run:
            sock.emit(name, data, namespace=NS)
        assert [e for e in sock.get_received(NS) if e["name"] == "error"] == []
        assert len([s for s in run if s != "COMMIT"]) <= MOST_STATEMENTS_PER_CHANGE[name], run
        assert run.count("COMMIT") == 1
    mediator.disconnect(NS)
    a.disconnect(NS)


def test_no_database_read_between_a_let_in_and_the_first_offer(app, room):
    mediator = arrive(app, room, logged_in(app, room, "mediator"))
    a = arrive(app, room, logged_in(app, room, "a"))
    mediator.get_received(NS)
    with statements(app) as run:
        mediator.emit("admit", {"participant": room["ids"]["a"]}, namespace=NS)
    # The room is read once more under its lock before the commit, and that reading is
    # what everyone is told: nothing is read after the commit.
    assert run[-1] == "COMMIT", run
    layout = received(mediator, "layout")[-1]
    assert layout["peers"] == [room["ids"]["a"]]
    with statements(app) as run:
        mediator.emit(
            "signal",
            {
                "to": room["ids"]["a"],
                "kind": "offer",
                "payload": {"sdp": "v=0"},
                "version": layout["version"],
            },
            namespace=NS,
        )
    assert [s for s in run if s.lstrip().upper().startswith("SELECT")] == []
    assert [m["kind"] for m in received(a, "signal")] == ["offer"]
    mediator.disconnect(NS)
    a.disconnect(NS)


def test_arrivals_within_a_tick_are_told_together(app, room, monkeypatch):
    """The first arrival in a quiet room is told at once; those within the tick after it
    wait for its end and are told together, each member with their own layout."""
    monkeypatch.setitem(app.config, "ROOM_BROADCAST_TICK", 3.0)
    clients = {who: logged_in(app, room, who) for who in ("mediator", "a", "b")}
    mediator = arrive(app, room, clients["mediator"])
    assert received(mediator, "welcome")
    a = arrive(app, room, clients["a"])
    b = arrive(app, room, clients["b"])
    assert received(mediator, "roster") == []  # not yet: at the tick's end
    rosters: list[dict] = []
    deadline = time.monotonic() + 30
    while not rosters and time.monotonic() < deadline:
        time.sleep(0.05)
        rosters = received(mediator, "roster")
    assert len(rosters) == 1, "both arrivals told in one roster"
    present = {m["id"] for m in rosters[0]["members"] if m["present"]}
    assert present == set(room["ids"].values())
    # Everyone has their own layout at the newest version (the newcomers had theirs in
    # their welcome, and get it again).
    for sock in (a, b):
        layouts = received(sock, "layout")
        assert layouts and layouts[-1]["version"] == rosters[0]["version"]
        assert layouts[-1]["group"] == "lobby"
    app.config["ROOM_BROADCAST_TICK"] = 0  # the departures told at once: nothing left due
    for sock in (mediator, a, b):
        sock.disconnect(NS)


def test_the_chat_so_far_is_read_only_once_something_was_said(app, room):
    """An arrival skips the chat history while nothing was said in the room (asked after its
    journal entry), and reads it once something was."""
    mediator = logged_in(app, room, "mediator")
    with statements(app) as run:
        first = arrive(app, room, mediator)
    assert received(first, "welcome")[0]["chat"] == []
    assert not [s for s in run if "FROM chat_messages" in s and "EXISTS" not in s]
    first.disconnect(NS)
    with app.app_context():
        db.session.add(
            ChatMessage(
                session_id=room["session"],
                participant_id=room["ids"]["mediator"],
                scope="joint",
                text="Good morning",
            )
        )
        db.session.commit()
    again = arrive(app, room, mediator)
    chat = received(again, "welcome")[0]["chat"]
    assert [(m["text"], m["scope"]) for m in chat] == [("Good morning", "joint")]
    again.disconnect(NS)


def test_a_first_line_said_while_someone_arrives_reaches_them(app, room):
    """PostgreSQL runs each statement on its own snapshot (READ COMMITTED): a first chat line
    whose transaction is still open when a connection arrives, and commits while the arrival
    waits for the case's journal, is in what the arrival hands the welcome. (Asked in the
    room's UPDATE, before the wait, it was not, and that person never saw the line.)"""
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("SQLite's one writer at a time cannot interleave the two")
    from sqlalchemy import select, text

    from mediation.booking.models import SessionParticipant
    from mediation.rooms import arrival
    from mediation.rooms import operations as rooms
    from mediation.rooms.models import Room, RoomMember

    with app.app_context():  # the mediator in the room, the applicant let in, both away
        for who in ("mediator", "a"):
            participant = db.session.get(SessionParticipant, room["ids"][who])
            arrival.arrive(participant, f"sid-{who}")
        db.session.commit()
        speaker = db.session.get(RoomMember, room["ids"]["mediator"])
        rooms.admit(db.session.get(RoomMember, room["ids"]["a"]), by=speaker)
        db.session.commit()
    said, arrived, outcome = threading.Event(), threading.Event(), {}

    def speak() -> None:
        with app.app_context():
            member = db.session.get(RoomMember, room["ids"]["mediator"])
            rooms.say(member, db.session.get(Room, room["session"]), "早上好")
            said.set()  # said and journaled, not committed: the case's journal head is held
            arrived.wait(30)
            db.session.commit()

    def arrive() -> None:
        said.wait(30)
        with app.app_context():
            participant = db.session.get(SessionParticipant, room["ids"]["a"])
            outcome["arrival"] = arrival.arrive(participant, "sid-a-again")
            outcome["chat"] = [
                m.text
                for m in arrival.history(
                    outcome["arrival"].member, chatted=outcome["arrival"].chatted
                )
            ]
            db.session.commit()

    threads = [threading.Thread(target=speak), threading.Thread(target=arrive)]
    for thread in threads:
        thread.start()
    with app.app_context():  # the arrival waits on the journal's lock: let the line commit
        waiting = (
            select(text("count(*)"))
            .select_from(text("pg_stat_activity"))
            .where(text("wait_event_type = 'Lock' AND datname = current_database()"))
        )
        for _ in range(300):
            if db.session.scalar(waiting):
                break
            db.session.rollback()
            time.sleep(0.05)
        else:
            raise AssertionError("the arrival never waited for the chat line's journal entry")
    arrived.set()
    for thread in threads:
        thread.join(30)
    assert outcome["arrival"].chatted and outcome["chat"] == ["早上好"]


def test_the_login_read_with_the_arrival_is_checked_as_flask_login_checks_it(app, room):
    """A connect reads the login with the person's place in one statement of plain columns
    (``arrival.arriving_by_login``): refused where the user loader refuses (a phone not
    proved), and Flask-Login still decides when that reading finds nobody (a "stay logged
    in" token without the session's login)."""
    from sqlalchemy import select

    from mediation.accounts.models import User
    from tests.conftest import post_form

    phone = room["phones"]["a"]
    client = app.test_client()
    form = {"identifier": phone, "password": PASSWORD, "remember": "y"}
    assert post_form(client, "/login", form).status_code == 302
    cookies = {key[2]: (key[0], cookie.value) for key, cookie in client._cookies.items()}
    assert {"session", "remember_token"} <= set(cookies)
    token_only = app.test_client()
    domain, value = cookies["remember_token"]
    token_only.set_cookie("remember_token", value, domain=domain)
    sock = arrive(app, room, token_only)
    assert sock.is_connected(NS)
    sock.disconnect(NS)
    with app.app_context():
        user = db.session.scalar(select(User).where(User.phone == phone))
        user_id, verified = user.id, user.phone_verified_at
        user.phone_verified_at = None
        db.session.commit()
    assert not arrive(app, room, client).is_connected(NS)
    with app.app_context():
        db.session.get(User, user_id).phone_verified_at = verified
        db.session.commit()
    again = arrive(app, room, client)
    assert again.is_connected(NS)
    again.disconnect(NS)


def test_a_login_ended_or_an_account_closed_cannot_connect_on_the_plain_path(app, room):
    """The same login refused on the connect's plain reading once it no longer holds: the
    user's session version moved on (a logout elsewhere, a new password), or the account
    was closed."""
    from sqlalchemy import select, update

    from mediation.accounts.models import User
    from tests.conftest import post_form

    phone = room["phones"]["a"]
    client = app.test_client()
    form = {"identifier": phone, "password": PASSWORD}
    assert post_form(client, "/login", form).status_code == 302
    first = arrive(app, room, client)
    assert first.is_connected(NS)
    first.disconnect(NS)
    for change in ({"active": False}, {"session_version": User.session_version + 1}):
        with app.app_context():
            user_id = db.session.scalar(select(User.id).where(User.phone == phone))
            db.session.execute(update(User).where(User.id == user_id).values(**change))
            db.session.commit()
        assert not arrive(app, room, client).is_connected(NS)
        with app.app_context():
            db.session.execute(update(User).where(User.id == user_id).values(active=True))
            db.session.commit()
