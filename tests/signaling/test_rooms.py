"""The room namespace: who may connect, admission and identity, the relay rules the layout
decides, the caucus, chat scopes, reconnection, malformed events."""

from __future__ import annotations

import logging

from sqlalchemy import select

from mediation.accounts.models import User
from mediation.booking.models import MediationSession
from mediation.core.db import utcnow
from mediation.extensions import db
from mediation.journal.models import JournalEntry

NS = "/room"


def events(sock, name: str) -> list[dict]:
    return [e["args"][0] for e in sock.get_received(NS) if e["name"] == name]


def drain(*socks) -> None:
    for sock in socks:
        sock.get_received(NS)


def clear(mediator, sock, participant_id: int) -> None:
    """Admit, confirm the identity of, and warn one party (art 17)."""
    mediator.emit("admit", {"participant": participant_id}, namespace=NS)
    mediator.emit("confirm_identity", {"participant": participant_id}, namespace=NS)
    sock.emit("acknowledge_warning", {}, namespace=NS)


def last_layout(sock) -> dict:
    received = sock.get_received(NS)
    layouts = [e["args"][0] for e in received if e["name"] in ("layout", "welcome")]
    last = layouts[-1]
    return last.get("layout", last)


def test_no_login_another_session_or_a_closed_room_is_refused(app, room, connect):
    assert not connect("a", login_first=False).is_connected(NS)
    assert not connect("a", session_id=room["session"] + 999).is_connected(NS)
    with app.app_context():
        session = db.session.get(MediationSession, room["session"])
        session.status = "cancelled"
        db.session.commit()
    assert not connect("a").is_connected(NS)


def test_parties_wait_in_the_lobby_until_admitted_then_media_flows(room, connect):
    mediator = connect("mediator")
    a = connect("a")
    assert mediator.is_connected(NS) and a.is_connected(NS)
    welcome = events(a, "welcome")[0]
    assert welcome["layout"]["group"] == "lobby" and welcome["layout"]["peers"] == []
    # No media from or to the lobby; only the connection to the mediator made ready.
    assert welcome["layout"]["links"] == [room["ids"]["mediator"]]
    waiting = last_layout(mediator)
    assert waiting["peers"] == [] and waiting["links"] == [room["ids"]["a"]]
    mediator.emit("admit", {"participant": room["ids"]["a"]}, namespace=NS)
    layout_a = last_layout(a)
    assert layout_a["group"] == "joint" and layout_a["peers"] == [room["ids"]["mediator"]]
    assert layout_a["links"] == []
    assert last_layout(mediator)["peers"] == [room["ids"]["a"]]
    a.emit(
        "signal",
        {
            "to": room["ids"]["mediator"],
            "kind": "offer",
            "payload": {"sdp": "v=0"},
            "version": layout_a["version"],
        },
        namespace=NS,
    )
    relayed = events(mediator, "signal")
    assert relayed == [
        {
            "epoch": 1,
            "from": room["ids"]["a"],
            "kind": "offer",
            "payload": {"sdp": "v=0"},
            "version": layout_a["version"],
        }
    ]


def signal(sock, to: int, version: int, kind: str = "offer") -> None:
    data = {"to": to, "kind": kind, "payload": {"sdp": "v=0"}, "version": version}
    sock.emit("signal", data, namespace=NS)


def test_only_a_person_waiting_and_the_mediator_signal_across_the_lobby(room, connect):
    """The lobby link: a person waiting and the mediator may make their connection (its
    signaling only: no media, layout "peers" stays empty), never two parties."""
    ids = room["ids"]
    mediator, a, b = connect("mediator"), connect("a"), connect("b")
    assert last_layout(mediator)["links"] == [ids["a"], ids["b"]]
    version = last_layout(a)["version"]
    drain(mediator, a, b)
    signal(a, ids["mediator"], version)
    signal(mediator, ids["a"], version, "candidate")
    assert [(m["from"], m["kind"]) for m in events(mediator, "signal")] == [(ids["a"], "offer")]
    assert [(m["from"], m["kind"]) for m in events(a, "signal")] == [(ids["mediator"], "candidate")]
    signal(a, ids["b"], version)  # two people waiting
    assert events(a, "error")[0]["code"] == "forbidden_pair"
    mediator.emit("admit", {"participant": ids["b"]}, namespace=NS)
    let_in = last_layout(b)
    assert let_in["links"] == [] and last_layout(a)["links"] == [ids["mediator"]]
    drain(mediator, a, b)
    signal(a, ids["b"], let_in["version"])  # waiting -> a party let in
    signal(b, ids["a"], let_in["version"])  # and back
    assert [e["code"] for e in events(a, "error") + events(b, "error")] == ["forbidden_pair"] * 2
    assert events(a, "signal") == [] and events(b, "signal") == []


