"""The relay's readings of rooms in memory: kept, aged, dropped when a change commits here
or is published by another process (a real Redis), never replaced by a reading that began
before a change."""

from __future__ import annotations

import os
import threading
import time

from mediation.extensions import db
from mediation.rooms import cache
from mediation.rooms.cache import Publisher, RoomCache


def test_a_reading_is_used_until_it_is_too_old_or_older_than_asked():
    readings = RoomCache(max_age=0.2)
    readings.put(7, "room 7", 3, readings.token(), participants=[70, 71])
    assert readings.get(7) == "room 7" and readings.session_of(71) == 7
    assert readings.get(7, at_least=3) == "room 7"
    assert readings.get(7, at_least=4) is None  # the sender has seen a newer layout
    time.sleep(0.25)
    assert readings.get(7) is None


def test_a_reading_begun_before_a_change_is_not_kept():
    readings = RoomCache()
    token = readings.token()
    readings.forget(7)  # a change committed while the room was being read
    readings.put(7, "old", 3, token)
    assert readings.get(7) is None
    readings.put(7, "new", 4, readings.token())
    assert readings.get(7) == "new"
    token = readings.token()
    readings.forget_all()  # a lost Redis connection: anything may have changed
    readings.put(7, "old", 4, token)
    assert readings.get(7) is None


def test_a_change_drops_the_reading_when_it_commits_and_not_when_it_is_rolled_back(app):
    with app.app_context():
        readings = cache.rooms()
        readings.put(7, "room 7", 3, readings.token())
        cache.changed(db.session, 7)
        db.session.rollback()
        assert readings.get(7) == "room 7"
        cache.changed(db.session, 7)
        db.session.commit()
        assert readings.get(7) is None


def test_a_released_savepoint_is_not_yet_a_commit(app):
    with app.app_context():
        readings = cache.rooms()
        readings.put(7, "room 7", 3, readings.token())
        db.session.connection()
        with db.session.begin_nested():
            cache.changed(db.session, 7)
        assert readings.get(7) == "room 7"  # a relay now still sees the committed room
        try:
            with db.session.begin_nested():
                raise ValueError
        except ValueError:
            pass  # a savepoint rolled back keeps the marks made before it
        db.session.commit()
        assert readings.get(7) is None


def test_another_process_s_change_reaches_the_listener_through_redis():
    import redis

    from tests.conftest import require_service

    url = os.environ.get("MEDIATION_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        require_service("Redis", error)
    channel = f"cache-test-{os.getpid()}"
    readings = RoomCache(max_age=60)
    own = Publisher(url, channel)  # this process's: its changes were acted on at the commit
    stop = threading.Event()
    listener = threading.Thread(
        target=cache.listen,
        args=(readings, url, channel),
        kwargs={"stop": stop, "origin": own.origin},
        daemon=True,
    )
    listener.start()
    try:
        deadline = time.monotonic() + 5
        readings.put(7, "room 7", 3, readings.token())
        readings.put(8, "room 8", 3, readings.token())
        # The listener drops everything once subscribed: wait until it has, then fill again.
        while readings.get(7) is not None and time.monotonic() < deadline:
            time.sleep(0.02)
        for room in (7, 8, 9):
            readings.put(room, f"room {room}", 3, readings.token())
        # Published in this order and read in it: once 7 is dropped, 8's own message before
        # it has been read, and passed over (the reading its commit primed stays).
        own.publish({8})
        Publisher(url, channel).publish({7})
        while readings.get(7) is not None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert readings.get(7) is None
        assert readings.get(8) == "room 8"
        assert readings.get(9) == "room 9"  # another room is untouched
        # A process of the previous release publishes a bare list: understood.
        redis.Redis.from_url(url).publish(f"{channel}-rooms", "[9]")
        while readings.get(9) is not None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert readings.get(9) is None and readings.get(8) == "room 8"
    finally:
        stop.set()
        listener.join(timeout=5)
    assert not listener.is_alive()


def test_a_session_s_new_hours_drop_its_reading_and_a_closed_account_drops_all(app):
    from datetime import timedelta

    from mediation.accounts.models import User
    from mediation.booking.models import MediationSession
    from tests.factories import make_mediating_case
    from tests.signaling.conftest import open_session

    with app.app_context():
        session = open_session(make_mediating_case())
        db.session.commit()
        readings = cache.rooms()
        readings.put(session.id, "this room", 1, readings.token())
        readings.put(session.id + 1, "another room", 1, readings.token())
        db.session.get(MediationSession, session.id).start_at -= timedelta(minutes=30)
        db.session.commit()
        assert readings.get(session.id) is None
        assert readings.get(session.id + 1) == "another room"
        user = db.session.get(User, session.mediator_id)
        user.active = False
        db.session.commit()
        assert readings.get(session.id + 1) is None  # any room may have them
        db.session.remove()
