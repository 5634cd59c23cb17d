"""SQLite never stops the server (issue #19 item 1, mediation/core/sqlite.py).

Another process holds SQLite's write lock for 10 s: the gevent server goes on answering
``/healthz`` and relaying WebRTC signals, the chat line written meanwhile waits and is kept
once the lock is released, and a write that cannot wait long enough is answered "busy,
please retry" in the user's language. No timed assertion: a stall is 10 s against the
fraction of a second an answer takes, and "no answer over 2 s" tells them apart on any
machine. The p99 against the 200 ms goal is measured by bench/sqlite_stall.py.
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import select

from mediation.extensions import db
from mediation.rooms.models import ChatMessage
from tests.browser.conftest import serve
from tests.conftest import csrf_token, login
from tests.factories import PASSWORD, make_user
from tests.signaling import conftest as room_fixtures
from tests.signaling.test_processes import Participant

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

# The room tests' fixtures: a session in progress, and Socket.IO clients in it.
room, connect = room_fixtures.room, room_fixtures.connect

HOLD_SECONDS = 10
STALL = 2.0  # seconds: far above any answer, far below the lock

HOLDER = """
import sqlite3, sys, time
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
connection.execute("COMMIT")
print("released", flush=True)
"""


@contextmanager
def write_lock(database: str, seconds: float) -> Iterator[subprocess.Popen]:
    """Another process (the sqlite3 module, as any tool would) holding the write lock for
    ``seconds``; yields once the lock is held."""
    path = database.removeprefix("sqlite:///")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, path, str(seconds)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        yield holder
    finally:
        holder.wait(timeout=seconds + 30)


def _admitted(app, url: str, room: dict) -> tuple[Participant, Participant]:
    """The mediator and applicant A in one layout, so that signals are relayed."""
    ids = room["ids"]
    mediator = Participant(app, url, room, "mediator")
    a = Participant(app, url, room, "a")
    mediator.emit("admit", {"participant": ids["a"]})
    mediator.emit("confirm_identity", {"participant": ids["a"]})
    a.emit("acknowledge_warning", {})
    a.layout(lambda layout: ids["mediator"] in layout["peers"])
    return mediator, a


def test_a_write_lock_held_for_10_s_stalls_no_request(app, room):
    database = app.config["SQLALCHEMY_DATABASE_URI"]
    instance = Path(app.instance_path)
    settings = {"MEDIATION_SQLITE_BUSY_SECONDS": str(HOLD_SECONDS * 3)}
    with serve(database, instance, settings=settings) as url:
        mediator, a = _admitted(app, url, room)
        version = a.layout()["version"]
        health: list[float] = []
        relays: list[float] = []
        try:
            with write_lock(database, HOLD_SECONDS) as holder:
                # Said while the lock is held: its write waits, the server does not. (Said
                # by the mediator: a connection's own events run in order, so its later
                # events would wait behind its write; everyone else's do not.)
                mediator.emit("chat", {"text": "锁住时说的话"})
                n = 0
                while holder.poll() is None:
                    started = time.monotonic()
                    with urllib.request.urlopen(url + "/healthz", timeout=30) as answer:  # noqa: S310 - http://127.0.0.1
                        assert answer.status == 200
                    health.append(time.monotonic() - started)
                    n += 1
                    started = time.monotonic()
                    signal = {"to": room["ids"]["mediator"], "kind": "candidate"}
                    a.emit("signal", signal | {"payload": {"n": n}, "version": version})
                    mediator.wait_for(
                        lambda name, data, n=n: name == "signal" and data["payload"] == {"n": n},
                        within=30,
                    )
                    relays.append(time.monotonic() - started)
                    time.sleep(0.05)
            said = a.wait_for(lambda name, data: name == "chat", within=30)
        finally:
            mediator.client.disconnect()
            a.client.disconnect()
    assert len(health) >= 5 and len(relays) >= 5
    assert max(health) < STALL, health
    assert max(relays) < STALL, relays
    # Nothing lost: the line waited for the lock and was kept once it came free.
    assert said["text"] == "锁住时说的话"
    with app.app_context():
        kept = db.session.scalars(select(ChatMessage.text)).all()
        db.session.remove()
    assert kept == ["锁住时说的话"]


@pytest.fixture
def impatient(app, monkeypatch):
    """The app's SQLite connections wait 0.2 s for a lock instead of 15 s."""
    factory = app.config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"]["factory"]
    monkeypatch.setattr(factory, "busy_seconds", 0.2)


def test_a_chat_line_that_cannot_wait_is_answered_busy_in_chinese(app, connect, impatient):
    mediator = connect("mediator")
    mediator.get_received("/room")
    with write_lock(app.config["SQLALCHEMY_DATABASE_URI"], 3):
        mediator.emit("chat", {"text": "太久了"}, namespace="/room")
        errors = [e for e in mediator.get_received("/room") if e["name"] == "error"]
    assert errors[0]["args"][0] == {"code": "busy", "message": "平台正忙，请稍后重试。"}
    mediator.emit("chat", {"text": "再说一次"}, namespace="/room")
    with app.app_context():
        assert db.session.scalars(select(ChatMessage.text)).all() == ["再说一次"]
        db.session.remove()


def test_a_page_that_cannot_write_in_time_asks_to_retry(app, client, impatient):
    with app.app_context():
        user = make_user()
        db.session.commit()
        phone = user.phone
        db.session.remove()
    login(client, phone, PASSWORD)
    token = csrf_token(client, "/account")
    with write_lock(app.config["SQLALCHEMY_DATABASE_URI"], 3):
        # Choosing a language is kept in the account: a write.
        answer = client.post("/language", data={"csrf_token": token, "locale": "zh_Hans_CN"})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 503, page[:500]
    assert answer.headers["Retry-After"] == "5"
    assert "平台正忙，请稍后重试。" in page
    assert "Traceback" not in page
    answer = client.post("/language", data={"csrf_token": token, "locale": "zh_Hans_CN"})
    assert answer.status_code == 302
