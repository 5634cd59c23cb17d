"""Faults a production installation meets (issue 19, item 5), on the topology of deploy/
(tests/deploy/topology.py: nginx, two web processes, worker, recorder, coturn, and
PostgreSQL and Redis instances of its own on free ports, never the machine's), each with
what it must not lose, counted before and after: PostgreSQL stopped during a three-person
session (a page is a 503 "try again", a room event the "busy" error; sent again, kept
once), Redis restarted (relays and chat go on); PostgreSQL restarted between a party's
signature and its commit (nothing written, the code still good, signed once when sent
again); ``kill -9`` of the web process holding a session (python-socketio clients through
nginx, with room.js's resume token, are welcomed back on the other process and relay again
within 5 s).

These tests need the Debian packages of the deployment and are skipped without them
(failing under CI=true), as tests/deploy/test_topology.py is. The faults of one process
alone: test_sms_gateway_down.py, test_recorder_disk_full.py.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from contextlib import ExitStack

import pytest
import socketio
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from mediation import create_app
from mediation.accounts.models import User
from mediation.cases.models import Case
from mediation.extensions import db
from mediation.journal import operations as journal
from mediation.journal.models import JournalEntry
from mediation.rooms.models import ChatMessage
from tests.conftest import require_service
from tests.deploy import topology
from tests.factories import make_mediating_case
from tests.signaling.conftest import open_session


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
