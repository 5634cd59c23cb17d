"""The recorder watching itself: a stream it should record but does not receive, or its own
event loop falling behind, is a gap, reported at once to the mediator (a ``recording_gap``
event through the room's signaling) and journaled (``gaps.begin`` / ``gaps.end``), so the
minutes say which stream was not (fully) recorded and for how long. Nothing is lost
silently (issue 19: at 20 streams a stream kept 0% and nothing said so).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

from mediation.core.db import utcnow

from . import gaps

log = logging.getLogger(__name__)
PROBE_SECONDS = 0.1


class Watch:
    """One stream's gap (``participant_id``), or the whole room's (None: overloaded)."""

    def __init__(self, room: Any, participant_id: int | None, peer: Any = None) -> None:
        self.room = room
        self.participant_id = participant_id
        self.peer = peer  # the stream's peer.Peer, whose open file the gap marks
        self.key: str | None = None
        self.reason = ""
        self.began: datetime | None = None

    @property
    def open(self) -> bool:
        return self.key is not None

    async def begin(self, reason: str, since: datetime | None = None) -> None:
        """The gap began ``since`` (None: now): a stream's, when its last frame came or its
        offer was made, not when the watch noticed, or the minutes would say it shorter than
        it was by the watch's own patience."""
        if self.key is not None:
            return
        self.key, self.reason, self.began = uuid.uuid4().hex, reason, since or utcnow()
        log.warning(
            "room %s: participant %s not recorded: %s",
            self.room.session_id,
            self.participant_id,
            reason,
        )
        # Frames arriving late still go into the file: not marked as a stream not written.
        file_id = None if reason == "overloaded" else self._file()
        try:
            await self.room.worker.db(
                gaps.begin,
                self.room.session_id,
                self.participant_id,
                reason,
                self.key,
                self.began,
                file_id,
            )
        except Exception:
            self.key = None  # not on record: the next tick tries again
            raise
        await self.room.tell(self.participant_id, reason, "started", None)

    async def end(self) -> None:
        if self.key is None:
            return
        key, began, self.key = self.key, self.began, None
        ended = utcnow()
        worker = self.room.worker
        await worker.db(
            gaps.end,
            self.room.session_id,
            self.participant_id,
            self.reason,
            key,
            began,
            ended,
            self._file(),
        )
        await self.room.tell(
            self.participant_id, self.reason, "ended", (ended - began).total_seconds()
        )

    def _file(self) -> int | None:
        return self.peer.file_id if self.peer is not None else None

    async def missed(self, reason: str, began: datetime, ended: datetime) -> None:
        """A gap that is over already (see ``gaps.missed``): journaled and told at once."""
        worker = self.room.worker
        await worker.db(
            gaps.missed,
            self.room.session_id,
            self.participant_id,
            reason,
            uuid.uuid4().hex,
            began,
            ended,
        )
        await self.room.tell(self.participant_id, reason, "ended", (ended - began).total_seconds())


def stream_state(
    offered: float, last_frame: float | None, behind: float, config: dict, now: float
) -> str:
    """What is wrong with the stream now ("ok": nothing). ``behind``: how much later than
    its own clock says the newest frame arrived, beyond the first frame's delay (a recorder
    behind real time drops what does not fit in its sockets' buffers)."""
    if last_frame is None:
        return "no_media" if now - offered > config["RECORDER_MEDIA_WITHIN"] else "ok"
    if now - last_frame > config["RECORDER_STALL_SECONDS"]:
        return "stalled"
    return "overloaded" if behind > 2 * config["RECORDER_LAG_LIMIT"] else "ok"


async def check_peer(peer: Any, config: dict) -> None:
    """Called on every tick of the worker for each stream it records."""
    if not peer.accepting or peer.stopped_at is not None:
        return
    writer = peer.writer
    behind = 0.0
    if writer is not None and writer.started and peer.last_frame is not None:
        behind = peer.last_frame - writer.opened - writer.end
    now = time.monotonic()
    state = stream_state(peer.offered_at, peer.last_frame, behind, config, now)
    if state == "ok" and peer.watch.open and (writer is None or not writer.started):
        return  # nothing written yet (a new connection, a picture waiting for its key frame)
    if state == "ok":
        await peer.watch.end()
        asked = peer.restart_asked
        if asked is not None and now - asked > config["RECORDER_STALL_SECONDS"]:
            peer.restart_asked = None  # it came back by itself: that request is answered
    elif state == "overloaded":
        await peer.watch.begin(state)
    else:  # nothing since the offer, or since the last frame
        last = peer.offered_at if peer.last_frame is None else peer.last_frame
        await peer.watch.begin(state, utcnow() - timedelta(seconds=now - last))


class LagProbe:
    """How late the event loop wakes up: a task sleeping PROBE_SECONDS, the worst lateness
    kept until read. A loop busier than the streams it receives drops their packets (the
    kernel's socket buffers fill), so lateness is loss."""

    def __init__(self) -> None:
        self.worst = 0.0
        self.task: asyncio.Task | None = None

    def start(self) -> None:
        self.task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        while True:
            before = time.monotonic()
            await asyncio.sleep(PROBE_SECONDS)
            self.worst = max(self.worst, time.monotonic() - before - PROBE_SECONDS)

    def read(self) -> float:
        worst, self.worst = self.worst, 0.0
        return worst

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
