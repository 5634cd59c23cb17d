"""Malformed and oversized Engine.IO and Socket.IO traffic against a real server process
(issue 15, finding 5): raw frames over real WebSockets from a client with no account and from
a party of a session in progress, generated from a fixed seed. The server answers with an
``error`` event or closes the connection; it writes no traceback, answers no request with a
5xx, logs a few short lines at most, and goes on relaying for the well-behaved members of
the same room all along.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import random
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import websocket

from tests.browser.conftest import serve
from tests.signaling.conftest import room  # noqa: F401  (the fixture)
from tests.signaling.test_processes import Participant

NS = "/room"
SEED = 15
# The party's events reach the database; the anonymous client's are refused before.
FRAMES = {"anonymous": 10_000, "party": 2_500}
# Of them, malformed or oversized frames and events with generated arguments (not the
# pongs, stray acks and disconnects mixed in): issue #15 asks for 10,000 at least.
HOSTILE_FRAMES = 10_000
EVENTS = [
    "signal",
    "admit",
    "confirm_identity",
    "acknowledge_warning",
    "recording_consent",
    "start",
    "caucus",
    "raise_hand",
    "chat",
    "minutes",
    "end",
    "recording_gap",
    "recording_written",
    "no_such_event",
]


# -- generated values --------------------------------------------------------------------


def _text(rng: random.Random) -> str:
    """JSON text of a string: CJK, control characters, NUL, lone surrogates, long."""
    pieces = [
        "请双方陈述",
        "\\u0000",
        "\\ud800",
        "\\udfff\\ud800",
        "\\n\\t",
        "\u202e",
        "<script>",
        "x" * rng.choice([1, 10, 2_000, 2_001]),
    ]
    return json.dumps("".join(rng.choices(pieces, k=rng.randint(0, 4)))).replace("\\\\u", "\\u")


def _value(rng: random.Random, depth: int = 0) -> str:
    """JSON text of a value: every type, huge and negative numbers, NaN, deep nesting."""
    choice = rng.randrange(14 if depth < 3 else 9)
    if choice == 0:
        return rng.choice(["null", "true", "false", "NaN", "-Infinity", "1e999", "-0"])
    if choice == 1:
        return str(rng.choice([0, 1, -1, 2**31 - 1, 2**31, 2**63, -(2**64), 10**300]))
    if choice == 2:
        return "9" * rng.choice([20, 400, 4_000])  # Python's int() takes 4,300 digits at most
    if choice == 3:
        return str(rng.uniform(-1e9, 1e9))
    if choice in (4, 5, 6):
        return _text(rng)
    if choice == 7:
        depth_ = rng.choice([33, 200, 2_000])
        return "[" * depth_ + "]" * depth_
    if choice == 8:
        return '{"a":' * 40 + "1" + "}" * 40
    if choice in (9, 10):
        fields = rng.sample(
            [
                "to",
                "kind",
                "version",
                "payload",
                "participant",
                "epoch",
                "consent",
                "side",
                "raised",
                "text",
                "facts",
                "attendees",
                "proposals",
                "",
                "__proto__",
            ],
            k=rng.randint(0, 5),
        )
        members = [f"{json.dumps(f)}:{_value(rng, depth + 1)}" for f in fields]
        return "{" + ",".join(members) + "}"
    if choice == 11:
        return "[" + ",".join(_value(rng, depth + 1) for _ in range(rng.randint(0, 4))) + "]"
    if choice == 12:
        return json.dumps({"to": rng.randint(-2, 10), "kind": rng.choice(["offer", "x"])})
    if rng.random() < 0.1:
        return json.dumps({"text": "x" * 70_000})  # over the 64 KB an event may have
    return json.dumps({"text": "x" * 2_001})


def event_frame(rng: random.Random, namespace: str = NS) -> str:
    """A well-formed Socket.IO event with generated arguments (zero, one or several)."""
    args = [_value(rng) for _ in range(rng.choice([0, 1, 1, 1, 1, 2]))]
    ack = str(rng.randint(0, 10**6)) if rng.random() < 0.1 else ""
    body = ",".join([json.dumps(rng.choice(EVENTS)), *args])
    return f"42{_prefix(namespace)}{ack}[{body}]"


def _prefix(namespace: str) -> str:
    return f"{namespace}," if namespace else ""


def malformed_frame(rng: random.Random) -> str | bytes:
    """A frame no Socket.IO client sends: it closes the connection it comes on."""
    invalid_json = ['["chat",', "{", "[1,]", "['x']", '["a"]]', "[" * 1_000 + "]" * 1_000]
    choice = rng.randrange(13)
    if choice == 0:
        return rng.choice(["", "x", "9", "b", "b!!!", "bQUJD", "٣", "²", " 4"])
    if choice == 1:
        return bytes(rng.randrange(256) for _ in range(rng.randint(1, 40)))
    if choice == 2:
        return "4" + rng.choice(["", "7", "9", "x", "4/room,{}", "-"])
    if choice == 3:
        return f"42{NS}," + rng.choice(invalid_json)
    if choice == 4:
        return f"42{NS}," + rng.choice(["[]", "{}", '"signal"', "5", "null", "true"])
    if choice == 5:
        return f"42{NS}," + rng.choice(["[5]", "[null]", "[[]]", '[{"a":1}]', "[1e400]"])
    if choice == 6:
        return f"42{NS}," + rng.choice(['["connect",{"session":1}]', '["disconnect"]'])
    if choice == 7:
        attachments = rng.choice(["51-", "61-", "5999999999-"])
        return f'4{attachments}{NS},["x",{{"_placeholder":true,"num":0}}]'
    if choice == 8:
        return f"43{NS},{rng.randint(0, 99)}" + rng.choice(['"x"', "{}", "5"])
    if choice == 9:
        return f'42{NS},{"1" * rng.choice([101, 150])}["chat"]'  # ids: 100 digits
    if choice == 10:
        return f"40{NS}," + rng.choice(["[1]", '"x"', "true", "[" * 500 + "]" * 500])
    if choice == 11:
        return f"42{NS},[" + "9" * rng.choice([4_301, 10_000]) + "]"
    return "4" + "2" * rng.randint(1, 3) + "x" * rng.randint(0, 5)


def harmless_frame(rng: random.Random, namespace: str) -> str:
    """Well-formed but pointless: events to namespaces the client is not in, connects that
    are refused, acks nobody waits for, pongs."""
    choice = rng.randrange(6)
    if choice == 0:
        return event_frame(rng, rng.choice(["", "/", "/nope", NS]))
    if choice == 1:
        auth = rng.choice(["", '{"session":1}', '{"session":"x"}', '{"recorder":"t","session":1}'])
        return f"40{_prefix(rng.choice([NS, '/nope', '']))}{auth}"
    if choice == 2:
        return f"43{namespace},{rng.randint(0, 10**9)}[]"
    if choice == 3:
        return rng.choice(["3", "6", "2", "5"])
    if choice == 4:
        return f"41{rng.choice([NS, '/nope'])},"
    return event_frame(rng, namespace)


# -- a raw client ------------------------------------------------------------------------


class Raw:
    """One WebSocket speaking Engine.IO by hand; a reader answers pings and notes the end."""

    def __init__(self, url: str, cookie: str | None = None) -> None:
        address = url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
        headers = [f"Cookie: {cookie}"] if cookie else None
        self.ws = websocket.create_connection(address, header=headers, timeout=30)
        opened = self.ws.recv()
        assert opened.startswith("0{"), opened
        self.frames: list[str] = []
        self.closed = threading.Event()
        self.connected = threading.Event()
        self.refused = threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        try:
            while True:
                frame = self.ws.recv()
                if not frame:
                    break
                if frame == "2":
                    self.ws.send("3")
                elif frame.startswith(f"40{NS},"):
                    self.connected.set()
                elif frame.startswith(f"44{NS},"):
                    self.refused.set()
                elif len(self.frames) < 1_000:
                    self.frames.append(frame[:200])
        except (websocket.WebSocketException, OSError):
            pass
        self.closed.set()

    def join(self, session_id: int) -> bool:
        self.connected.clear()
        self.send(f"40{NS}," + json.dumps({"session": session_id}))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not self.closed.is_set():
            if self.connected.wait(0.05):
                return True
        return False

    def send(self, frame: str | bytes) -> bool:
        if self.closed.is_set():
            return False
        try:
            if isinstance(frame, bytes):
                self.ws.send_binary(frame)
            else:
                self.ws.send(frame)
            return True
        except (websocket.WebSocketException, OSError):
            return False

    def close(self) -> None:
        with contextlib.suppress(websocket.WebSocketException, OSError):
            self.ws.close(timeout=1)
        self.reader.join(5)


def fuzz(url: str, rng: random.Random, frames: int, *, cookie=None, session_id=None) -> dict:
    """Send ``frames`` generated frames, opening a new connection whenever the server closed
    one; after a malformed frame, wait for the server to close (so it really handled each)."""
    sent = reconnects = hostile = 0
    began = time.monotonic()
    raw = None
    while sent < frames:
        if raw is None or raw.closed.is_set():
            if raw is not None:
                raw.close()
            raw = Raw(url, cookie)
            reconnects += 1
            if session_id is not None and not raw.join(session_id):
                continue  # closed while joining (over a limit): a new connection
        roll = rng.random()
        # Each malformed frame costs a new connection (and for the party an arrival).
        if roll < (0.015 if session_id else 0.06):
            frame, closes, bad = malformed_frame(rng), True, True
        elif roll < (0.0158 if session_id else 0.0603):
            frame, closes, bad = "4" + "x" * 1_000_001, True, True  # over Engine.IO's 1 MB
        elif session_id is not None:
            frame, closes, bad = event_frame(rng), False, True
        elif rng.random() < 0.8:
            # Generated arguments to the room (which refused the connection) or elsewhere.
            frame, closes, bad = event_frame(rng, rng.choice([NS, NS, "", "/nope"])), False, True
        else:
            frame, closes, bad = harmless_frame(rng, NS), False, False
        if raw.send(frame):
            sent += 1
            hostile += bad
            if closes:
                assert raw.closed.wait(30), f"still open after {frame[:80]!r}"
    raw.send(f"40{NS},")  # answered after everything before it: the server caught up
    raw.refused.wait(30)
    raw.close()
    seconds = time.monotonic() - began
    return {"sent": sent, "hostile": hostile, "connections": reconnects, "seconds": seconds}


def http_probes(url: str, rng: random.Random, count: int) -> list[int]:
    """Engine.IO's HTTP side: long-polling (not offered), bad versions, sessions, methods."""
    host = urllib.parse.urlsplit(url).netloc
    statuses = []
    for _ in range(count):
        query = rng.choice(
            [
                "EIO=4&transport=polling",
                "EIO=3&transport=websocket",
                "EIO=4&transport=websocket",
                "EIO=4&transport=polling&sid=nope",
                "EIO=4&transport=flash",
                "EIO=4&transport=polling&j=x",
                "",
                "EIO=4&transport=websocket&sid=" + "x" * 5_000,
            ]
        )
        method = rng.choice(["GET", "POST", "PUT", "OPTIONS", "DELETE"])
        body = rng.choice([b"", b"4x", b"\xff" * 100, b"1:4" * 1000])
        connection = http.client.HTTPConnection(host, timeout=30)
        connection.request(method, f"/socket.io/?{query}", body=body)
        statuses.append(connection.getresponse().status)
        connection.close()
    return statuses


