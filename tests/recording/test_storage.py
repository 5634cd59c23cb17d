"""Recordings on both storage backends: the recorder's own write path (its open and finish
steps, run through its worker as in `mediation recorder`), playback with HTTP ranges, and
the review video composed from the stored files and stored beside them."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta

from mediation.core import storage as storages
from mediation.core.db import utcnow
from mediation.extensions import db
from mediation.recording import operations as recording
from mediation.recording import peer, recorder
from mediation.recording.models import Composition, Recording
from mediation.recording.writer import WebmWriter
from mediation.rooms.models import Room
from tests.conftest import login
from tests.factories import PASSWORD, make_mediating_case
from tests.recording.test_writer import feed
from tests.signaling.conftest import open_session


def test_the_recorder_writes_through_storage_and_the_files_play_by_ranges(
    app, client, runner, storage_backend
):
    with app.app_context():
        case = make_mediating_case()
        session = open_session(case)
        room = Room(session_id=session.id, started_at=utcnow())
        db.session.add(room)
        db.session.commit()
        session_id, mediator = session.id, case.mediator.phone
        participants = [p.id for p in session.participants[:2]]
    worker = recorder.Worker(app, "http://127.0.0.1:9", max_rooms=1)

    async def record(participant_id: int) -> int:
        opened = (session_id, participant_id, worker.holder, "joint")
        file_id, path = await worker.db(peer._open, *opened)
        writer = WebmWriter(path, opened=0.0)
        feed(writer, 2)
        duration = writer.close()
        await worker.db(peer._finish, file_id, duration, worker.holder, utcnow())
        return file_id

    ids = [asyncio.run(record(p)) for p in participants]
    with app.app_context():
        backend = storages.storage()
        files = [db.session.get(Recording, i) for i in ids]
        for file in files:
            assert file.status == "finished" and file.size > 1000
            assert backend.get(file.path, file.sha256)  # stored whole, its hash intact
            # On object storage the recorder's local copy is gone once uploaded.
            assert recording.absolute(file).exists() == (storage_backend == "local")
        assert recording.verify(case.id) == []
        stored = backend.get(files[0].path)
        room.ended_at = utcnow() + timedelta(seconds=3)
        db.session.merge(room)
        db.session.commit()
        db.session.remove()

    login(client, mediator, PASSWORD)
    url = f"/recordings/{ids[0]}.webm"
    whole = client.get(url)
    assert whole.status_code == 200 and whole.data == stored
    part = client.get(url, headers={"Range": "bytes=1000-1999"})
    assert part.status_code == 206 and part.data == stored[1000:2000]
    assert part.headers["Content-Range"] == f"bytes 1000-1999/{len(stored)}"
    tail = client.get(url, headers={"Range": "bytes=-100"})
    assert tail.status_code == 206 and tail.data == stored[-100:]

    result = runner.invoke(args=["recording", "compose"])  # from the stored files
    assert f"session {session_id}: finished" in result.output, result.output
    with app.app_context():
        review = db.session.get(Composition, session_id)
        assert storages.storage().exists(review.path)
        db.session.remove()
    video = client.get(f"/sessions/{session_id}/review.mp4")
    assert video.status_code == 200 and hashlib.sha256(video.data).hexdigest() == review.sha256
    assert (
        client.get(f"/sessions/{session_id}/review.mp4", headers={"Range": "bytes=0-9"}).data
        == video.data[:10]
    )
