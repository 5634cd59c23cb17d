"""Faults a production installation meets (issue 19, item 5), each with what it must not
lose, counted before and after.

- The SMS gateway down for an hour: a real HTTP server on the loopback that first refuses
  connections, then answers 503, then loses one answer after taking the message; the
  outbox's clock is pinned and moved on through the hour. Every message waits, goes once
  the gateway is back, and reaches its phone exactly once.
- The recorder's disk full: a recorder writing into a 2 MB tmpfs; the file stops cleanly
  (playable up to where the disk ran out, its hash journaled), the stop is journaled as
  ``recording.stopped_disk_full`` and the minutes say the written record takes over.

Tests that need the Debian packages of the deployment are skipped without them (failing
under CI=true), as tests/deploy/test_topology.py is.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import subprocess
import threading
from collections import Counter
from datetime import timedelta
from fractions import Fraction
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import av
from aiortc.mediastreams import MediaStreamError
from sqlalchemy import func, select

from mediation.cases.models import Case
from mediation.core.db import utcnow
from mediation.extensions import db
from mediation.journal import operations as journal
from mediation.journal.models import JournalEntry
from mediation.notify import operations as outbox
from mediation.notify.gateways import HttpSmsGateway, delivery_key
from mediation.notify.models import MessageStatus, OutboxMessage
from mediation.notify.worker import deliver_due
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

# -- the SMS gateway down for an hour ---------------------------------------------------------


class SmsProvider:
    """An SMS provider on the loopback, as a real one behaves: it de-duplicates by the
    caller's key (what reaches phones is ``handed``), and it can be down (nothing listens:
    connections refused), busy (503), or lose its answer after taking a message."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.handed: list[dict] = []  # what went to phones
        self.busy = False
        self.lose_answer_of: int | None = None  # the request (counted from 1) whose answer is lost
        self.server: ThreadingHTTPServer | None = None
        self.port = 0
        self.up()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/send"

    def up(self) -> None:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                key = self.headers.get("Idempotency-Key")
                provider.requests.append({**body, "key": key})
                if provider.busy:
                    self.send_response(503)
                    self.end_headers()
                    return
                if key not in {m["key"] for m in provider.handed}:
                    provider.handed.append({**body, "key": key})
                if len(provider.requests) == provider.lose_answer_of:
                    self.close_connection = True  # taken, but no answer comes back
                    return
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b'{"ok": true}')

            def log_message(self, *args):
                pass

        # The same port again after a stop (HTTPServer sets SO_REUSEADDR).
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def down(self) -> None:
        self.server.shutdown()
        self.server.server_close()  # nothing listens: connections are refused


def test_the_sms_gateway_down_for_an_hour_loses_no_message_and_sends_none_twice(app_ctx):
    provider = SmsProvider()
    gateways = gateways_with(app_ctx, provider.url)
    start = utcnow()
    queued = [
        outbox.queue_sms("+8613800138001", "【在线调解】验证码 481516", sensitive=True),
        outbox.queue_sms("+8613800138002", "【在线调解】您的案件已受理"),
        outbox.queue_sms("+8613800138003", "【在线调解】调解会议明天上午九时开始"),
    ]
    db.session.commit()
    before = db.session.scalar(select(func.count()).select_from(OutboxMessage))
    texts = {delivery_key(m): (m.recipient, m.body) for m in queued}

    # The first half hour nothing listens; the second it answers 503. The worker polls
    # every minute of the pinned clock; a message is queued in the middle of the outage.
    provider.down()
    for minute in range(60):
        if minute == 30:
            provider.up()
            provider.busy = True
        if minute == 20:
            late = outbox.queue_sms("+8613800138004", "【在线调解】对方已同意调解")
            db.session.commit()
            queued.append(late)
            texts[delivery_key(late)] = (late.recipient, late.body)
        report = deliver_due(gateways, now=start + timedelta(minutes=minute))
        assert report.sent == 0
    statuses = db.session.execute(select(OutboxMessage.status, OutboxMessage.attempts)).all()
    assert {status for status, _ in statuses} == {MessageStatus.queued}  # none given up
    assert all(attempts >= 5 for _, attempts in statuses), statuses
    assert provider.handed == []

    # Back at the hour, and the second answer after it is lost. A party asks for a code: it
    # goes at once, and what waited goes with it, not an hour of back-off later.
    provider.busy = False
    provider.lose_answer_of = len(provider.requests) + 2
    fresh = outbox.queue_sms("+8613800138005", "【在线调解】验证码 230842", sensitive=True)
    db.session.commit()
    queued.append(fresh)
    texts[delivery_key(fresh)] = (fresh.recipient, fresh.body)
    recovered = start + timedelta(minutes=60)
    mark = len(provider.requests)
    report = deliver_due(gateways, now=recovered)
    assert (report.sent, report.failed) == (len(queued) - 1, 1)
    # The message whose answer was lost goes again after its back-off, with its key.
    deliver_due(gateways, now=recovered + timedelta(hours=1, minutes=1))
    provider.down()

    # Nothing lost, nothing twice: every message sent once in the outbox, every key handed
    # to a phone once, with its text; the one retried after the lost answer reached the
    # provider twice with the same key and the phone once.
    after = db.session.execute(select(OutboxMessage)).scalars().all()
    assert len(after) == before + 2 == len(queued)
    assert {m.status for m in after} == {MessageStatus.sent}
    assert Counter(m["key"] for m in provider.handed) == Counter(dict.fromkeys(texts, 1))
    assert {m["key"]: (m["phone"], m["text"]) for m in provider.handed} == texts
    tried = Counter(r["key"] for r in provider.requests[mark:])
    assert sorted(tried.values()) == [1] * (len(queued) - 1) + [2], tried
    assert all(m.body == outbox.REDACTED for m in after if m.sensitive)


def gateways_with(app, url: str):
    from mediation.notify.gateways import Gateways

    gateways = Gateways.from_config({**app.config, "SMS_GATEWAY": "http", "SMS_URL": url})
    assert isinstance(gateways.sms, HttpSmsGateway)
    return gateways


# -- the recorder's disk full -----------------------------------------------------------------


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
            await asyncio.gather(*peer.readers)  # the reader ends, it does not fail
            assert not peer.accepting
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
        assert told == [
            ("recording_gap", {"participant": participant_id, "reason": "disk_full",
                               "state": "started"})
        ]  # fmt: skip
        assert not rooms.recorded_throughout(db.session.get(Room, session_id))
        db.session.remove()
