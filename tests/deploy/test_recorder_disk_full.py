"""A fault a production installation meets (issue 19, item 5), with what it must not lose:
the recorder's disk full. The recorder's own reading and writing path (``Peer``) writes into
a 1 MB tmpfs mounted on the session's folder (root); the file stops cleanly (playable up to
where the disk ran out, hashed, status ``disk_full``), the stop is journaled as
``recording.stopped_disk_full``, the mediator is told (the recorder's ``recording_gap``
event) and the recording no longer stands for the minutes (docs/deployment.md, "Faults";
the other faults: test_sms_gateway_down.py, test_faults.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import subprocess
from fractions import Fraction

import av
from aiortc.mediastreams import MediaStreamError
from sqlalchemy import func, select

from mediation.cases.models import Case
from mediation.core.db import utcnow
from mediation.extensions import db
from mediation.journal import operations as journal
from mediation.journal.models import JournalEntry
from mediation.recording import operations as recording
from mediation.recording import recorder
from mediation.recording.models import Recording
from mediation.recording.writer import WebmWriter
from mediation.rooms import operations as rooms
from mediation.rooms.models import Room
from tests.conftest import require_service
from tests.factories import make_mediating_case
from tests.recording.media import probe
from tests.signaling.conftest import open_session

MOUNT = shutil.which("mount") or "/bin/mount"
UMOUNT = shutil.which("umount") or "/bin/umount"


def noisy_vp8(count: int) -> list[bytes]:
    """VP8 frames of a noisy picture at a high rate: ~30 kB each, a small disk fills fast."""
    encoder = av.CodecContext.create("libvpx", "w")
    encoder.width, encoder.height = 320, 240
    encoder.pix_fmt = "yuv420p"
    encoder.time_base = Fraction(1, 15)
    encoder.bit_rate = 4_000_000
    encoder.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    frames = []
    for i in range(count):
        frame = av.VideoFrame(320, 240, "yuv420p")
        for plane in frame.planes:
            plane.update(os.urandom(plane.buffer_size))
        frame.pts = i
        frames += [bytes(p) for p in encoder.encode(frame)]
    return frames


class Camera:
    """What aiortc's passthrough hands the recorder: encoded frames with their RTP time,
    looped, until ``seconds`` of them are sent (then the track ends)."""

    kind = "video"

    def __init__(self, frames: list[bytes], seconds: int) -> None:
        self.frames, self.left, self.sent = frames, seconds * 15, 0

    async def recv(self):
        if self.sent >= self.left:
            raise MediaStreamError
        frame = type("Frame", (), {})()
        frame.data = self.frames[self.sent % len(self.frames)]
        frame.timestamp = self.sent * 6000  # 90 kHz at 15 frames a second
        self.sent += 1
        await asyncio.sleep(0)
        return frame


class AfterTheDiskFilled:
    """A second track whose frames come only once the disk is full: the recorder must
    read them all (and drop them), or aiortc's queue of them grows for the whole session."""

    kind = "audio"

    def __init__(self, peer, frames: int) -> None:
        self.peer, self.left, self.sent = peer, frames, 0

    async def recv(self):
        while not self.peer.discarding:
            await asyncio.sleep(0.01)
        if self.sent >= self.left:
            raise MediaStreamError
        self.sent += 1
        frame = type("Frame", (), {})()
        frame.data, frame.timestamp = b"\xf8\xff\xfe", self.sent * 960
        return frame


def counts(case_id: int) -> dict:
    return {
        "cases": db.session.scalar(select(func.count()).select_from(Case)),
        "journal": db.session.scalar(
            select(func.count()).select_from(JournalEntry).where(JournalEntry.case_id == case_id)
        ),
        "files": db.session.scalar(select(func.count()).select_from(Recording)),
    }


def test_a_full_disk_stops_the_recording_cleanly_and_the_minutes_become_the_record(app):
    with app.app_context():
        case = make_mediating_case()
        session = open_session(case)
        room = Room(session_id=session.id, started_at=utcnow())
        db.session.add(room)
        db.session.commit()
        session_id, case_id = session.id, case.id
        participant_id = session.participants[1].id
        before = counts(case_id)
        db.session.remove()
    worker = recorder.Worker(app, "http://127.0.0.1:9", max_rooms=1)
    told = []

    async def record() -> recorder.Peer:
        room = recorder.RoomRecording(worker, session_id)
        room.connected.set()  # as if on the server: what it emits is kept here

        async def emit(event, data, namespace=None):
            told.append((event, data))

        room.sio.emit = emit
        peer = recorder.Peer(room, participant_id, None)
        peer.file_id, path = await worker.db(
            recorder._open, session_id, participant_id, worker.holder, "joint"
        )
        # The recorder's folder for this session: a 1 MB disk of its own (a full disk
        # anywhere else would hurt the other tests and the machine).
        tiny = ["-t", "tmpfs", "-o", "size=1m", "tmpfs", str(path.parent)]
        mounted = subprocess.run([MOUNT, *tiny], capture_output=True, text=True)
        if mounted.returncode != 0:
            require_service("a tmpfs mount (root)", OSError(mounted.stderr))
        try:
            peer.writer = WebmWriter(path)
            peer.on_track(Camera(noisy_vp8(30), seconds=20))  # ~8 MB for a 1 MB disk
            sound = AfterTheDiskFilled(peer, frames=200)
            peer.on_track(sound)
            await asyncio.gather(*peer.readers)  # the readers end, they do not fail
            assert not peer.accepting
            # The other track was read on to its end, unwritten: nothing piled up unread.
            assert sound.sent == 200
            await peer.close()  # later, as the room ends: nothing is closed twice
            return path, path.read_bytes()
        finally:
            subprocess.run([UMOUNT, "-l", str(path.parent)], check=True)

    path, kept = asyncio.run(record())

    with app.app_context():
        after = counts(case_id)
        file = db.session.scalars(select(Recording).where(Recording.session_id == session_id)).one()
        # The file stopped where the disk ran out, playable to there, hashed as it is.
        assert file.status == recording.DISK_FULL_STATUS
        assert file.size == len(kept) and 500_000 < len(kept) <= 2**20
        assert file.sha256 == hashlib.sha256(kept).hexdigest()
        copy = path.with_name("kept.webm")  # the tmpfs is gone: what it held, to play
        copy.write_bytes(kept)
        found = probe(copy)
        assert found["codecs"] == ["opus", "vp8"] and found["video_frames"] > 10, found
        assert abs(found["duration"] - file.duration_seconds) < 0.2, (found, file.duration_seconds)
        # Journaled: the file with its hash, and the stop, in a chain that holds.
        entries = db.session.scalars(
            select(JournalEntry).where(JournalEntry.case_id == case_id).order_by(JournalEntry.seq)
        ).all()
        assert [e.action for e in entries[-2:]] == ["recording.finished", recording.DISK_FULL]
        assert entries[-2].payload["sha256"] == entries[-1].payload["sha256"] == file.sha256
        assert journal.verify_chain(case_id).ok
        # Nothing else lost: the same cases, one more file, two more journal entries.
        assert after == {**before, "files": before["files"] + 1,
                         "journal": before["journal"] + 2}  # fmt: skip
        # The mediator is told; the recording no longer stands for the minutes (art 22):
        # the session cannot end before they are written.
        # (First the report of the file's first frames: from then the room said 录制中.)
        assert told == [
            ("recording_written", {"file": file.id}),
            ("recording_gap", {"participant": participant_id, "reason": "disk_full",
                               "state": "started"}),
        ]  # fmt: skip
        assert not rooms.recorded_throughout(db.session.get(Room, session_id))
        db.session.remove()
