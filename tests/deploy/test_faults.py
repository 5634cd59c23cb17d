"""Faults a production installation meets (issue 19, item 5), each with what it must not
lose, counted before and after.

- The SMS gateway down for an hour: a real HTTP server on the loopback that first refuses
  connections, then answers 503, then loses one answer after taking the message; the
  outbox's clock is pinned and moved on through the hour. Every message waits, goes once
  the gateway is back, and reaches its phone exactly once.
- The recorder's disk full: the recorder's own reading and writing path (``Peer``) writing
  into a 1 MB tmpfs mounted on the session's folder (root); the file stops cleanly
  (playable up to where the disk ran out, hashed, status ``disk_full``), the stop is
  journaled as ``recording.stopped_disk_full``, the mediator is told (the recorder's
  ``recording_gap`` event) and the recording no longer stands for the minutes.
- The topology of deploy/ (tests/deploy/topology.py: nginx, two web processes, worker,
  recorder, coturn, and PostgreSQL and Redis instances of its own on free ports, never the
  machine's): PostgreSQL stopped during a three-person session (a page is a 503 "try
  again", a room event the "busy" error; sent again, kept once), Redis restarted (relays and
  chat go on); PostgreSQL restarted between a party's signature and its commit (nothing
  written, the code still good, signed once when sent again); ``kill -9`` of the web
  process holding a session (python-socketio clients through nginx, with room.js's resume
  token, are welcomed back on the other process and relay again within 5 s).

The topology's tests need the Debian packages of the deployment and are skipped without
them (failing under CI=true), as tests/deploy/test_topology.py is.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shlex
import shutil
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from contextlib import ExitStack
from datetime import timedelta
from fractions import Fraction
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import av
import pytest
import socketio
from aiortc.mediastreams import MediaStreamError
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from mediation import create_app
from mediation.accounts.models import User
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
from mediation.rooms.models import ChatMessage, Room
from tests.conftest import require_service
from tests.deploy import topology
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
        self.refused: set[str] = set()  # numbers it answers 400 (a bad number, say)
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
                if provider.busy or body["phone"] in provider.refused:
                    self.send_response(400 if body["phone"] in provider.refused else 503)
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


def test_a_message_the_provider_refuses_keeps_backing_off_when_it_is_back(app_ctx):
    """Once the provider takes a message again, what waited for it goes at once; a message
    it refused for itself (400) is not sent again every few seconds."""
    provider = SmsProvider()
    gateways = gateways_with(app_ctx, provider.url)
    provider.busy, provider.refused = True, {"+8613800138009"}
    start = utcnow()
    waiting = outbox.queue_sms("+8613800138001", "【在线调解】您的案件已受理")
    refused = outbox.queue_sms("+8613800138009", "【在线调解】您的案件已受理")
    db.session.commit()
    for minute in (0, 1, 3, 7):  # both fail four times: the next tries are 4 minutes off
        deliver_due(gateways, now=start + timedelta(minutes=minute))
    db.session.refresh(refused)
    refused_at = refused.next_attempt_at
    tries = [r["phone"] for r in provider.requests].count("+8613800138009")
    provider.busy = False
    outbox.queue_sms("+8613800138002", "【在线调解】对方已同意调解")
    db.session.commit()
    deliver_due(gateways, now=start + timedelta(minutes=8))  # the new one goes: it is back
    db.session.refresh(waiting)
    db.session.refresh(refused)
    assert waiting.status == MessageStatus.sent  # waited for the provider: sent with it
    assert refused.status == MessageStatus.queued and refused.next_attempt_at == refused_at
    assert [r["phone"] for r in provider.requests].count("+8613800138009") == tries
    provider.down()


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
        assert told == [
            ("recording_gap", {"participant": participant_id, "reason": "disk_full",
                               "state": "started"})
        ]  # fmt: skip
        assert not rooms.recorded_throughout(db.session.get(Room, session_id))
        db.session.remove()


# -- the topology: PostgreSQL and Redis restarted, a web process killed -----------------------


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    missing = topology.missing_packages()
    if missing:
        require_service(
            f"the Debian packages {', '.join(missing)}", FileNotFoundError(" ".join(missing))
        )
    with ExitStack() as stack:
        top = topology.start(stack, tmp_path_factory.mktemp("faults"))
        top.stack = stack  # what a test starts again is stopped with the rest
        yield top


@pytest.fixture(scope="module")
def deployed_app(deployed):
    """The test's view of the installation's database and storage, with its secret key (to
    sign the participants' login cookies)."""
    env = {}
    for name in ("common", "web"):
        env.update(topology.read_env_file(deployed.tmp / f"{name}.env"))
    return create_app(
        {
            "ENV_NAME": "testing",
            "SQLALCHEMY_DATABASE_URI": deployed.database_url,
            "INSTANCE_PATH": str(deployed.tmp / "test-instance"),
            "SECRET_KEY": env["MEDIATION_SECRET_KEY"],
            "STORAGE_DIR": str(deployed.storage),
        }
    )


class Client:
    """A participant's Socket.IO connection through nginx, as room.js makes it: it
    reconnects by itself with the resume token of its last welcome, and keeps every event."""

    def __init__(self, app, top, room: dict, who: str) -> None:
        with app.app_context():
            user = db.session.scalar(select(User).where(User.phone == room["phones"][who]))
            cookie = app.session_interface.get_signing_serializer(app).dumps(
                {"_user_id": user.get_id(), "_fresh": True}
            )
            db.session.remove()
        self.cookie = f"{app.config['SESSION_COOKIE_NAME']}={cookie}"
        self.events: list[tuple[str, dict]] = []
        self.resume = None
        self.client = socketio.Client(
            reconnection=True, reconnection_delay=0.2, reconnection_delay_max=1, ssl_verify=False
        )
        self.client.on("*", self._event, namespace=NS)
        # The session in the URL: nginx sends a session's connections to one web process.
        self.client.connect(
            f"{top.url}/?session={room['session']}",
            namespaces=[NS],
            transports=["websocket"],
            auth=lambda: {"session": room["session"], "resume": self.resume},
            headers={"Cookie": self.cookie},
            wait_timeout=30,
        )

    def _event(self, name: str, data) -> None:
        if name == "welcome":
            self.resume = data["you"]["resume"]
        self.events.append((name, data))

    def wait_for(self, test, within: float = 30, after: int = 0) -> dict:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            found = [data for name, data in self.events[after:] if test(name, data)]
            if found:
                return found[-1]
            time.sleep(0.02)
        raise AssertionError(f"not received; got {[name for name, _ in self.events]}")

    def layout(self, test=lambda layout: True, after: int = 0) -> dict:
        def matches(name, data):
            layout = data.get("layout", data) if name in ("welcome", "layout") else None
            return layout is not None and test(layout)

        found = self.wait_for(matches, after=after)
        return found.get("layout", found)

    def emit(self, event: str, data: dict) -> None:
        # Back after a drop, the welcome may come before the client counts the namespace
        # as connected again (python-socketio): as room.js, send once it does.
        deadline = time.monotonic() + 30
        while NS not in self.client.namespaces:
            assert time.monotonic() < deadline, "not connected again"
            time.sleep(0.02)
        self.client.emit(event, data, namespace=NS)


NS = "/room"


def three_in_a_room(app, top) -> tuple[dict, dict[str, Client]]:
    """A new case's session with the mediator and both parties admitted and talking."""
    with app.app_context():
        case = make_mediating_case()
        session = open_session(case)
        db.session.commit()
        applicant, respondent = case.party_users()
        ids = {p.user_id: p.id for p in session.participants}
        room = {
            "session": session.id,
            "case": case.id,
            "phones": {"mediator": case.mediator.phone, "a": applicant.phone,
                       "b": respondent.phone},
            "ids": {"mediator": ids[case.mediator_id], "a": ids[applicant.id],
                    "b": ids[respondent.id]},
        }  # fmt: skip
        db.session.remove()
    clients = {who: Client(app, top, room, who) for who in ("mediator", "a", "b")}
    ids = room["ids"]
    for who in ("a", "b"):
        clients["mediator"].emit("admit", {"participant": ids[who]})
        clients["mediator"].emit("confirm_identity", {"participant": ids[who]})
        clients[who].emit("acknowledge_warning", {})
    for who in ("a", "b"):
        clients[who].layout(lambda layout: ids["mediator"] in layout["peers"])
        relayed(clients, ids, who, "mediator", f"before {who}")
    return room, clients


def relayed(clients, ids, sender: str, to: str, payload, after: int = 0) -> None:
    """``sender`` sends ``to`` an ICE candidate as media negotiation does; it arrives."""
    version = clients[sender].layout(lambda layout: ids[to] in layout["peers"], after=after)
    message = {"to": ids[to], "kind": "candidate", "payload": {"n": payload}}
    clients[sender].emit("signal", message | {"version": version["version"]})
    clients[to].wait_for(
        lambda name, data: name == "signal" and data["payload"] == {"n": payload}, after=after
    )


def record_of(app, top, case_ids) -> dict:
    """What must survive: cases, journal entries (and their chains), chat lines, files
    stored and their hashes."""
    with app.app_context():
        found = counts_everywhere(case_ids)
        db.session.remove()
    found["files"] = {
        str(p.relative_to(top.storage)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(top.storage.rglob("*"))
        if p.is_file()
    }
    return found


def counts_everywhere(case_ids) -> dict:
    return {
        "cases": db.session.scalar(select(func.count()).select_from(Case)),
        "journal": db.session.scalar(select(func.count()).select_from(JournalEntry)),
        "chat": db.session.scalar(select(func.count()).select_from(ChatMessage)),
        "chains": {case_id: journal.verify_chain(case_id).ok for case_id in case_ids},
    }


def pg_ctl(top, action: str) -> None:
    data = top.logs["postgres"].parent / "data"
    command = [topology.postgres_bin() / "pg_ctl", "-D", data, "-w", "-t", "60", "-m", "fast"]
    if action in ("start", "restart"):  # the log to its file, never to the test's pipe
        command += ["-l", top.logs["postgres"]]
    if action == "stop":
        # The server's own options (port, socket folder), for the start that follows.
        words = shlex.split((data / "postmaster.opts").read_text())[1:]
        at = words.index("-D")
        top.pg_options = shlex.join(words[:at] + words[at + 2 :])
    if action == "start":
        command += ["-o", top.pg_options]
    subprocess.run([*command, action], check=True, capture_output=True, **topology._as_postgres())


def https_get(top, path: str, cookie: str = "") -> tuple[int, str, str | None]:
    context = ssl._create_unverified_context()  # noqa: S323 - the test's self-signed cert
    headers = {"Cookie": cookie} if cookie else {}
    request = urllib.request.Request(f"{top.url}{path}", headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30, context=context) as answer:  # noqa: S310
            return answer.status, answer.read().decode(), None
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), error.headers.get("Retry-After")


def test_postgresql_and_redis_restarted_during_a_session_lose_nothing(deployed, deployed_app):
    top, app = deployed, deployed_app
    room, clients = three_in_a_room(app, top)
    ids = room["ids"]
    try:
        clients["a"].emit("chat", {"text": "before the restart"})
        clients["b"].wait_for(lambda n, d: n == "chat" and d["text"] == "before the restart")
        before = record_of(app, top, [room["case"]])

        # PostgreSQL stops: a page and a room event are answered "try again", not an error.
        pg_ctl(top, "stop")
        status, page, retry = https_get(top, "/healthz")
        assert status == 503
        # The mediator's list of cases (their login is read from the database).
        status, page, retry = https_get(top, "/cases/", clients["mediator"].cookie)
        assert status == 503 and retry is not None, (status, page[:500])
        assert "平台正忙，请稍后重试。" in page  # "The platform is busy. Please try again..."
        mark = len(clients["a"].events)
        clients["a"].emit("chat", {"text": "while the database is away"})
        refused = clients["a"].wait_for(lambda n, d: n == "error", after=mark)
        assert refused["code"] == "busy", refused
        pg_ctl(top, "start")
        # Sent again, it goes; the first attempt wrote nothing.
        clients["a"].emit("chat", {"text": "while the database is away"})
        clients["b"].wait_for(lambda n, d: n == "chat" and d["text"].startswith("while"))
        assert https_get(top, "/healthz")[0] == 200

        # Redis goes away and comes back on its port: the room goes on, relays included.
        redis_env = topology.read_env_file(top.tmp / "common.env")
        redis_port = int(redis_env["MEDIATION_REDIS_URL"].rsplit(":", 1)[1].split("/")[0])
        old = top.processes.pop("redis")
        old.terminate()
        old.wait(timeout=15)
        topology.spawn(
            top.stack, top, "redis",
            [topology._which("redis-server"), "--port", redis_port, "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", top.tmp],
        )  # fmt: skip
        relayed(clients, ids, "b", "mediator", "after redis")
        clients["mediator"].emit("chat", {"text": "after redis"})
        clients["a"].wait_for(lambda n, d: n == "chat" and d["text"] == "after redis")
        after = record_of(app, top, [room["case"]])

        # Nothing lost, nothing half-written: the same cases and files with the same hashes,
        # the journal longer by exactly the two lines said after (each line journaled once),
        # every chain whole.
        assert after["cases"] == before["cases"] and after["files"] == before["files"]
        assert after["chat"] == before["chat"] + 2
        with app.app_context():
            said = db.session.scalars(
                select(ChatMessage.text).where(ChatMessage.session_id == room["session"])
            ).all()
            db.session.remove()
        assert sorted(said) == sorted(
            ["before the restart", "while the database is away", "after redis"]
        )
        assert after["journal"] > before["journal"]
        assert all(after["chains"].values()), after["chains"]
        for name in ("nginx", "worker", "recorder", "coturn", *(f"web-{p}" for p in top.web_ports)):
            assert top.processes[name].poll() is None, top.describe()
    finally:
        for client in clients.values():
            client.client.disconnect()


def connections_to(port: int) -> int:
    listed = subprocess.run(
        [shutil.which("ss") or "/usr/bin/ss", "-Htn", "state", "established",
         f"( dport = :{port} )"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return len([line for line in listed.splitlines() if line.strip()])


def test_a_web_process_killed_mid_session_its_people_come_back_through_the_other(
    deployed, deployed_app
):
    top, app = deployed, deployed_app
    room, clients = three_in_a_room(app, top)
    ids = room["ids"]
    try:
        before = record_of(app, top, [room["case"]])
        # The session's connections are on one process (nginx pins them): that one dies.
        holding = max(top.web_ports, key=connections_to)
        other = next(p for p in top.web_ports if p != holding)
        assert connections_to(holding) >= 3 > connections_to(other)
        marks = {who: len(c.events) for who, c in clients.items()}
        killed = time.monotonic()
        top.processes[f"web-{holding}"].kill()  # kill -9
        # Everyone is welcomed again, on the other process, still in the room, and the
        # relays that carry media negotiation work again.
        for who, client in clients.items():
            client.wait_for(lambda n, d: n == "welcome", after=marks[who])
        for who in ("a", "b"):
            clients[who].layout(lambda layout: ids["mediator"] in layout["peers"],
                                after=marks[who])  # fmt: skip
            relayed(clients, ids, who, "mediator", f"after {who}", after=marks[who])
        back = time.monotonic() - killed
        assert connections_to(other) >= 3
        after = record_of(app, top, [room["case"]])
        assert (after["cases"], after["chat"], after["files"]) == (
            before["cases"], before["chat"], before["files"]
        )  # fmt: skip
        assert after["journal"] >= before["journal"] and all(after["chains"].values())
        assert back < 5, f"the room came back after {back:.1f} s"
    finally:
        for client in clients.values():
            client.client.disconnect()


@pytest.fixture(scope="module")
def signing_app(deployed):
    """The installation's configuration as the web processes have it (keys in the token).

    SoftHSM reads its configuration when the module is initialised, once per process: a
    test that used another token earlier in this process left it initialised with that
    one's, so the module is initialised again here, and again afterwards."""
    import pkcs11

    env = {}
    for name in ("common", "web"):
        env.update(topology.read_env_file(deployed.tmp / f"{name}.env"))
    before = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = env.get(
        "SOFTHSM2_CONF", str(deployed.tmp / "softhsm" / "softhsm2.conf")
    )
    module = pkcs11.lib(topology.SOFTHSM_MODULE)
    module.reinitialize()
    yield create_app(
        {
            "ENV_NAME": "testing",
            "SQLALCHEMY_DATABASE_URI": deployed.database_url,
            "INSTANCE_PATH": str(deployed.tmp / "signing-instance"),
            "STORAGE_DIR": str(deployed.storage),
            "PKI_DIR": str(deployed.tmp / "pki"),
            "PKCS11_MODULE": topology.SOFTHSM_MODULE,
            "PKCS11_PIN_FILE": str(deployed.tmp / "pkcs11-pin"),
            "PKCS11_TOKEN_LABEL": env.get("MEDIATION_PKCS11_TOKEN_LABEL", "mediation"),
        }
    )
    if before is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = before
    module.reinitialize()


def test_postgresql_restarted_while_a_party_signs_writes_nothing_half(deployed, signing_app):
    from mediation.agreements import signing
    from mediation.agreements.models import Agreement, Signature
    from mediation.core.db import is_unreachable
    from tests.agreements.conftest import agreeing_case, drawing, last_code_to, out_for_signing

    top, app = deployed, signing_app
    with app.app_context():
        case, _admin = agreeing_case()
        agreement = out_for_signing(case)
        applicant = case.party_users()[0]
        signing.send_code(agreement, applicant)
        db.session.commit()
        case_id, agreement_id, user_id = case.id, agreement.id, applicant.id
        shown, code = agreement.document_sha256, last_code_to(applicant)
        db.session.remove()
    before = record_of(app, top, [case_id])

    # The party signs; the database restarts before the signature is committed.
    with app.app_context():
        agreement = db.session.get(Agreement, agreement_id)
        user = db.session.get(User, user_id)
        signing.sign(agreement, user, code=code, shown_sha256=shown, drawing=drawing())
        pg_ctl(top, "restart")
        with pytest.raises(OperationalError) as lost:
            db.session.commit()
        assert is_unreachable(lost.value)  # what the page answers with "try again" (503)
        db.session.rollback()
        db.session.remove()

    # Nothing half-written: no signature, the document the record points at unchanged, the
    # code not spent, the journal as it was and whole; the files stored before untouched
    # (the signed copy of the lost attempt is a file no record points at).
    middle = record_of(app, top, [case_id])
    assert {k: middle[k] for k in ("cases", "journal", "chat", "chains")} == {
        k: before[k] for k in ("cases", "journal", "chat", "chains")
    }
    assert all(middle["files"].get(k) == v for k, v in before["files"].items())
    with app.app_context():
        agreement = db.session.get(Agreement, agreement_id)
        assert agreement.document_sha256 == shown
        assert db.session.scalar(
            select(func.count()).select_from(Signature).where(
                Signature.agreement_id == agreement_id, Signature.signed_at.is_not(None)
            )
        ) == 0  # fmt: skip
        # Sent again with the same code: signed, once.
        user = db.session.get(User, user_id)
        signing.sign(agreement, user, code=code, shown_sha256=shown, drawing=drawing())
        db.session.commit()
        signed = db.session.scalars(
            select(JournalEntry).where(
                JournalEntry.case_id == case_id, JournalEntry.action == "agreement.signed"
            )
        ).all()
        assert len(signed) == 1 and signed[0].payload["document_before"] == shown
        after_sha, after_path = agreement.document_sha256, agreement.document_path
        db.session.remove()
    after = record_of(app, top, [case_id])
    assert after["journal"] > before["journal"]
    assert all(after["chains"].values()) and after["cases"] == before["cases"]
    assert after["files"][after_path] == after_sha  # the record's document, hash intact
    assert all(after["files"].get(k) == v for k, v in before["files"].items())