def test_a_caucus_while_someone_waits_keeps_the_link_and_nothing_else(room, connect):
    """The mediator in a caucus with B's side; A (the other side) waits in the lobby: their
    link stays (no media on it), and ends when A is let in to wait outside the caucus."""
    ids = room["ids"]
    mediator, a, b = connect("mediator"), connect("a"), connect("b")
    clear(mediator, b, ids["b"])
    mediator.emit("caucus", {"side": "respondent"}, namespace=NS)
    outside = last_layout(a)
    assert outside["peers"] == [] and outside["links"] == [ids["mediator"]]
    held = last_layout(mediator)
    assert held["peers"] == [ids["b"]] and held["links"] == [ids["a"]]
    drain(mediator, a, b)
    signal(a, ids["mediator"], outside["version"])
    assert [m["from"] for m in events(mediator, "signal")] == [ids["a"]]
    mediator.emit("admit", {"participant": ids["a"]}, namespace=NS)
    let_in = last_layout(a)
    assert let_in["group"] == "waiting:applicant"
    assert let_in["peers"] == [] and let_in["links"] == []
    assert last_layout(mediator)["links"] == []
    drain(mediator, a)
    signal(a, ids["mediator"], let_in["version"])
    assert events(a, "error")[0]["code"] == "forbidden_pair"
    assert events(mediator, "signal") == []


def test_leaving_the_lobby_ends_the_link(room, connect):
    ids = room["ids"]
    mediator, a = connect("mediator"), connect("a")
    version = last_layout(a)["version"]
    a.disconnect(NS)
    assert last_layout(mediator)["links"] == []
    drain(mediator)
    signal(mediator, ids["a"], version, "candidate")
    assert events(mediator, "error")[0]["code"] == "forbidden_pair"


def test_an_old_layout_version_is_corrected_and_the_message_still_relayed(room, connect):
    mediator = connect("mediator")
    a = connect("a")
    mediator.emit("admit", {"participant": room["ids"]["a"]}, namespace=NS)
    version = last_layout(a)["version"]
    connect("b")  # someone arrives in the lobby: the layout changes, A and the mediator stay
    drain(a, mediator)
    a.emit(
        "signal",
        {"to": room["ids"]["mediator"], "kind": "candidate", "payload": {}, "version": version},
        namespace=NS,
    )
    received = a.get_received(NS)
    assert not [e for e in received if e["name"] == "error"]
    corrected = [e["args"][0] for e in received if e["name"] == "layout"][-1]
    assert corrected["version"] > version
    assert events(mediator, "signal")[0]["version"] == corrected["version"]
    # Once the layout no longer joins them, an old version is no excuse.
    mediator.emit("caucus", {"side": "respondent"}, namespace=NS)
    drain(a)
    a.emit(
        "signal",
        {"to": room["ids"]["mediator"], "kind": "offer", "payload": {}, "version": version},
        namespace=NS,
    )
    assert events(a, "error")[0]["code"] == "forbidden_pair"


