"""Two web processes on one Redis, as at scale: a change made on one holds at once for the
relays of the other, which checks them against its reading of the room in memory."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.browser.conftest import serve
from tests.conftest import require_service

NS = "/room"


@pytest.fixture
def redis_url() -> str:
    import redis

    url = os.environ.get("MEDIATION_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        require_service("Redis", error)
    return url


class Participant:
    """A python-socketio client with the participant's login cookie, recording events."""

    def __init__(self, app, url: str, room: dict, who: str) -> None:
        import socketio

        from mediation.accounts.models import User
        from mediation.extensions import db

        with app.app_context():
            user = db.session.scalar(db.select(User).where(User.phone == room["phones"][who]))
            cookie = app.session_interface.get_signing_serializer(app).dumps(
                {"_user_id": user.get_id(), "_fresh": True}
            )
            db.session.remove()
        self.events: list[tuple[str, dict]] = []
        self.client = socketio.Client(reconnection=False)
        self.client.on("*", lambda name, data: self.events.append((name, data)), namespace=NS)
        self.client.connect(
            url,
            namespaces=[NS],
            transports=["websocket"],
            auth={"session": room["session"]},
            headers={"Cookie": f"{app.config['SESSION_COOKIE_NAME']}={cookie}"},
            wait_timeout=10,
        )

    def wait_for(self, test, within: float = 10) -> dict:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            found = [data for name, data in self.events if test(name, data)]
            if found:
                return found[-1]
            time.sleep(0.02)
        raise AssertionError(f"not received; got {[name for name, _ in self.events]}")

    def layout(self, test=lambda layout: True) -> dict:
        def matches(name, data):
            layout = data.get("layout", data) if name in ("welcome", "layout") else None
            return layout is not None and test(layout)

        found = self.wait_for(matches)
        return found.get("layout", found)

    def emit(self, event: str, data: dict) -> None:
        self.client.emit(event, data, namespace=NS)


def test_a_caucus_started_on_one_process_stops_relays_at_once_on_the_other(
    app, room, tmp_path, redis_url
):
    database = app.config["SQLALCHEMY_DATABASE_URI"]
    instance = Path(app.instance_path)
    ids = room["ids"]
    with (
        serve(database, instance, redis_url=redis_url, channel="relay-test") as one,
        serve(database, instance, redis_url=redis_url, channel="relay-test") as two,
    ):
        mediator = Participant(app, one, room, "mediator")
        a = Participant(app, two, room, "a")
        try:
            mediator.emit("admit", {"participant": ids["a"]})
            mediator.emit("confirm_identity", {"participant": ids["a"]})
            a.emit("acknowledge_warning", {})
            joined = a.layout(lambda layout: ids["mediator"] in layout["peers"])
            signal = {"to": ids["mediator"], "kind": "candidate", "payload": {"n": 1}}
            a.emit("signal", signal | {"version": joined["version"]})
            mediator.wait_for(lambda name, data: name == "signal" and data["payload"] == {"n": 1})
            # Process two now holds a reading of the room in which A and the mediator meet.
            mediator.emit("caucus", {"side": "respondent"})
            a.layout(lambda layout: layout["group"] == "waiting:applicant")
            # A acts on the old layout, as a client that has not yet applied the new one.
            a.emit("signal", signal | {"payload": {"n": 2}, "version": joined["version"]})
            refused = a.wait_for(lambda name, data: name == "error")
            assert refused["code"] == "forbidden_pair"
            time.sleep(0.3)
            assert not [d for n, d in mediator.events if n == "signal" and d["payload"] == {"n": 2}]
        finally:
            mediator.client.disconnect()
            a.client.disconnect()


class Published:
    """Every message published on a Redis channel, read by a thread of the test."""

    def __init__(self, url: str, channel: str) -> None:
        import json
        import threading

        import redis

        self.messages: list[dict] = []
        self._pubsub = redis.Redis.from_url(url).pubsub(ignore_subscribe_messages=True)
        self._pubsub.subscribe(channel)
        self._stop = threading.Event()

        def read() -> None:
            while not self._stop.is_set():
                message = self._pubsub.get_message(timeout=0.1)
                if message is not None:
                    self.messages.append(json.loads(message["data"]))

        self._thread = threading.Thread(target=read, daemon=True)
        self._thread.start()

    def signals(self, payload: dict) -> list[dict]:
        return [
            m
            for m in self.messages
            if m.get("method") == "emit"
            and m.get("event") == "signal"
            and m["data"][0]["payload"] == payload
        ]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._pubsub.close()


def test_a_relay_to_a_connection_in_the_same_process_does_not_go_through_redis(
    app, room, redis_url
):
    """Pinned (the session's connections on one process), a relay is sent directly; the one
    member who landed elsewhere (pinning failed) is still reached, through the queue."""
    database = app.config["SQLALCHEMY_DATABASE_URI"]
    if not database.startswith("sqlite"):
        pytest.skip("what goes through Redis does not depend on the database: run on SQLite")
    instance = Path(app.instance_path)
    ids = room["ids"]
    published = Published(redis_url, f"pinned-test-{os.getpid()}")  # serve()'s channel name
    with (
        serve(database, instance, redis_url=redis_url, channel="pinned-test") as one,
        serve(database, instance, redis_url=redis_url, channel="pinned-test") as two,
    ):
        mediator = Participant(app, one, room, "mediator")
        a = Participant(app, one, room, "a")
        b = Participant(app, two, room, "b")
        try:
            for who, client in (("a", a), ("b", b)):
                mediator.emit("admit", {"participant": ids[who]})
                mediator.emit("confirm_identity", {"participant": ids[who]})
                client.emit("acknowledge_warning", {})
            for who, client in (("a", a), ("b", b)):
                joined = client.layout(lambda layout: ids["mediator"] in layout["peers"])
                payload = {"from": who}
                signal = {"to": ids["mediator"], "kind": "candidate", "payload": payload}
                client.emit("signal", signal | {"version": joined["version"]})
                mediator.wait_for(
                    lambda name, data, p=payload: name == "signal" and data["payload"] == p
                )
            # The mediator's answer to B crosses back the same way.
            to_b = mediator.layout(lambda layout: ids["b"] in layout["peers"])
            mediator.emit(
                "signal",
                {
                    "to": ids["b"],
                    "kind": "answer",
                    "payload": {"to": "b"},
                    "version": to_b["version"],
                },
            )
            b.wait_for(lambda name, data: name == "signal" and data["payload"] == {"to": "b"})
            time.sleep(0.3)  # the thread reading Redis has seen everything published
            assert published.signals({"from": "a"}) == []
            assert len(published.signals({"from": "b"})) == 1
            assert len(published.signals({"to": "b"})) == 1
        finally:
            published.close()
            for client in (mediator, a, b):
                client.client.disconnect()
