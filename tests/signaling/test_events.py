"""Events after the connect run in a lean request context (signaling/events.py): the login
cookie is not read again and no route is matched, but every event is still checked."""

from __future__ import annotations

from flask import request, session
from sqlalchemy import update

from mediation.extensions import db
from mediation.rooms import cache
from mediation.rooms.models import RoomMember

NS = "/room"


def events(sock, name: str) -> list[dict]:
    return [e["args"][0] for e in sock.get_received(NS) if e["name"] == name]


def test_later_events_reuse_the_connections_session_without_reading_the_cookie(app, room, connect):
    mediator = connect("mediator")
    a = connect("a")
    mediator.emit("admit", {"participant": room["ids"]["a"]}, namespace=NS)
    version = events(a, "layout")[-1]["version"]
    interface = app.session_interface
    opened, seen = [], []
    original = interface.open_session
    interface.open_session = lambda *args: opened.append(1) or original(*args)
    namespace = app.extensions["socketio"].server.namespace_handlers[NS]
    signal = type(namespace).on_signal

    def spy(self, *args):
        seen.append((request.url_rule, session.get("participant_id"), request.sid))
        return signal(self, *args)

    type(namespace).on_signal = spy
    try:
        a.emit(
            "signal",
            {"to": room["ids"]["mediator"], "kind": "candidate", "version": version},
            namespace=NS,
        )
    finally:
        type(namespace).on_signal = signal
        interface.open_session = original
    assert events(mediator, "signal")[0]["from"] == room["ids"]["a"]
    assert opened == []  # the cookie was read once, at connect
    url_rule, participant_id, sid = seen[0]
    assert url_rule is None and participant_id == room["ids"]["a"] and sid


def test_a_connection_no_longer_the_participants_own_cannot_relay(app, room, connect):
    """A stale connection: the participant came back on another connection (another web
    process, say) that this one has not heard of. Its next signal is refused and it is
    closed, although its own session still names the participant."""
    mediator = connect("mediator")
    a = connect("a")
    mediator.emit("admit", {"participant": room["ids"]["a"]}, namespace=NS)
    version = events(a, "layout")[-1]["version"]
    with app.app_context():
        db.session.execute(
            update(RoomMember)
            .where(RoomMember.participant_id == room["ids"]["a"])
            .values(sid="elsewhere")
        )
        db.session.commit()
        cache.rooms().forget(room["session"])  # as the other process's message would
    a.emit(
        "signal",
        {"to": room["ids"]["mediator"], "kind": "candidate", "version": version},
        namespace=NS,
    )
    assert not events(mediator, "signal")
    assert not a.is_connected(NS)