def cookie_for(app, phone: str) -> str:
    from mediation.accounts.models import User
    from mediation.extensions import db

    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.phone == phone))
        value = app.session_interface.get_signing_serializer(app).dumps(
            {"_user_id": user.get_id(), "_fresh": True}
        )
        db.session.remove()
    return f"{app.config['SESSION_COOKIE_NAME']}={value}"


def test_fuzzed_frames_and_packets_leave_no_traceback_and_rooms_go_on(app, room, tmp_path):  # noqa: F811
    database = app.config["SQLALCHEMY_DATABASE_URI"]
    if not database.startswith("sqlite"):
        # Once is enough for the protocol's edge, and it takes its time; malformed events
        # reach both databases in tests/signaling/test_rooms.py.
        pytest.skip("the fuzz test runs on SQLite")
    instance = Path(app.instance_path)
    ids = room["ids"]
    # The party's limits are raised so that its events reach the handlers (the limits are
    # tested in test_room_limits.py); the packets per connection keep their default.
    generous = "100000 per minute"
    settings = {
        f"MEDIATION_ROOM_LIMIT_{kind}": generous
        for kind in ("SIGNAL", "CHAT", "MINUTES", "EVENTS", "CONNECT")
    }
    with serve(database, instance, settings=settings) as url:
        log_path = instance / f"server-{urllib.parse.urlsplit(url).port}.log"
        mediator = Participant(app, url, room, "mediator")
        a = Participant(app, url, room, "a")
        cookie = cookie_for(app, room["phones"]["b"])
        try:
            for who in ("a", "b"):
                mediator.emit("admit", {"participant": ids[who]})
                mediator.emit("confirm_identity", {"participant": ids[who]})
            a.emit("acknowledge_warning", {})
            version = a.layout(lambda layout: ids["mediator"] in layout["peers"])["version"]

            def relay(n: int) -> None:
                signal = {"to": ids["mediator"], "kind": "candidate", "version": version}
                a.emit("signal", signal | {"payload": {"n": n}})

            results: dict[str, dict] = {}
            clients = {
                "anonymous": {},
                "party": {"cookie": cookie, "session_id": room["session"]},
            }

            def run(name: str, options: dict) -> None:
                try:
                    rng = random.Random(f"{SEED}-{name}")
                    results[name] = fuzz(url, rng, FRAMES[name], **options)
                except Exception as failure:  # reported by the assertion below
                    results[name] = {"sent": 0, "failed": repr(failure)}

            threads = [
                threading.Thread(target=run, args=item, daemon=True) for item in clients.items()
            ]
            for thread in threads:
                thread.start()
            statuses = http_probes(url, random.Random(SEED), 100)
            relayed = 0
            while any(t.is_alive() for t in threads):  # the room goes on meanwhile
                relayed += 1
                relay(relayed)
                time.sleep(0.1)
            for thread in threads:
                thread.join()
            relay(relayed + 1)
            want = set(range(1, relayed + 2))

            def all_relayed(name: str, data: dict) -> bool:
                from_a = [d for n, d in mediator.events if n == "signal" and d["from"] == ids["a"]]
                return want <= {d["payload"]["n"] for d in from_a}

            mediator.wait_for(all_relayed, within=60)
            health = urllib.request.urlopen(url + "/healthz", timeout=30)  # noqa: S310
        finally:
            mediator.client.disconnect()
            a.client.disconnect()
    assert sum(r.get("hostile", 0) for r in results.values()) >= HOSTILE_FRAMES, results
    assert health.status == 200
    assert statuses and max(statuses) < 500, sorted(set(statuses))
    server_log = log_path.read_text()
    assert "Traceback" not in server_log, server_log[-5_000:]
    # One short line now and then, not one per packet (the log had 3 KB per packet).
    assert len(server_log) < 20_000, server_log[-5_000:]
