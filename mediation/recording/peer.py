"""The recorder's receive-only connection to one participant, and their file (see
recorder.py): VP8 and Opus as they came, written as they arrive; the stream watched for a
gap (watch.py)."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from aiortc import (
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError
from aiortc.sdp import candidate_from_sdp

from mediation.core.db import utcnow
from mediation.extensions import db

from . import operations as recording
from .models import Recording
from .watch import Watch
from .writer import WebmWriter

log = logging.getLogger(__name__)
# A recorder behind real time (a busy machine) still has frames on their way when a stretch
# ends: those sent before the end go into the file, waited for this long at most.
DRAIN_SECONDS = 1.0


class Peer:
    """The recorder's receive-only connection to one participant (in ``room``, a
    recorder.RoomRecording), and their file."""

    def __init__(
        self, room: Any, participant_id: int, epoch: int | None, stretch: int | None = None
    ) -> None:
        self.room = room
        self.participant_id = participant_id
        self.epoch = epoch
        self.stretch = stretch  # the recorder's epoch in the room (the layout's "stretch")
        # The platform's STUN/TURN servers, never aiortc's default public STUN server.
        self.pc = RTCPeerConnection(
            RTCConfiguration(
                iceServers=room.worker.ice(), iceTransportPolicy=room.worker.ice_policy
            )
        )
        self.accepting = True
        self.discarding = False  # the disk is full: tracks are read and dropped
        self.stopped_at: datetime | None = None
        self.stop_media: float | None = None  # the end, in the file's seconds, once known
        self.writer: WebmWriter | None = None
        self.file_id: int | None = None
        self.marked = False  # the file's first frame is on record (``mark_written``)
        self.readers: list[asyncio.Task] = []
        self.early: list = []  # candidates that came before the answer
        self.offered_at = time.monotonic()
        self.offered_wall = utcnow()  # the same moment, for the journal
        self.last_frame: float | None = None  # when the last frame of either kind came
        self.watch = Watch(room, participant_id, self)
        # When the page last asked for a new connection (``restart``: its network changed);
        # see ``recorder.RoomRecording.renew``.
        self.restart_asked: float | None = None
        self.renewed = False  # replaced by a new connection, which carries on its gap
        self.pc.on("track", self.on_track)

    async def offer(self) -> None:
        worker = self.room.worker
        self.file_id, path = await worker.db(
            _open,
            self.room.session_id,
            self.participant_id,
            worker.holder,
            self.room.scope,
            (self.stretch, self.epoch),
        )
        self.writer = WebmWriter(path)
        if self.stopped_at is not None:  # closed while the file was being made
            await self._finish("finished")
            return
        for kind, codec in (("audio", "audio/opus"), ("video", "video/vp8")):
            transceiver = self.pc.addTransceiver(kind, direction="recvonly")
            transceiver.setCodecPreferences(
                [
                    c
                    for c in RTCRtpSender.getCapabilities(kind).codecs
                    if c.mimeType.lower() in (codec, f"{kind}/rtx")
                ]
            )
        await self.pc.setLocalDescription(await self.pc.createOffer())
        description = self.pc.localDescription
        await self.room.send(
            self.participant_id, "offer", {"type": description.type, "sdp": description.sdp}
        )

    async def signal(self, kind: str, payload: Any) -> None:
        if kind == "answer" and isinstance(payload, dict):
            if self.pc.signalingState != "have-local-offer":
                return  # an answer to an offer already answered
            await self.pc.setRemoteDescription(
                RTCSessionDescription(sdp=payload["sdp"], type=payload["type"])
            )
            for candidate in self.early:
                await self.pc.addIceCandidate(candidate)
            self.early.clear()
        elif kind == "candidate" and isinstance(payload, dict) and payload.get("candidate"):
            candidate = candidate_from_sdp(payload["candidate"].split(":", 1)[1])
            candidate.sdpMid = payload.get("sdpMid")
            candidate.sdpMLineIndex = payload.get("sdpMLineIndex")
            if self.pc.remoteDescription is None:
                self.early.append(candidate)
            else:
                await self.pc.addIceCandidate(candidate)

    def on_track(self, track) -> None:
        self.readers.append(asyncio.ensure_future(self._read(track)))

    async def _read(self, track) -> None:
        add = self.writer.add_video if track.kind == "video" else self.writer.add_audio
        with contextlib.suppress(MediaStreamError):
            # After a full disk every track is read on, unwritten (``discarding``): frames
            # left unread would queue in memory for the rest of the session.
            while self.accepting or self.discarding:
                frame = await track.recv()
                if not self.accepting:
                    continue
                self.last_frame = time.monotonic()
                try:
                    add(frame.data, frame.timestamp, self.last_frame)
                except OSError as error:
                    if error.errno != errno.ENOSPC:
                        raise
                    await self.disk_full()
                    continue
                if self.file_id is not None and not self.marked and self.writer.started:
                    self.marked = True  # the file has its first frame: say so, once
                    # The file's time begins at its first frame, not at the offer: its
                    # start as the review video places it beside the others' files.
                    now = utcnow()
                    began = now - timedelta(seconds=time.monotonic() - self.writer.opened)
                    await self.room.worker.db(recording.mark_written, self.file_id, now, began)
                    await self.room.written(self.file_id)  # the room may say "recording"
                if self.stop_media is not None and self.writer.end >= self.stop_media:
                    self.accepting = False  # caught up with the end

    def stop_writing(self, ago: float = 0.0) -> None:
        """The recorded stretch ends now, or ``ago`` seconds before (the session ended
        then, on the server's clock): nothing sent later goes into the file (what was sent
        before and is still on its way does, see ``drain``)."""
        if self.stopped_at is None:
            self.stopped_at = utcnow() - timedelta(seconds=ago)
            if self.writer is None or not self.writer.started:
                self.accepting = False
            else:
                self.stop_media = max(0.0, time.monotonic() - ago - self.writer.opened)
                if self.writer.end >= self.stop_media:
                    self.accepting = False  # written up to the end already

    async def drain(self) -> None:
        deadline = time.monotonic() + DRAIN_SECONDS
        while self.accepting and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        self.accepting = False

    async def disk_full(self) -> None:
        """The recorder's disk is full: this file stops here, as it is (playable to its last
        cluster), hashed and journaled at once as ``recording.stopped_disk_full``; the
        mediator is told. The written minutes are then the record of the session (SPC online
        mediation rules art 22: the recording is incomplete)."""
        self.stop_writing()
        self.discarding = True
        self.accepting = False  # nothing more can be written: no frames to wait for
        log.error(
            "room %s: disk full, recording of %s stopped", self.room.session_id, self.participant_id
        )
        await self._finish(recording.DISK_FULL_STATUS)
        await self.room.tell_disk_full(self.participant_id)

    async def _finish(self, status: str) -> None:
        if self.writer is not None and self.file_id is not None:
            file_id, self.file_id = self.file_id, None  # closed once, whoever comes first
            duration = self.writer.close()
            if self.writer.disk_full:  # the disk filled while the file was being finished
                status = recording.DISK_FULL_STATUS
            worker = self.room.worker
            await worker.db(_finish, file_id, duration, worker.holder, self.stopped_at, status)

    def hand_over(self, successor: Peer) -> None:
        """``successor`` replaces this connection: the gap open now goes on until its frames
        come (one gap, from this one's last frame), and this file closes without one."""
        self.renewed = True
        successor.watch, self.watch = self.watch, Watch(self.room, self.participant_id, self)
        successor.watch.peer = successor

    async def close(self) -> None:
        self.stop_writing()
        await self.drain()
        # Nothing of this stretch can be written (nothing came, or only pictures before a
        # first key frame), and it ended before the watch would call that a gap: the whole
        # stretch is one, or the recording would seem to stand for the minutes without a
        # second of this person in it (SPC online mediation rules art 22).
        unrecorded = (
            self.writer is not None
            and self.writer.empty
            and not self.watch.open
            and not self.discarding
            and not self.renewed  # its gap goes on in the successor's watch
        )
        try:
            await self.watch.end()  # a gap lasts at most until its file closes
            if unrecorded:
                await self.watch.missed("no_media", self.offered_wall, self.stopped_at)
        except Exception:  # the file must still be closed and hashed below
            log.exception("room %s: the end of a gap was not journaled", self.room.session_id)
        await self.pc.close()
        for reader in self.readers:
            reader.cancel()
        await self._finish("finished")


def _open(
    session_id: int, participant_id: int, holder: str, scope: str, stretch=(None, None)
) -> tuple[int, Path]:
    file = recording.open_file(session_id, participant_id, holder, scope, stretch)
    return file.id, recording.absolute(file)


def _finish(
    recording_id: int, duration: float, holder: str, closed: datetime, status: str = "finished"
) -> None:
    file = db.session.get(Recording, recording_id)
    if status == recording.DISK_FULL_STATUS:
        recording.stopped_disk_full(file, duration=duration, by=holder, ended_at=closed)
    else:
        recording.finish_file(file, duration=duration, by=holder, ended_at=closed)
