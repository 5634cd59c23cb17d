"""A recorder that gives a room up (another worker took its lease, the session's time is up,
the recorder is stopping) leaves the room before it finishes the files: the pages stop
saying 录制中 at once, not after the files are hashed and uploaded (seconds, tens with
object storage), while nothing more was going into them (SPC online mediation rules art 22).

The server runs as a process (``mediation run``), the people are Socket.IO clients that
never answer the recorder's offers, and the recorder's worker runs here, so that the test
sees, as each file is finished, whether the worker is still in the room."""

from __future__ import annotations

import asyncio
import threading
import time

from sqlalchemy import select, update

from mediation.extensions import db
from mediation.recording import peer, recorder
from mediation.recording.models import Recording, RecordingLease
from mediation.rooms.models import Room
from tests.browser.test_recording_gaps import _seat_everyone, _silent_clients


def test_a_recorder_giving_a_room_up_leaves_it_before_it_finishes_the_files(
    app, live_server, monkeypatch
):
    s = _seat_everyone(app)
    finished_while: list[bool] = []  # for each file: was the worker still in the room?
    finish = peer.Peer._finish

    async def finishing(self, status: str) -> None:
        finished_while.append(self.room.sio.connected)
        await finish(self, status)

    monkeypatch.setattr(peer.Peer, "_finish", finishing)
    clients = _silent_clients(s, live_server, [], threading.Event())
    worker = recorder.Worker(app, live_server, max_rooms=1)

    def files() -> list[Recording]:
        with app.app_context():
            found = db.session.scalars(
                select(Recording).where(Recording.session_id == s["session"])
            ).all()
            db.session.remove()
        return found

    async def record_then_lose_the_lease() -> None:
        deadline = time.monotonic() + 60
        while len(files()) < len(s["cookies"]):  # claimed, everyone offered a file
            assert time.monotonic() < deadline, "the worker did not open everyone's file"
            await worker.tick()
            await asyncio.sleep(0.2)
        with app.app_context():  # another worker took the room over
            db.session.execute(
                update(RecordingLease)
                .where(RecordingLease.session_id == s["session"])
                .values(holder="another-worker")
            )
            db.session.commit()
            db.session.remove()
        await worker.tick()  # the renewal fails: the room is given up
        assert s["session"] not in worker.rooms
        await asyncio.wait(list(worker.retiring), timeout=60)

    try:
        asyncio.run(record_then_lose_the_lease())
    finally:
        for client in clients:
            client.disconnect()
    assert finished_while == [False] * len(s["cookies"])
    assert all(f.status != "recording" for f in files())
    with app.app_context():
        deadline = time.monotonic() + 20
        while db.session.get(Room, s["session"], populate_existing=True).recorder_sid:
            assert time.monotonic() < deadline, "the server still counts the recorder in"
            time.sleep(0.1)
        db.session.remove()
