"""A recorder that does not receive what it should record says so: the mediator is told at
once, the journal has it, and the minutes (page and PDF) name the stream and how long it
was not recorded (issue 19: at 20 streams one stream kept 0% and nothing said so).

No browser: the server and the recorder run as processes (``mediation run``,
``mediation recorder``), and the three people are Socket.IO clients that never answer the
recorder's offers, so no media arrives: the recorder's loss, made on purpose."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time

import socketio
from sqlalchemy import select

from mediation.core.db import utcnow
from mediation.extensions import db
from mediation.minutes import document
from mediation.minutes import operations as minutes
from mediation.recording import gaps
from mediation.recording import operations as recording
from mediation.recording.models import Recording
from mediation.rooms.models import Room, RoomMember
from tests.browser.conftest import recorder
from tests.conftest import login
from tests.factories import PASSWORD, make_mediating_case
from tests.signaling.conftest import open_session


def _seat_everyone(app) -> dict:
    """A started room, everyone admitted, identified and agreeing to be recorded."""
    with app.app_context():
        case = make_mediating_case()
        session = open_session(case)
        now = utcnow()
        db.session.add(Room(session_id=session.id, started_at=now))
        serializer = app.session_interface.get_signing_serializer(app)
        cookies = {}
        for p in session.participants:
            db.session.add(
                RoomMember(
                    participant_id=p.id,
                    session_id=session.id,
                    role=p.role,
                    side=None if p.role == "mediator" else p.side,
                    admitted_at=now,
                    identity_confirmed_at=now,
                    warning_acknowledged_at=now,
                    recording_consent=None if p.role == "mediator" else True,
                    epoch=0,
                )
            )
            cookie = serializer.dumps({"_user_id": p.user.get_id(), "_fresh": True})
            cookies[p.id] = (p.role, f"{app.config['SESSION_COOKIE_NAME']}={cookie}")
        db.session.commit()
        made = {"session": session.id, "cookies": cookies, "phone": case.mediator.phone}
        db.session.remove()
    return made


def test_a_stream_the_recorder_never_receives_is_told_to_the_mediator_and_in_the_minutes(
    app, live_server, tmp_path, monkeypatch
):
    monkeypatch.setenv("MEDIATION_RECORDER_MEDIA_WITHIN", "1")
    s = _seat_everyone(app)
    told: list[dict] = []
    said, refused = threading.Event(), threading.Event()
    clients = []
    with recorder(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path, live_server) as process:
        for role, cookie in s["cookies"].values():
            client = socketio.Client()
            if role == "mediator":
                mediator = client

                @client.on("recording_gap", namespace="/room")
                def on_gap(notice):
                    told.append(notice)
                    said.set()

                @client.on("error", namespace="/room")
                def on_error(error):
                    told.append({"error": error})
                    refused.set()

            # Nobody answers the recorder's offer: no media ever reaches it.
            client.connect(
                live_server,
                headers={"Cookie": cookie},
                auth={"session": s["session"]},
                namespaces=["/room"],
                transports=["websocket"],
            )
            clients.append(client)
        assert said.wait(60), process.log_path.read_text()
        notice = told[0]
        assert notice["state"] == "started" and notice["reason"] == "no_media", notice
        assert notice["participant"] in s["cookies"] and notice["message"]
        # The recording cannot stand for the minutes: ending needs them written (art 22).
        mediator.emit("end", {}, namespace="/room")
        assert refused.wait(20), told
        refusals = [t["error"] for t in told if "error" in t]
        assert refusals and refusals[-1]["code"] == "minutes_required", told
        with app.app_context():
            room = db.session.get(Room, s["session"])
            room.ended_at = utcnow()  # ended: the recorder closes the files and the gaps
            db.session.commit()
            db.session.remove()
        deadline = time.monotonic() + 30
        while True:
            with app.app_context():
                found = gaps.of_session(s["session"])
                db.session.remove()
            closed = {g.participant_id for g in found if g.seconds is not None}
            if closed >= set(s["cookies"]) or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        for client in clients:
            client.disconnect()
    # Every stream: none was received, each is named, with its length.
    assert closed == set(s["cookies"]), (found, process.log_path.read_text())

    with app.app_context():
        why = str(gaps.REASONS["no_media"])
        names = gaps.names(s["session"])
        session = db.session.get(Room, s["session"]).session
        written = minutes.save(session, {"facts": "..."}, by=session.case.mediator)
        pdf = tmp_path / "minutes.pdf"
        pdf.write_bytes(document.render(session, written))
        db.session.rollback()
        db.session.remove()
    text = subprocess.run(
        [shutil.which("pdftotext"), str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    squeezed = "".join(text.split())
    assert "".join(why.split()) in squeezed
    assert all("".join(name.split()) in squeezed for name in names.values())

    client = app.test_client()
    login(client, s["phone"], PASSWORD)
    page = client.get(f"/sessions/{s['session']}/minutes").get_data(as_text=True)
    assert 'id="recording-gaps"' in page and why in page
    assert all(name in page for name in names.values())


def _silent_clients(s: dict, url: str, told: list, refused: threading.Event) -> list:
    """Everyone connected, nobody answering the recorder's offers; the mediator's client
    keeps what it is told (``told``) and sets ``refused`` on an error."""
    clients = []
    for role, cookie in s["cookies"].values():
        client = socketio.Client()
        if role == "mediator":
            client.on("recording_gap", told.append, namespace="/room")

            def on_error(error):
                told.append({"error": error})
                refused.set()

            client.on("error", on_error, namespace="/room")
            clients.insert(0, client)
        else:
            clients.append(client)
        client.connect(
            url,
            headers={"Cookie": cookie},
            auth={"session": s["session"]},
            namespaces=["/room"],
            transports=["websocket"],
        )
    return clients


def test_a_stretch_that_ends_before_any_media_came_is_a_gap_and_its_files_are_empty(
    app, live_server, tmp_path
):
    """Sooner than the watch calls a silent stream a gap (RECORDER_MEDIA_WITHIN, 10 s), the
    session ends: the files the recorder opened were never written. They cannot stand for
    the minutes, and once closed they are "empty" and each stretch is a journaled gap."""
    s = _seat_everyone(app)
    told: list[dict] = []
    refused = threading.Event()
    with recorder(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path, live_server) as process:
        clients = _silent_clients(s, live_server, told, refused)
        deadline = time.monotonic() + 60
        while True:  # the recorder has opened everyone's file (its offers are out)
            with app.app_context():
                opened = db.session.scalars(
                    select(Recording.participant_id).where(Recording.session_id == s["session"])
                ).all()
                db.session.remove()
            if set(opened) >= set(s["cookies"]):
                break
            assert time.monotonic() < deadline, process.log_path.read_text()
            time.sleep(0.2)
        # Files opened, nothing in them: the recording stands for nobody yet (art 22).
        clients[0].emit("end", {}, namespace="/room")
        assert refused.wait(20), told
        assert told[-1]["error"]["code"] == "minutes_required", told
        with app.app_context():
            room = db.session.get(Room, s["session"])
            room.ended_at = utcnow()  # ended: the recorder closes the files
            db.session.commit()
            db.session.remove()
        deadline = time.monotonic() + 30
        while True:
            with app.app_context():
                files = db.session.scalars(
                    select(Recording).where(Recording.session_id == s["session"])
                ).all()
                found = gaps.of_session(s["session"])
                db.session.remove()
            if all(f.status != "recording" for f in files) and len(found) >= len(files):
                break
            assert time.monotonic() < deadline, process.log_path.read_text()
            time.sleep(0.3)
        for client in clients:
            client.disconnect()
    assert {f.status for f in files} == {recording.EMPTY_STATUS}
    assert all(f.sha256 is None and f.written_at is None for f in files)
    # One gap per stretch, from the offer to the end, shorter than the watch's 10 s.
    assert sorted(g.participant_id for g in found) == sorted(f.participant_id for f in files)
    assert {g.reason for g in found} == {"no_media"}
    assert all(g.seconds is not None and g.seconds < 10 for g in found), found
    with app.app_context():
        assert not any(recording.absolute(f).exists() for f in files)  # nothing was written
        assert recording.verify(db.session.get(Room, s["session"]).session.case_id) == []
        db.session.remove()
