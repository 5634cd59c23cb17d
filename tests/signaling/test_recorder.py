"""The recorder in the room protocol: it connects with a lease, is a hidden peer that only
receives, and the layout gives it nobody until the session started and everyone agreed, and
no caucus unless the institution records them."""

from __future__ import annotations

from mediation.accounts.models import Institution
from mediation.cases.models import Case
from mediation.extensions import db, socketio
from mediation.recording import operations as recording
from mediation.rooms.layout import RECORDER
from tests.signaling.test_rooms import NS, clear, events, last_layout


def connect_recorder(app, room, holder: str = "worker-1", *, claim: bool = True):
    with app.app_context():
        if claim:
            recording.claim(room["session"], holder)
            db.session.commit()
        token = recording.token_for(holder, room["session"])
    return socketio.test_client(
        app, namespace=NS, auth={"session": room["session"], "recorder": token}
    )


def everyone_agreed_and_started(room, connect, parties=("a", "b")):
    """The mediator and ``parties`` in the room, each cleared and agreeing to be recorded,
    and the session started: their sockets, the mediator's first."""
    mediator = connect("mediator")
    socks = [connect(who) for who in parties]
    for who, sock in zip(parties, socks, strict=True):
        clear(mediator, sock, room["ids"][who])
        sock.emit("recording_consent", {"consent": True}, namespace=NS)
    mediator.emit("start", {}, namespace=NS)
    return (mediator, *socks)


def test_only_the_worker_holding_the_lease_may_connect(app, room, connect):
    connect("mediator")  # the room exists once someone arrived
    assert not connect_recorder(app, room, claim=False).is_connected(NS)
    recorder = connect_recorder(app, room)
    assert recorder.is_connected(NS)
    welcome = events(recorder, "welcome")[0]
    assert welcome["you"] == {"id": RECORDER, "role": "recorder", "epoch": 1}
    assert welcome["layout"]["peers"] == []  # not started: nobody to record


def test_recorded_after_the_start_and_everyone_s_consent_until_someone_says_no(app, room, connect):
    ids = room["ids"]
    mediator, a, b = connect("mediator"), connect("a"), connect("b")
    recorder = connect_recorder(app, room)
    for who, sock in (("a", a), ("b", b)):
        clear(mediator, sock, ids[who])
        sock.emit("recording_consent", {"consent": True}, namespace=NS)
    assert last_layout(recorder)["peers"] == []  # everyone agreed, but not started
    mediator.emit("start", {}, namespace=NS)
    assert last_layout(recorder)["peers"] == sorted(ids.values())
    for sock in (mediator, a, b):
        layout = last_layout(sock)
        # Let in: "starting" (grey) until its files have frames (test_recording_state.py).
        assert layout["recording_state"] == "starting" and RECORDER in layout["peers"]
        assert not layout["recording"]
        assert layout["caucus_recorded"] is False  # the institution's default, shown

    b.emit("recording_consent", {"consent": False}, namespace=NS)
    assert last_layout(recorder)["peers"] == []
    assert not any(last_layout(sock)["recording"] for sock in (mediator, a, b))


def test_signals_pass_between_the_recorder_and_those_it_records(app, room, connect):
    ids = room["ids"]
    _, a, _ = everyone_agreed_and_started(room, connect)
    recorder = connect_recorder(app, room)
    version = last_layout(recorder)["version"]
    recorder.emit(
        "signal",
        {"to": ids["a"], "kind": "offer", "payload": "v=0", "version": version},
        namespace=NS,
    )
    relayed = events(a, "signal")[-1]
    assert relayed["from"] == RECORDER and relayed["kind"] == "offer"
    a.emit(
        "signal",
        {"to": RECORDER, "kind": "answer", "payload": "v=0", "version": version},
        namespace=NS,
    )
    assert events(recorder, "signal")[-1]["from"] == ids["a"]


def test_a_caucus_is_not_recorded_unless_the_institution_says_so(app, room, connect):
    ids = room["ids"]
    mediator, a, b = everyone_agreed_and_started(room, connect)
    recorder = connect_recorder(app, room)
    mediator.emit("caucus", {"side": "applicant"}, namespace=NS)
    assert last_layout(recorder)["peers"] == []
    version = last_layout(b)["version"]
    b.emit(
        "signal",
        {"to": RECORDER, "kind": "offer", "payload": "x", "version": version},
        namespace=NS,
    )
    assert events(b, "error")[-1]["code"] == "forbidden_pair"
    mediator.emit("caucus", {"side": None}, namespace=NS)
    assert last_layout(recorder)["peers"] == sorted(ids.values())

    with app.app_context():
        case = db.session.get(Case, room["case"])
        db.session.get(Institution, case.institution_id).record_caucus = True
        db.session.commit()
    mediator.emit("caucus", {"side": "applicant"}, namespace=NS)
    assert last_layout(recorder)["peers"] == sorted([ids["mediator"], ids["a"]])
    assert last_layout(a)["caucus_recorded"] is True


def test_a_person_waiting_in_the_lobby_signals_the_mediator_only(app, room, connect):
    """A session recorded with A's consent; B arrives late and waits: B's lobby link goes
    to the mediator, never to the recorder or to A, and the recorder cannot reach B."""
    ids = room["ids"]
    mediator, a = everyone_agreed_and_started(room, connect, parties=("a",))
    recorder = connect_recorder(app, room)
    assert last_layout(recorder)["peers"] == sorted([ids["mediator"], ids["a"]])
    b = connect("b")
    waiting = last_layout(b)
    assert waiting["peers"] == [] and waiting["links"] == [ids["mediator"]]
    assert last_layout(recorder)["links"] == [] and last_layout(a)["links"] == []
    events(mediator, "signal")
    for to in (RECORDER, ids["a"], ids["mediator"]):
        b.emit("signal", {"to": to, "kind": "offer", "payload": "x", "version": 0}, namespace=NS)
    assert [e["code"] for e in events(b, "error")] == ["forbidden_pair"] * 2
    assert [m["from"] for m in events(mediator, "signal")] == [ids["b"]]
    assert events(recorder, "signal") == [] and events(a, "signal") == []
    offer = {"to": ids["b"], "kind": "offer", "payload": "x", "version": 0}
    recorder.emit("signal", offer, namespace=NS)
    assert events(recorder, "error")[-1]["code"] == "forbidden_pair"
    assert events(b, "signal") == []
