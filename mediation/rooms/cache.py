"""Rooms as the relay checks them, kept in the web process's memory.

Every relayed WebRTC message (most of them ICE candidates) is checked against its room's
current layout (``state.Snapshot``). Reading the room from the database for each one cost
a query on SQLite and four round trips on PostgreSQL (begin, pre-ping, select, commit), so
each process keeps the last reading of each room, and drops it:

- when a change to the room commits in this process: every change of the layout goes
  through ``operations.bump_layout``, which marks the room (``changed``), and the mark is
  acted on in the database session's ``after_commit``, before anyone is told;
- when another process commits one: the room's id is published on Redis
  (``MEDIATION_REDIS_URL``, the channel of Socket.IO's queue with ``-rooms``) and every web
  process listens (``listen``), passing over its own messages (it acted at the commit);
- when what a relay also depends on changes outside the room: the session's status or
  hours (a cancellation, a new time) or a participant's account (closed); the ORM's
  attribute events mark those like layout changes;
- when a message names a newer layout version than the reading (its sender saw a change
  first);
- after ``MAX_AGE`` in any case, as a backstop for a change made behind the ORM's back,
  or by a process that cannot publish (a worker without Redis).

Across processes a change holds for relays once its message reaches the others' listeners
(about a millisecond after the commit; before, a relay read from the database just before a
commit was let through just the same). Without Redis, Socket.IO's queue is down too and
nothing is relayed at all.

A reading that began before a change and ends after it is not kept (``token``).

A change made under the room's lock is read once more before it commits (``state.wanted``):
that reading is what commits, and it takes the place of the dropped one at the commit
(``prime``), unless anything else dropped the room meanwhile. The arrival or admission that
made it sends it to everyone, and the first relays after it (the offers it starts) find it
here: no database round trip between a "let in" and the first offer.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Iterable
from typing import Any

from flask import Flask, current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session, object_session

from mediation.accounts.models import User
from mediation.booking.models import MediationSession

log = logging.getLogger(__name__)

MAX_AGE = 10.0  # seconds
MAX_ROOMS = 20_000  # readings kept before the old ones are swept
_CHANGED = "mediation.rooms.changed"


class RoomCache:
    """Readings of rooms by session id, each with its layout version and time."""

    def __init__(self, max_age: float = MAX_AGE) -> None:
        self.max_age = max_age
        self._rooms: dict[int, tuple[Any, int, float]] = {}
        self._session_of: dict[int, int] = {}  # participant id -> session id: never changes
        self._forgets = 0  # counts every forget; a reading's token is the count at its start
        self._forgotten: dict[int, int] = {}  # session id -> the count at its last forget
        self._times: dict[int, int] = {}  # session id -> how often it was forgotten
        self._floor = 0  # readings begun before this count are not kept

    def session_of(self, participant_id: int) -> int | None:
        return self._session_of.get(participant_id)

    def get(self, session_id: int, at_least: int = 0) -> Any | None:
        found = self._rooms.get(session_id)
        if found is None:
            return None
        room, version, at = found
        if version < at_least or time.monotonic() - at > self.max_age:
            return None
        return room

    def token(self) -> tuple[int, float]:
        """Taken before reading a room from the database, given back to ``put``."""
        return self._forgets, time.monotonic()

    def put(
        self,
        session_id: int,
        room: Any,
        version: int,
        token: tuple[int, float],
        participants: Iterable[int] = (),
    ) -> None:
        count, at = token
        if count < self._floor or self._forgotten.get(session_id, -1) > count:
            return  # the room changed while it was read: this reading may be the old one
        if len(self._rooms) >= MAX_ROOMS or len(self._session_of) >= 10 * MAX_ROOMS:
            self._sweep()
        self._rooms[session_id] = (room, version, at)
        for participant_id in participants:
            self._session_of[participant_id] = session_id

    def own_token(self, session_id: int) -> tuple[int, float, int]:
        """Taken before a room is read inside the transaction that changes it (``prime``)."""
        return self._forgets, time.monotonic(), self._times.get(session_id, 0)

    def prime(
        self,
        session_id: int,
        room: Any,
        version: int,
        token: tuple[int, float, int],
        participants: Iterable[int] = (),
    ) -> None:
        """Keep a reading made under the room's lock just before its change committed: kept
        if the only forget of the room since ``own_token`` was that commit's own."""
        count, at, times = token
        if count < self._floor or self._times.get(session_id, 0) != times + 1:
            return
        self.put(session_id, room, version, (self._forgets, at), participants)

    def forget(self, session_id: int) -> None:
        self._forgets += 1
        self._forgotten[session_id] = self._forgets
        self._times[session_id] = self._times.get(session_id, 0) + 1
        self._rooms.pop(session_id, None)
        if len(self._forgotten) > MAX_ROOMS:
            self._forgotten.clear()
            self._times.clear()
            self._floor = self._forgets

    def forget_all(self) -> None:
        self._forgets += 1
        self._floor = self._forgets
        self._rooms.clear()
        self._forgotten.clear()
        self._times.clear()

    def _sweep(self) -> None:
        oldest = time.monotonic() - self.max_age
        for session_id in [s for s, (_, _, at) in self._rooms.items() if at < oldest]:
            del self._rooms[session_id]
        if len(self._rooms) >= MAX_ROOMS:
            self._rooms.clear()  # that many rooms in one process: start again
        if len(self._session_of) >= 10 * MAX_ROOMS:
            self._session_of.clear()