def test_a_caucus_keeps_the_other_side_out_of_media_and_chat(app, room, connect):
    mediator, a, b = connect("mediator"), connect("a"), connect("b")
    clear(mediator, a, room["ids"]["a"])
    clear(mediator, b, room["ids"]["b"])
    drain(a, b)
    mediator.emit("caucus", {"side": "applicant"}, namespace=NS)
    in_caucus, outside = last_layout(a), last_layout(b)
    assert in_caucus["group"] == "caucus:applicant" and in_caucus["peers"] == [
        room["ids"]["mediator"]
    ]
    assert outside["group"] == "waiting:respondent" and outside["peers"] == []
    assert outside["caucus"] == "applicant"  # B's page shows that the mediator is with A
    b.emit(
        "signal",
        {
            "to": room["ids"]["mediator"],
            "kind": "offer",
            "payload": {},
            "version": outside["version"],
        },
        namespace=NS,
    )
    assert events(b, "error")[0]["code"] == "forbidden_pair"
    drain(a, b)
    mediator.emit("chat", {"text": "您的底线是多少？"}, namespace=NS)
    assert [m["text"] for m in events(a, "chat")] == ["您的底线是多少？"]
    assert events(b, "chat") == []
    mediator.emit("caucus", {"side": None}, namespace=NS)
    assert last_layout(b)["peers"] == sorted([room["ids"]["mediator"], room["ids"]["a"]])
    # The journal keeps the caucus talk, and hides it from the other side.
    b_client = app.test_client()
    from tests.conftest import login
    from tests.factories import PASSWORD

    login(b_client, room["phones"]["b"], PASSWORD)
    as_b = b_client.get(f"/cases/{room['case']}/journal.json").get_json()
    chats = [e for e in as_b["entries"] if e["action"] == "room.chat"]
    assert chats and all(e["payload"]["text"] == "—" for e in chats)
    mediator_client = app.test_client()
    login(mediator_client, room["phones"]["mediator"], PASSWORD)
    as_mediator = mediator_client.get(f"/cases/{room['case']}/journal.json").get_json()
    assert any(e["payload"].get("text") == "您的底线是多少？" for e in as_mediator["entries"])


def test_identity_and_the_warning_come_before_the_start(app, room, connect):
    mediator, a = connect("mediator"), connect("a")
    mediator.emit("admit", {"participant": room["ids"]["a"]}, namespace=NS)
    drain(mediator)
    mediator.emit("start", {}, namespace=NS)
    assert events(mediator, "error")[0]["code"] == "not_ready"
    mediator.emit("confirm_identity", {"participant": room["ids"]["a"]}, namespace=NS)
    a.emit("acknowledge_warning", {}, namespace=NS)
    a.emit("recording_consent", {"consent": True}, namespace=NS)
    a.emit("confirm_identity", {"participant": room["ids"]["a"]}, namespace=NS)  # not theirs
    assert events(a, "error")[-1]["code"] == "forbidden"
    drain(mediator)
    mediator.emit("start", {}, namespace=NS)
    assert events(mediator, "error") == []
    with app.app_context():
        actions = db.session.scalars(
            select(JournalEntry.action).where(JournalEntry.case_id == room["case"])
        ).all()
    for action in (
        "room.admitted",
        "room.identity_confirmed",
        "room.warning_acknowledged",
        "room.recording_consent",
        "room.started",
    ):
        assert action in actions
    with app.app_context():
        # The ID number the applicant claimed is now confirmed, by the mediator, once.
        applicant = db.session.scalar(select(User).where(User.phone == room["phones"]["a"]))
        assert applicant.id_confirmed_at is not None
        assert applicant.id_confirmed_by.phone == room["phones"]["mediator"]


def test_a_dropped_connection_comes_back_to_the_same_place(room, connect):
    mediator, a, _ = connect("mediator"), connect("a"), connect("b")
    for who in ("a", "b"):
        mediator.emit("admit", {"participant": room["ids"][who]}, namespace=NS)
    mediator.emit("caucus", {"side": "applicant"}, namespace=NS)
    a.disconnect(NS)
    assert last_layout(mediator)["peers"] == []
    again = connect("a")
    assert events(again, "welcome")[0]["layout"]["group"] == "caucus:applicant"
    assert last_layout(mediator)["peers"] == [room["ids"]["a"]]


def test_a_page_back_before_the_server_saw_it_leave_keeps_its_media(room, connect):
    mediator, first = connect("mediator"), connect("a")
    mediator.emit("admit", {"participant": room["ids"]["a"]}, namespace=NS)
    epoch = events(first, "welcome")[0]["you"]["epoch"]
    # Another device that knows the public epoch cannot take the page's place as it is.
    other = connect("a", resume="0" * 64)
    welcome = events(other, "welcome")[0]["you"]
    assert welcome["epoch"] == epoch + 1
    # The page itself, back after a network drop the server did not notice, keeps its epoch.
    again = connect("a", resume=welcome["resume"])
    assert not other.is_connected(NS)
    resumed = events(again, "welcome")[0]["you"]
    assert resumed["epoch"] == epoch + 1
    assert last_layout(mediator)["epochs"][str(room["ids"]["a"])] == epoch + 1  # peers go on
    # Once the server has seen the page leave, its return is a new connection for everyone.
    again.disconnect(NS)
    back = connect("a", resume=resumed["resume"])
    assert events(back, "welcome")[0]["you"]["epoch"] == epoch + 2


