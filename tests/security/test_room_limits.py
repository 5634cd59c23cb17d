"""Limits on the room's events (issue 15, finding 6), the packets the server refuses before
any handler (finding 5, in the process; tests/security/test_socket_fuzz.py sends them over
the network), and room connections ended with the user's sessions (finding 7)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from mediation.accounts import operations as accounts
from mediation.accounts.models import User
from mediation.config import ConfigurationError, from_environment
from mediation.extensions import db
from mediation.journal.models import JournalEntry
from signaling import guard, limits
from tests.signaling.conftest import connect, room  # noqa: F401  (fixtures)
from tests.signaling.test_rooms import clear, drain, events

NS = "/room"


def errors(sock) -> list[str]:
    return [e["code"] for e in events(sock, "error")]


@pytest.fixture
def still(monkeypatch):
    """The limits' clock stands still: what a test counts against a limit is not refilled
    while a busy machine runs it slowly (a client faster than the test client)."""
    monkeypatch.setattr(limits, "clock", lambda: 1_000.0)


def test_a_flood_of_signals_is_refused_then_disconnected(app, room, connect, monkeypatch):  # noqa: F811
    mediator, a = connect("mediator"), connect("a")
    clear(mediator, a, room["ids"]["a"])
    drain(mediator, a)
    # The clock stands still (as good as a client faster than the test client).
    monkeypatch.setattr(limits, "clock", lambda: 1_000.0)
    signal = {"to": room["ids"]["mediator"], "kind": "candidate", "payload": {}, "version": 0}
    limit = limits.parse_limit(app.config["ROOM_LIMIT_SIGNAL"]).amount
    sent, received = 0, []
    for _ in range(10_000):
        if not a.is_connected(NS):
            break
        a.emit("signal", signal, namespace=NS)
        sent += 1
        if a.is_connected(NS):
            received += a.get_received(NS)
    assert not a.is_connected(NS)
    assert sent == 2 * limit + 1  # the limit, as many refused, and out
    codes = [e["args"][0]["code"] for e in received if e["name"] == "error"]
    assert codes == ["rate_limited"] * limit
    assert len([e for e in mediator.get_received(NS) if e["name"] == "signal"]) == limit
    refused = next(e["args"][0] for e in received if e["name"] == "error")
    assert refused["retry_after"] > 0 and "稍候" in refused["message"]


def test_chat_journal_entries_are_bounded_across_reconnections(app, room, connect, still):  # noqa: F811
    mediator, a = connect("mediator"), connect("a")
    clear(mediator, a, room["ids"]["a"])
    limit = limits.parse_limit(app.config["ROOM_LIMIT_CHAT"]).amount
    for round_ in range(10):  # a new connection does not start the count again
        for n in range(100):
            if not a.is_connected(NS):
                break
            a.emit("chat", {"text": f"刷屏 {round_}-{n}"}, namespace=NS)
        a = connect("a")
    with app.app_context():
        chats = db.session.scalar(
            select(func.count()).where(
                JournalEntry.case_id == room["case"], JournalEntry.action == "room.chat"
            )
        )
    assert 0 < chats <= limit


def test_chat_at_a_human_pace_goes_through(app, room, connect, monkeypatch):  # noqa: F811
    mediator, a = connect("mediator"), connect("a")
    clear(mediator, a, room["ids"]["a"])
    drain(mediator, a)
    clock = [1_000.0]
    monkeypatch.setattr(limits, "clock", lambda: clock[0])
    for n in range(60):  # a line every five seconds for five minutes
        a.emit("chat", {"text": f"第{n}句"}, namespace=NS)
        clock[0] += 5
    assert errors(a) == []
    assert len(events(mediator, "chat")) == 60


def test_unknown_events_are_answered_and_counted(app, room, connect, still):  # noqa: F811
    a = connect("a")
    drain(a)
    a.emit("no_such_event", {"x": 1}, namespace=NS)
    assert errors(a) == ["invalid"]
    limit = limits.parse_limit(app.config["ROOM_LIMIT_EVENTS"]).amount
    for _ in range(3 * limit):
        if not a.is_connected(NS):
            break
        a.emit("no_such_event", {}, namespace=NS)
    assert not a.is_connected(NS)


def test_reconnecting_in_a_loop_is_refused(app, room, connect, still):  # noqa: F811
    limit = limits.parse_limit(app.config["ROOM_LIMIT_CONNECT"]).amount
    accepted = [connect("a").is_connected(NS) for _ in range(limit + 5)]
    assert accepted[:limit] == [True] * limit
    assert not any(accepted[limit:])
    with app.app_context():
        arrivals = db.session.scalar(
            select(func.count()).where(JournalEntry.action == "room.arrived")
        )
    assert arrivals <= limit


def test_limits_are_configured_by_environment_variables():
    settings = from_environment({"MEDIATION_ROOM_LIMIT_CHAT": "5 per minute"})
    assert settings == {"ROOM_LIMIT_CHAT": "5 per minute"}
    assert limits.parse_limit("5 per minute").amount == 5
    with pytest.raises(ConfigurationError):
        limits.parse_limit("often")


def test_a_password_reset_ends_the_user_s_room_connections(app, room, connect):  # noqa: F811
    mediator, a = connect("mediator"), connect("a")
    with app.app_context():
        user = db.session.scalar(select(User).where(User.phone == room["phones"]["a"]))
        accounts.set_password(user, "another-Passw0rd!")
        db.session.rollback()  # not committed: nothing ends
    assert a.is_connected(NS)
    with app.app_context():
        user = db.session.scalar(select(User).where(User.phone == room["phones"]["a"]))
        accounts.set_password(user, "another-Passw0rd!")
        db.session.commit()
    assert not a.is_connected(NS)
    assert mediator.is_connected(NS)  # only that user's
    assert not connect("a").is_connected(NS)  # and the old login cannot come back


def test_a_logout_on_another_device_ends_the_user_s_room_connections(app, room, connect):  # noqa: F811
    """Issue #15, item 7: logging out ends the account's sessions everywhere, the open room
    connection on another device included."""
    from tests.conftest import login, post_form
    from tests.factories import PASSWORD

    mediator, a = connect("mediator"), connect("a")
    assert a.is_connected(NS)
    laptop = app.test_client()
    assert login(laptop, room["phones"]["a"], PASSWORD).status_code == 302
    assert post_form(laptop, "/logout", {}, form_page="/account").status_code == 302
    assert not a.is_connected(NS)
    assert mediator.is_connected(NS)


@pytest.mark.parametrize(
    "frame",
    [
        "2/room,[]",
        "2/room,{}",
        '2/room,"signal"',
        "2/room,[5]",
        '2/room,["disconnect"]',
        '2/room,["connect",{"session":1}]',
        '51-/room,["x",{"_placeholder":true,"num":0}]',
        "3/room,1{}",
        "4/room,{}",
        "7",
        "2/room,[" + "[" * 1_000 + "]" * 1_000 + "]",
        "2/room,[" + "9" * 5_000 + "]",
        '2/room,["chat"',
        "0/room,[1]",
    ],
)
def test_packets_no_client_sends_do_not_decode(frame):
    with pytest.raises(guard.MalformedPacketError):
        guard.CheckedPacket(encoded_packet=frame)


def test_what_clients_send_decodes():
    for frame in ('2/room,["chat",{"text":"好"}]', '0/room,{"session":1}', "1/room,", "3/room,7[]"):
        guard.CheckedPacket(encoded_packet=frame)
    nested = "[" * guard.MAX_DEPTH + "]" * guard.MAX_DEPTH
    assert guard.SafeJSON.loads(nested)
    assert guard.SafeJSON.loads('["[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["]')  # in a string
    with pytest.raises(ValueError, match="nested"):
        guard.SafeJSON.loads("[" + nested + "]")


def test_a_flood_of_offers_from_the_lobby_stops_at_its_budget(app, room, connect, monkeypatch):  # noqa: F811
    """A person waiting may signal the mediator (the lobby link), on a budget of their own
    that a new connection does not refill: 10,000 offers reach the mediator as that many
    at most, whatever the reconnections."""
    mediator, a = connect("mediator"), connect("a")
    drain(mediator, a)
    monkeypatch.setattr(limits, "clock", lambda: 1_000.0)
    offer = {"to": room["ids"]["mediator"], "kind": "offer", "payload": "x", "version": 0}
    budget = limits.parse_limit(app.config["ROOM_LIMIT_LOBBY_SIGNAL"]).amount
    sent = 0
    while sent < 10_000:
        if not a.is_connected(NS):
            a = connect("a")
            if not a.is_connected(NS):
                break  # over the arrivals' limit too
        a.emit("signal", offer, namespace=NS)
        sent += 1
    relayed = [e for e in mediator.get_received(NS) if e["name"] == "signal"]
    assert len(relayed) == budget
    assert sent < 10_000