KEY = "mediation.rooms.cache"


def init_app(app: Flask) -> None:
    """Each app (each web process, each test's app) keeps its own readings."""
    app.extensions[KEY] = RoomCache()
    app.extensions[KEY + ".publisher"] = Publisher(
        app.config.get("REDIS_URL"), app.config["SOCKETIO_CHANNEL"]
    )


def rooms() -> RoomCache:
    return current_app.extensions[KEY]


EVERY_ROOM = 0  # in ``changed``: a change that may concern any room (an account)
PRIMED = "mediation.rooms.primed"  # session id -> (reading, version, own_token), by state.py


def changed(session: Session, session_id: int) -> None:
    """Mark a room (or ``EVERY_ROOM``) changed in this database session: its readings are
    dropped everywhere once the change commits (and never if it is rolled back)."""
    session.info.setdefault(_CHANGED, set()).add(session_id)


@event.listens_for(MediationSession.status, "set")
@event.listens_for(MediationSession.start_at, "set")
@event.listens_for(MediationSession.end_at, "set")
def _session_changed(target: MediationSession, value, previous, initiator) -> None:
    session = object_session(target)
    if session is not None and target.id is not None and value != previous:
        changed(session, target.id)


@event.listens_for(User.active, "set")
def _account_changed(target: User, value, previous, initiator) -> None:
    session = object_session(target)
    if session is not None and target.id is not None and value != previous:
        changed(session, EVERY_ROOM)


class Publisher:
    """Tells the other web processes which rooms changed, over Redis."""

    def __init__(self, url: str | None, channel: str) -> None:
        self.url = url
        self.channel = f"{channel}-rooms"
        # This process's messages come back to its own listener, which must not drop what
        # the commit has just primed (the reading the first offers after a let-in find).
        self.origin = uuid.uuid4().hex
        self._client = None
        self._lock = threading.Lock()

    def publish(self, session_ids: set[int]) -> None:
        if not self.url:
            return
        try:
            with self._lock:
                if self._client is None:
                    import redis

                    self._client = redis.Redis.from_url(self.url)
            message = {"from": self.origin, "rooms": sorted(session_ids)}
            self._client.publish(self.channel, json.dumps(message))
        except Exception:  # the change is committed; the readings expire by themselves
            log.exception("could not tell the other processes that rooms %s changed", session_ids)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released: nothing is committed yet
    session_ids = session.info.pop(_CHANGED, None)
    primed = session.info.pop(PRIMED, None)
    if session_ids and has_app_context() and KEY in current_app.extensions:
        _forget(rooms(), session_ids)
        # Before publishing (which waits on the network, and lets other work run).
        for session_id, (reading, version, token) in (primed or {}).items():
            rooms().prime(session_id, reading, version, token, reading.senders)
        current_app.extensions[KEY + ".publisher"].publish(session_ids)


def _forget(readings: RoomCache, session_ids: set[int]) -> None:
    if EVERY_ROOM in session_ids:
        readings.forget_all()
        return
    for session_id in session_ids:
        readings.forget(session_id)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    if not session.in_nested_transaction():  # a savepoint's rollback keeps earlier marks
        session.info.pop(_CHANGED, None)
        session.info.pop(PRIMED, None)


def listen(
    readings: RoomCache,
    url: str,
    channel: str,
    *,
    stop: threading.Event | None = None,
    origin: str | None = None,
) -> None:
    """Forget the rooms other processes changed, until ``stop`` (a web process's
    background task); ``origin``: this process's ``Publisher.origin``, whose changes were
    acted on at their commit. After a lost connection every reading is dropped: a message
    may have been missed."""
    import redis

    while stop is None or not stop.is_set():
        try:
            pubsub = redis.Redis.from_url(url).pubsub()
            pubsub.subscribe(f"{channel}-rooms")
            while stop is None or not stop.is_set():
                message = pubsub.get_message(timeout=1.0)
                if message is None:
                    continue
                if message["type"] == "subscribe":  # listening from now: start afresh
                    readings.forget_all()
                elif message["type"] == "message":
                    data = json.loads(message["data"])
                    if isinstance(data, list):  # from a process of an earlier release
                        data = {"rooms": data}
                    if origin is None or data.get("from") != origin:
                        _forget(readings, {int(s) for s in data["rooms"]})
            pubsub.close()
        except Exception:
            log.exception("listening for room changes failed; trying again")
            readings.forget_all()
            time.sleep(1)