def test_malformed_and_oversized_events_get_an_error_and_no_exception(room, connect, caplog):
    mediator = connect("mediator")
    drain(mediator)
    with caplog.at_level(logging.WARNING):
        mediator.emit("signal", "not an object", namespace=NS)
        mediator.emit("signal", {"to": "x", "kind": "offer", "version": 1}, namespace=NS)
        mediator.emit("signal", {"to": 1, "kind": "shout", "version": 1}, namespace=NS)
        mediator.emit("chat", {"text": "x" * 70_000}, namespace=NS)
        mediator.emit("admit", {"participant": 99999}, namespace=NS)
        mediator.emit("caucus", {"side": "everyone"}, namespace=NS)
    codes = [e["code"] for e in events(mediator, "error")]
    assert codes == ["invalid", "invalid", "invalid", "invalid", "unknown", "invalid"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert mediator.is_connected(NS)


def test_the_mediator_ends_the_session_for_everyone(room, connect):
    mediator, a = connect("mediator"), connect("a")
    mediator.emit("admit", {"participant": room["ids"]["a"]}, namespace=NS)
    drain(a)
    mediator.emit("minutes", {"facts": "双方确认租赁合同于2025年3月签订"}, namespace=NS)
    mediator.emit("end", {}, namespace=NS)
    received = a.get_received(NS)
    assert any(e["name"] == "ended" for e in received)
    assert [e["args"][0] for e in received if e["name"] == "layout"][-1]["peers"] == []
    a.emit("chat", {"text": "还在吗"}, namespace=NS)
    assert not a.is_connected(NS)  # the next event finds the room closed: disconnected
    assert not connect("b").is_connected(NS)  # an ended room takes nobody in


def test_a_cancelled_session_closes_connections_at_their_next_event(app, room, connect):
    mediator = connect("mediator")
    with app.app_context():
        session = db.session.get(MediationSession, room["session"])
        session.status = "cancelled"
        db.session.commit()
    mediator.emit("chat", {"text": "大家好"}, namespace=NS)
    assert not mediator.is_connected(NS)


def test_a_cancelled_session_stops_relays_at_once(app, room, connect):
    """Relays are checked against a reading of the room kept in memory (rooms/cache.py); a
    cancellation drops it like any change of the room."""
    mediator, a = connect("mediator"), connect("a")
    mediator.emit("admit", {"participant": room["ids"]["a"]}, namespace=NS)
    signal = {"to": room["ids"]["mediator"], "kind": "candidate", "payload": {}, "version": 0}
    a.emit("signal", signal, namespace=NS)
    assert events(mediator, "signal")  # relayed, and the room's reading kept
    with app.app_context():
        db.session.get(MediationSession, room["session"]).status = "cancelled"
        db.session.commit()
    a.emit("signal", signal, namespace=NS)
    assert not a.is_connected(NS)  # told "ended", and closed


def test_a_second_connection_replaces_the_first(room, connect):
    mediator = connect("mediator")
    first = connect("a")
    mediator.emit("admit", {"participant": room["ids"]["a"]}, namespace=NS)
    second = connect("a")
    assert not first.is_connected(NS) and second.is_connected(NS)
    welcome = events(second, "welcome")[0]
    assert welcome["layout"]["group"] == "joint"  # still admitted
    assert last_layout(mediator)["epochs"][str(room["ids"]["a"])] == 2


def test_parties_meet_each_other_only_once_identified_and_warned(room, connect):
    mediator, a, b = connect("mediator"), connect("a"), connect("b")
    for who in ("a", "b"):
        mediator.emit("admit", {"participant": room["ids"][who]}, namespace=NS)
    assert last_layout(a)["peers"] == [room["ids"]["mediator"]]  # the mediator only
    # A identified and warned, B only identified: still apart (art 17 needs both steps).
    mediator.emit("confirm_identity", {"participant": room["ids"]["a"]}, namespace=NS)
    a.emit("acknowledge_warning", {}, namespace=NS)
    mediator.emit("confirm_identity", {"participant": room["ids"]["b"]}, namespace=NS)
    assert last_layout(a)["peers"] == [room["ids"]["mediator"]]
    assert last_layout(b)["peers"] == [room["ids"]["mediator"]]
    b.emit("acknowledge_warning", {}, namespace=NS)
    assert last_layout(a)["peers"] == sorted([room["ids"]["mediator"], room["ids"]["b"]])


def test_events_with_odd_arguments_or_values_get_errors_not_exceptions(room, connect, caplog):
    mediator = connect("mediator")
    drain(mediator)
    with caplog.at_level(logging.WARNING):
        mediator.emit("chat", {"text": "a"}, {"extra": 1}, namespace=NS)
        mediator.emit("chat", {"text": "nul\x00byte"}, namespace=NS)
        mediator.emit("admit", {"participant": 2**40}, namespace=NS)
        mediator.emit("admit", {"participant": -1}, namespace=NS)
    assert [e["code"] for e in events(mediator, "error")] == ["invalid"] * 4
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_only_the_mediator_sees_the_masked_id_numbers(room, connect):
    mediator, a = connect("mediator"), connect("a")
    roster_m = events(mediator, "roster")[-1]["members"]
    roster_a = events(a, "roster")[-1]["members"]
    party = next(m for m in roster_m if m["id"] == room["ids"]["a"])
    assert "*" in party["id_number"]
    assert all(m["id_number"] is None for m in roster_a)


def test_a_session_that_is_over_is_refused(app, room, connect):
    from datetime import timedelta

    with app.app_context():
        session = db.session.get(MediationSession, room["session"])
        session.start_at -= timedelta(hours=3)  # ended two hours ago: the link has expired
        session.end_at -= timedelta(hours=3)
        session.busy_until = session.end_at
        db.session.commit()
    assert not connect("a").is_connected(NS)


def test_guests_are_identified_and_stay_with_their_side_in_a_caucus(app, room, connect):
    from mediation.booking import operations as booking
    from mediation.booking.models import SessionParticipant
    from tests.factories import PASSWORD

    with app.app_context():
        session = db.session.get(MediationSession, room["session"])
        relative = booking.invite_guest(
            session,
            by=session.mediator,
            real_name="张小明",
            phone="13912345678",
            relation="relative",
            side="applicant",
        )
        expert = booking.invite_guest(
            session,
            by=session.mediator,
            real_name="李工程师",
            phone="13912345679",
            relation="expert",
            side=None,
        )
        neighbour = booking.invite_guest(
            session,
            by=session.mediator,
            real_name="赵邻居",
            phone="13912345670",
            relation="neighbour",
            side="respondent",
        )
        for guest in (relative, expert, neighbour):
            from mediation.accounts import operations as accounts

            accounts.set_password(guest.user, PASSWORD)
            guest.user.phone_verified_at = utcnow()  # as if they had entered their code
        db.session.commit()
        room["phones"].update(rel="+8613912345678", exp="+8613912345679", nb="+8613912345670")
        room["ids"].update(rel=relative.id, exp=expert.id, nb=neighbour.id)
        assert db.session.get(SessionParticipant, relative.id).role == "guest"
    mediator, a, b = connect("mediator"), connect("a"), connect("b")
    rel, exp, nb = connect("rel"), connect("exp"), connect("nb")
    for who, sock in (("a", a), ("b", b), ("rel", rel), ("exp", exp), ("nb", nb)):
        clear(mediator, sock, room["ids"][who])
    mediator.emit("caucus", {"side": "applicant"}, namespace=NS)
    assert last_layout(a)["peers"] == sorted([room["ids"]["mediator"], room["ids"]["rel"]])
    outside = last_layout(nb)
    assert outside["group"] == "waiting:respondent"
    assert outside["peers"] == [room["ids"]["b"]]  # with their own side only
    expert_layout = last_layout(exp)
    assert expert_layout["group"] == "waiting:None" and expert_layout["peers"] == []
    with app.app_context():
        confirmed = db.session.scalars(
            select(JournalEntry.payload).where(JournalEntry.action == "room.identity_confirmed")
        ).all()
    assert {p["role"] for p in confirmed} == {"party", "guest"}


def test_a_party_of_the_case_cannot_be_invited_as_a_guest(app, room):
    import pytest

    from mediation.booking import operations as booking
    from mediation.core.forms import FieldError

    with app.app_context():
        session = db.session.get(MediationSession, room["session"])
        respondent = session.case.party_users()[1]
        with pytest.raises(FieldError, match="当事人"):
            booking.invite_guest(
                session,
                by=session.mediator,
                real_name=respondent.real_name,
                phone=respondent.phone,
                relation="relative",
                side="applicant",
            )
        with pytest.raises(FieldError):  # someone else's number, another name
            booking.invite_guest(
                session,
                by=session.mediator,
                real_name="冒名者",
                phone=respondent.phone,
                relation="relative",
                side="applicant",
            )


def test_without_everyone_s_consent_the_session_ends_only_with_minutes(room, connect):
    mediator, a, b = connect("mediator"), connect("a"), connect("b")
    for who, sock in (("a", a), ("b", b)):
        clear(mediator, sock, room["ids"][who])
    a.emit("recording_consent", {"consent": True}, namespace=NS)
    b.emit("recording_consent", {"consent": False}, namespace=NS)
    b.emit("recording_consent", {"consent": True}, namespace=NS)  # once refused, still owed
    mediator.emit("start", {}, namespace=NS)
    drain(mediator)
    mediator.emit("end", {}, namespace=NS)
    assert events(mediator, "error")[-1]["code"] == "minutes_required"
    a.emit("minutes", {"facts": "我说了算"}, namespace=NS)
    assert events(a, "error")[-1]["code"] == "forbidden"
    mediator.emit("minutes", {"facts": "双方确认房屋于2026年10月交还"}, namespace=NS)
    assert events(mediator, "minutes_saved") == [{"version": 1}]
    mediator.emit("end", {}, namespace=NS)
    assert any(e["name"] == "ended" for e in a.get_received(NS))


def test_a_session_recorded_with_everyone_s_consent_ends_without_minutes(app, room, connect):
    from mediation.recording import operations as recording

    mediator, a, b = connect("mediator"), connect("a"), connect("b")
    for who, sock in (("a", a), ("b", b)):
        clear(mediator, sock, room["ids"][who])
        sock.emit("recording_consent", {"consent": True}, namespace=NS)
    mediator.emit("start", {}, namespace=NS)
    drain(mediator)
    mediator.emit("end", {}, namespace=NS)  # everyone agreed, but no recorder came
    assert events(mediator, "error")[-1]["code"] == "minutes_required"
    with app.app_context():
        files = [
            recording.open_file(room["session"], participant_id, "worker").id
            for participant_id in room["ids"].values()
        ]
        db.session.commit()
    # A recorder came and opened everyone's file, but nothing has reached it yet: the
    # recording does not yet stand for anyone (art 22).
    mediator.emit("end", {}, namespace=NS)
    assert events(mediator, "error")[-1]["code"] == "minutes_required"
    with app.app_context():
        for file_id in files[:-1]:
            recording.mark_written(file_id, utcnow())
        db.session.commit()
    mediator.emit("end", {}, namespace=NS)  # one file still without a frame
    assert events(mediator, "error")[-1]["code"] == "minutes_required"
    with app.app_context():
        recording.mark_written(files[-1], utcnow())
        db.session.commit()
    mediator.emit("end", {}, namespace=NS)
    assert any(e["name"] == "ended" for e in a.get_received(NS))


def test_rosters_carry_the_layout_version_they_were_drawn_at(room, connect):
    """Concurrent arrivals broadcast rosters that can reach a page in either order; the
    version lets the page keep the newest (a stale one hid a waiting party for good)."""
    mediator = connect("mediator")
    connect("a")
    connect("b")
    received = mediator.get_received(NS)
    versions = [e["args"][0]["version"] for e in received if e["name"] == "roster"]
    layouts = [e["args"][0]["version"] for e in received if e["name"] == "layout"]
    assert versions == sorted(versions) and versions[-1] == layouts[-1]
