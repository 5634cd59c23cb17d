"""The recorder worker (``mediation recorder``): asyncio, aiortc and python-socketio's
AsyncClient, in a process of its own, never inside the Flask-SocketIO web process.

Twice a second it renews the leases of the rooms it records and claims rooms nobody holds
(started, not ended), up to ``RECORDER_MAX_ROOMS``. For each room it connects to the room
namespace like a browser, as the hidden peer ``RECORDER``: it offers every peer its layout
lists a receive-only connection (VP8 and Opus) and writes each participant's frames into a
file of their own. The server's layout decides whom it receives: nobody before everyone has
agreed, nobody once someone withdraws, a caucus only where the institution records them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import sys
import time
import urllib.parse
import uuid
from collections.abc import Callable
from typing import Any

import socketio
from aiortc import (
    RTCIceServer,
    RTCIceTransportPolicy,
)
from flask import Flask

from mediation.extensions import db
from mediation.rooms.ice import servers as ice_servers
from mediation.rooms.ice import transport_policy
from mediation.rooms.layout import RECORDER

from . import consent
from . import operations as recording
from .passthrough import install

# Peer and the file helpers live in peer.py; reached here too (tests, tools).
from .peer import Peer, _finish, _open  # noqa: F401
from .watch import LagProbe, Watch, check_peer

log = logging.getLogger(__name__)
TICK_SECONDS = 0.5
# With object storage, files whose upload failed wait in SPOOL_DIR; retried this often.
UPLOAD_RETRY_TICKS = 120
# How far back a file's end is put to where the session ended on the server's clock: more is
# taken as the two clocks disagreeing, not as lateness.
MAX_END_LAG = 2.0
# A page's request for a new connection (``restart``) is acted on within this many seconds,
# once its stream has stopped for RECORDER_RESTART_AFTER. A participant's connection is made
# anew RENEW_EVERY seconds after the last time at the soonest, twice that after two, and so
# on up to RENEW_MOST; ten quiet minutes start the count again (a page that keeps asking
# makes a file every 5 min).
RESTART_WITHIN = 60.0
RENEW_EVERY = 10.0
RENEW_MOST = 300.0


def pinned_url(url: str, session_id: int) -> str:
    """The server's URL with ``?session=``: nginx hashes it to pick the web process, the one
    the room's people are on (deploy/nginx/, ``hash $arg_session consistent``). The server
    reads the session from the connection's auth, never from this."""
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query)
    query = [(k, v) for k, v in query if k != "session"] + [("session", str(session_id))]
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


class Worker:
    def __init__(self, app: Flask, url: str, *, max_rooms: int) -> None:
        self.app = app
        self.url = url.rstrip("/")
        self.max_rooms = max_rooms
        self.ticks = 0
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.rooms: dict[int, RoomRecording] = {}
        # "relay": the recorder reaches the browsers through TURN as they reach it.
        self.ice_policy = RTCIceTransportPolicy(transport_policy(app.config))
        self.composer: asyncio.subprocess.Process | None = None
        self.lag = LagProbe()
        self.retiring: set[asyncio.Future] = set()  # rooms being stopped

    def ice(self) -> list[RTCIceServer]:
        """The ICE servers, with TURN credentials made now: they expire (6 h), and a
        recorder runs for weeks."""
        return [
            RTCIceServer(urls=s["urls"], username=s.get("username"), credential=s.get("credential"))
            for s in ice_servers(self.app.config, RECORDER)
        ]

    async def db(self, function: Callable, *args: Any) -> Any:
        """Run a database operation in a thread, in the app's context, and commit."""

        def call():
            with self.app.app_context():
                try:
                    result = function(*args)
                    db.session.commit()
                    return result
                finally:
                    db.session.remove()

        return await asyncio.to_thread(call)

    async def run(self, stop: asyncio.Event) -> None:
        log.info("recorder %s records rooms of %s", self.holder, self.url)
        self.lag.start()
        while not stop.is_set():
            try:
                await self.tick()
            except Exception:  # a failed tick is logged; the next one tries again
                log.exception("recorder tick failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), TICK_SECONDS)
        for room in list(self.rooms.values()):
            await room.stop()
            await self.db(recording.release, room.session_id, self.holder)
        if self.retiring:
            await asyncio.wait(list(self.retiring))
        await self.lag.stop()

    async def watch(self) -> None:
        """Report what is not being recorded: the loop late (every room), a stream silent."""
        late = self.lag.read() > self.app.config["RECORDER_LAG_LIMIT"]
        for room in list(self.rooms.values()):
            if room.finished:
                continue
            # Only where media flows: a loop busy setting up a room loses nothing yet.
            if late and any(p.last_frame is not None for p in room.peers.values()):
                await room.overload.begin("overloaded")
            elif not late:
                await room.overload.end()
            for peer in list(room.peers.values()):
                await check_peer(peer, self.app.config)
                room.renew(peer)

    async def tick(self) -> None:
        await self.db(recording.close_orphans, self.holder)
        await self.watch()
        self.ticks += 1
        if self.ticks % UPLOAD_RETRY_TICKS == 1:  # at start, then about once a minute
            await self.db(recording.upload_spooled)
        for session_id, room in list(self.rooms.items()):
            kept = await self.db(self._renew, session_id)
            if not kept or room.finished:
                del self.rooms[session_id]
                # Beside the ticks: its files take a moment to drain and close, and the
                # other rooms' leases must be renewed meanwhile.
                retiring = asyncio.ensure_future(self._retire(room, kept))
                self.retiring.add(retiring)
                retiring.add_done_callback(self.retiring.discard)
        if len(self.rooms) >= self.max_rooms:
            return
        for session_id in await self.db(recording.rooms_to_record):
            if len(self.rooms) >= self.max_rooms:
                break
            if session_id in self.rooms or not await self.db(self._claim, session_id):
                continue
            log.info("room %s: claimed", session_id)
            room = RoomRecording(self, session_id)
            self.rooms[session_id] = room
            await room.start()

    async def compose_later(self) -> None:
        """Review videos are made by ``mediation recording compose`` in a process of its
        own, at low priority: encoding must not slow down the rooms being recorded."""
        if self.composer is not None and self.composer.returncode is None:
            return  # one at a time; it takes every session that is due
        self.composer = await asyncio.create_subprocess_exec(
            "nice", sys.executable, "-m", "mediation.cli", "recording", "compose"
        )

    async def _retire(self, room: RoomRecording, kept: bool) -> None:
        try:
            await room.stop()
            if kept:
                await self.db(recording.release, room.session_id, self.holder)
            await self.compose_later()
        except Exception:  # logged; what is left open is closed as an orphan later
            log.exception("room %s: stopping failed", room.session_id)

    def _renew(self, session_id: int) -> bool:
        return recording.renew(session_id, self.holder) and recording.still_recordable(session_id)

    def _claim(self, session_id: int) -> bool:
        return recording.claim(session_id, self.holder)

    def token(self, session_id: int) -> str:
        with self.app.app_context():
            return recording.token_for(self.holder, session_id)


class RoomRecording:
    """One room: a Socket.IO connection and a receive-only peer connection per participant."""

    def __init__(self, worker: Worker, session_id: int) -> None:
        self.worker = worker
        self.session_id = session_id
        self.version = 0
        # The newest layout received, on any connection: versions are the room's, counted in
        # the database, so the highest is the truth whatever connection carried it.
        self.newest: dict | None = None
        self.epoch: int | None = None  # this connection's, as the server counts them
        self.scope = "joint"  # the recorder's group: "joint" or "caucus:<side>"
        self.stretch: int | None = None  # the layout's "stretch" the files are opened in
        self.peers: dict[int, Peer] = {}
        self.overload = Watch(self, None)
        # participant -> when their connection was last made anew, and how many times
        self.renewed: dict[int, tuple[float, int]] = {}
        self.renewing: set[int] = set()
        self.closing: set[asyncio.Future] = set()  # replaced connections, closing
        self.finished = False
        # python-socketio runs each event in a task of its own: one at a time here, in the
        # order they came (a candidate must not overtake the answer before it).
        self.turn = asyncio.Lock()
        self.sio = socketio.AsyncClient(reconnection=True, reconnection_delay=0.5)
        # The server's "welcome" may come before the namespace counts as connected here;
        # nothing is sent until it does.
        self.connected = asyncio.Event()
        self.sio.on("connect", self.connected.set, namespace="/room")
        self.sio.on("disconnect", self.on_disconnect, namespace="/room")
        self.sio.on("welcome", self.on_welcome, namespace="/room")
        self.sio.on("layout", self.on_layout, namespace="/room")
        self.sio.on("signal", self.on_signal, namespace="/room")
        self.sio.on("ended", self.on_ended, namespace="/room")
        self.sio.on("error", self.on_error, namespace="/room")

    async def start(self) -> None:
        def auth() -> dict:  # a fresh token for every (re)connection
            return {"session": self.session_id, "recorder": self.worker.token(self.session_id)}

        try:
            # The session in the URL: nginx sends every connection of one session to the
            # same web process (docs/scaling.md), where the relays skip Redis.
            await self.sio.connect(
                pinned_url(self.worker.url, self.session_id),
                namespaces=["/room"],
                transports=["websocket"],
                auth=auth,
            )
        except socketio.exceptions.ConnectionError as error:
            log.warning("room %s: cannot connect: %s", self.session_id, error)
            self.finished = True

    async def stop(self) -> None:
        """Leave the room: the files end now, with what is on its way (``drain``); then the
        room is told at once that it is no longer recorded, by the connection closing,
        before the files are finished (hashed, uploaded: seconds, tens with object storage,
        while the pages would still say 录制中 of streams no longer written)."""
        self.finished = True  # nothing new from here: no renewal, no offer sent
        try:
            for peer in self.peers.values():
                peer.stop_writing()
            await self._each([peer.drain() for peer in self.peers.values()], "draining")
            await self.overload.end()
        finally:
            await self.sio.shutdown()  # also stops a reconnection under way
            async with self.turn:  # a layout or a renewal under way has finished first
                await self._close(list(self.peers))
            if self.closing:
                await asyncio.wait(list(self.closing))

    async def on_welcome(self, welcome: dict) -> None:
        log.info(
            "room %s: joined (epoch %s, layout %s)",
            self.session_id,
            welcome["you"]["epoch"],
            welcome["layout"]["version"],
        )
        async with self.turn:
            if welcome["you"]["epoch"] != self.epoch:
                # A new connection (ours dropped and came back): browsers dropped theirs
                # to the old one and wait for new offers.
                self.epoch = welcome["you"]["epoch"]
                await self._close_all()
                self.version = 0
            # A layout sent by another server greenlet (or process) may overtake the
            # welcome, which then describes an older state: the newer one stands.
            await self._apply(self._newer(welcome["layout"]))

    async def on_disconnect(self, reason: Any = None) -> None:
        self.connected.clear()
        if reason == self.sio.reason.SERVER_DISCONNECT:
            self.finished = True  # sent away (the session is over, or another worker came)

    async def _close_all(self, ago: float = 0.0) -> None:
        for peer in self.peers.values():
            peer.stop_writing(ago)  # all at once: the closes below take a while each
        await self._close(list(self.peers))

    async def _close(self, peer_ids: list[int]) -> None:
        """Close these files side by side: each may wait for its last frames (``drain``)."""
        await self._each([self.close(peer_id) for peer_id in peer_ids], "closing")

    async def _each(self, steps: list, what: str) -> None:
        for failed in await asyncio.gather(*steps, return_exceptions=True):
            if isinstance(failed, Exception):
                log.error("room %s: %s failed", self.session_id, what, exc_info=failed)

    async def on_layout(self, layout: dict) -> None:
        async with self.turn:
            await self._apply(self._newer(layout))

    def _newer(self, layout: dict) -> dict:
        if self.newest is None or layout["version"] >= self.newest["version"]:
            self.newest = layout
        return self.newest

    async def _apply(self, layout: dict) -> None:
        if layout["version"] < self.version:
            return
        self.version = layout["version"]
        log.info(
            "room %s: layout %s, %s, peers %s",
            self.session_id,
            layout["version"],
            layout["group"],
            layout["peers"],
        )
        ago = 0.0
        if layout.get("ended"):
            self.finished = True
            # Each file ends where the session did (the server's clock), not when this
            # worker heard of it: a page stops saying "recording" then.
            ended_at = layout.get("ended_at")
            if ended_at is not None:
                ago = min(max(0.0, time.time() - ended_at), MAX_END_LAG)
        stretch = layout.get("stretch")
        if layout["group"] != self.scope or stretch != self.stretch:
            # Joint session and caucus go into separate files: a caucus is its side's only.
            # A new stretch (recording on again) begins new files too.
            await self._close_all(ago)
            self.scope, self.stretch = layout["group"], stretch
        epochs = layout.get("epochs", {})
        wanted = set(layout["peers"])
        await self._close(
            [
                peer_id
                for peer_id, peer in self.peers.items()
                if peer_id not in wanted or epochs.get(str(peer_id)) != peer.epoch
            ]
        )
        offers = []
        for peer_id in sorted(wanted - set(self.peers)):
            self.peers[peer_id] = peer = Peer(self, peer_id, epochs.get(str(peer_id)), stretch)
            offers.append(peer.offer())
        # Side by side: the room says "recording" once every file has its first frames, so
        # the last offer made decides when (and one offer's wait is not another's).
        await self._each(offers, "an offer")

    async def on_signal(self, message: dict) -> None:
        async with self.turn:
            peer = self.peers.get(message["from"])
            if peer is None or message.get("epoch") != peer.epoch:
                return
            if message["kind"] == "restart":
                peer.restart_asked = time.monotonic()
            else:
                await peer.signal(message["kind"], message.get("payload"))
        self.renew(peer)

    def renew(self, peer: Peer) -> None:
        """A new connection, and a new file of the same stretch, for a page that asked for
        one (``restart``: a phone that changed networks keeps its place in the room, and
        restarts ICE with everyone) once its stream has stopped here for
        RECORDER_RESTART_AFTER (a shorter outage ends on this connection): aiortc cannot restart
        ICE, and the old connection would leave the person unrecorded for the rest of the
        session; and, unasked, for a connection that never came up (``_renewable``). The
        page takes the offer of another certificate as a new connection. Only
        a stream that stopped is renewed (a request alone never replaces one that delivers,
        nor one whose frames come late), as often as ``_wait`` allows; the gap goes on until
        the new one's frames come. Done in a task of its own: the tick that calls this
        renews every room's lease and must not wait for it."""
        pid = peer.participant_id
        if pid in self.renewing or not self._renewable(peer, time.monotonic()):
            return
        self.renewing.add(pid)
        task = asyncio.ensure_future(self._renew(peer))
        task.add_done_callback(lambda done: self._done(done, "renewing", self.renewing, pid))

    def _renewable(self, peer: Peer, now: float) -> bool:
        last, _count = self.renewed.get(peer.participant_id, (None, 0))
        # Asked, and stopped long enough that it is not an outage about to end by itself.
        stopped = now - (peer.last_frame if peer.last_frame is not None else peer.offered_at)
        asked = (
            peer.restart_asked is not None
            and now - peer.restart_asked <= RESTART_WITHIN
            and stopped >= self.worker.app.config["RECORDER_RESTART_AFTER"]
        )
        # As the offerer of the pair, the recorder also makes anew a connection that never
        # came up (its candidates lost, or the page's): the page watches its own offers
        # only, and such a connection may never turn "failed" for it to ask. One that is up
        # but brings nothing (a page without camera or microphone) is left as it is.
        never_up = peer.watch.reason == "no_media" and peer.pc.connectionState != "connected"
        return (
            (asked or never_up)
            and peer.watch.open
            and peer.watch.reason in ("stalled", "no_media")
            and peer.stopped_at is None
            and not peer.discarding  # the disk is full: a new file would stop at once
            and not self.finished
            and (last is None or now - last >= self._wait(peer.participant_id, now))
        )

    def _wait(self, participant_id: int, now: float) -> float:
        last, count = self.renewed.get(participant_id, (None, 0))
        if last is None or now - last > 2 * RENEW_MOST:
            return 0.0
        return min(RENEW_EVERY * 2 ** (count - 1), RENEW_MOST)

    async def _renew(self, peer: Peer) -> None:
        pid = peer.participant_id
        async with self.turn:
            now = time.monotonic()
            if self.peers.get(pid) is not peer or not self._renewable(peer, now):
                return
            log.info("room %s: a new connection for %s", self.session_id, pid)
            _last, count = self.renewed.get(pid, (None, 0))
            # No wait: the first renewal, or the first after ten quiet minutes.
            self.renewed[pid] = (now, (count if self._wait(pid, now) else 0) + 1)
            successor = Peer(self, pid, peer.epoch, peer.stretch)
            peer.hand_over(successor)
            peer.stop_writing()
            self.peers[pid] = successor
            # The old file is finished beside (hashed, perhaps uploaded): the new connection
            # is not kept waiting for it, nor is anything else in the room.
            closing = asyncio.ensure_future(peer.close())
            self.closing.add(closing)
            closing.add_done_callback(lambda done: self._done(done, "closing", self.closing, done))
            await self._each([successor.offer()], "an offer")

    def _done(self, task: asyncio.Future, what: str, under_way: set, key: Any) -> None:
        """A task beside the room's events is over: no longer ``under_way``; a failure is
        logged (what it left open is closed as an orphan later)."""
        under_way.discard(key)
        if not task.cancelled() and task.exception() is not None:
            log.error("room %s: %s failed", self.session_id, what, exc_info=task.exception())

    async def on_ended(self, _data: Any = None) -> None:
        self.finished = True
        async with self.turn:
            await self._close(list(self.peers))

    async def on_error(self, error: dict) -> None:
        log.info("room %s: %s", self.session_id, error)

    async def close(self, peer_id: int) -> None:
        peer = self.peers.pop(peer_id, None)
        if peer is not None:
            await peer.close()

    async def written(self, file_id: int) -> None:
        """Tell the server that a file has its first frames written (the worker marked it in
        the database already): once every stream has one, the room says "recording"."""
        if not self.connected.is_set():
            return  # a new connection means new files, each told in turn
        try:
            await self.sio.emit("recording_written", {"file": file_id}, namespace="/room")
        except socketio.exceptions.SocketIOError:
            log.info("room %s: could not tell that file %s is written", self.session_id, file_id)

    async def tell(
        self, participant_id: int | None, reason: str, state: str, seconds: float | None
    ) -> None:
        """Tell the mediator, through the server, that a stream is (or was) not recorded;
        the journal has it whatever becomes of this message."""
        if not self.connected.is_set():
            return
        message = {"participant": participant_id, "reason": reason, "state": state}
        if seconds is not None:
            message["seconds"] = round(seconds, 1)
        try:
            await self.sio.emit("recording_gap", message, namespace="/room")
        except socketio.exceptions.SocketIOError:
            log.info("room %s: could not tell the mediator of a gap", self.session_id)

    async def tell_disk_full(self, participant_id: int) -> None:
        """A file stopped because the disk is full (peer.py, ``disk_full``): told as every
        stream the recorder does not record, reason ``disk_full``."""
        await self.tell(participant_id, "disk_full", "started", None)

    async def send(self, to: int, kind: str, payload: Any) -> None:
        if self.finished:
            raise ConnectionError("the recorder is leaving the room")
        message = {"to": to, "kind": kind, "payload": payload, "version": self.version}
        await asyncio.wait_for(self.connected.wait(), timeout=10)
        await self.sio.emit("signal", message, namespace="/room")


async def main(app: Flask, url: str, stop: asyncio.Event) -> None:
    install(loopback=app.config["RECORDER_LOOPBACK"])
    consent.install()  # a phone on a weak cell answers consent checks late, not never
    await Worker(app, url, max_rooms=app.config["RECORDER_MAX_ROOMS"]).run(stop)
