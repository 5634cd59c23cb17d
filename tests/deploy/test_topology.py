"""The production topology (deploy/, docs/deployment.md) on this machine: nginx with TLS in
front of two web processes, the worker, a recorder, private PostgreSQL and Redis, coturn,
and the CA's keys in a SoftHSM token; every process started from the files in deploy/.

Its files (recordings, PDFs) in the S3 server's bucket (moto's standalone server, the S3
API server installable here: MEDIATION_STORAGE_URL=s3://... as docs/storage.md describes).

With MEDIATION_ICE_TRANSPORT_POLICY=relay, the mediator and both parties go from the lobby
to a recorded session with every media path through coturn: each browser's selected
candidate pair is a relayed one that receives bytes, coturn allocated relays for each of
them and for the recorder, and the recorder's files (in the bucket) hold everyone's sound
and pictures. Then the mediator drafts the agreement, the parties sign it from their
texts' links, the mediator signs and the institution seals, all through nginx; the signed
PDF is in the bucket and every signature on it verifies (`mediation agreement verify`).

Skipped without the Debian packages it names (failing under CI=true)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import time
from contextlib import ExitStack

import pytest

from mediation import create_app
from mediation.cases.models import Case
from mediation.core import storage as storages
from mediation.extensions import db
from mediation.recording import operations as recording
from mediation.rooms.layout import RECORDER
from tests.browser.conftest import WAIT_MS, receiving, three_in_the_room
from tests.browser.test_recording import finished_files
from tests.conftest import require_service
from tests.deploy import topology
from tests.journeys import signing_steps
from tests.journeys.signing_steps import (
    LAPTOP,
    PHONE,
    draft_and_open_signing,
    enter_from_text,
    link_in,
    log_in,
    make_world,
    sign_here,
)
from tests.recording.media import probe
from tests.signaling.conftest import open_session

# Every RTCPeerConnection the room page makes, with the configuration it was given.
TRACK_CONNECTIONS = """
(() => {
  const Original = window.RTCPeerConnection;
  window.peerConnections = [];
  window.RTCPeerConnection = function (config) {
    const pc = new Original(config);
    window.peerConnections.push({ pc: pc, config: config || {} });
    return pc;
  };
  window.RTCPeerConnection.prototype = Original.prototype;
})();
"""

# For each open connection: its configured policy and the selected candidate pair's local
# and remote candidate types and the bytes received on it.
SELECTED_PAIRS = """async () => {
  const result = [];
  for (const { pc, config } of window.peerConnections) {
    if (pc.connectionState !== "connected") continue;
    const report = await pc.getStats();
    let pair = null;
    report.forEach(r => {
      if (r.type === "transport" && r.selectedCandidatePairId) {
        pair = report.get(r.selectedCandidatePairId);
      }
    });
    if (!pair) continue;
    const local = report.get(pair.localCandidateId), remote = report.get(pair.remoteCandidateId);
    result.push({ policy: config.iceTransportPolicy, local: local.candidateType,
                  localProtocol: local.relayProtocol, remote: remote.candidateType,
                  received: pair.bytesReceived, sent: pair.bytesSent });
  }
  return result;
}"""


UPLOAD_AGAIN_WITHIN = 90  # seconds: the recorder's retry of a failed upload (60 s)


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    missing = topology.missing_packages()
    if missing:
        require_service(
            f"the Debian packages {', '.join(missing)}", FileNotFoundError(" ".join(missing))
        )
    with ExitStack() as stack:
        top = topology.start(stack, tmp_path_factory.mktemp("deploy"), s3=True)
        yield top


@pytest.fixture(scope="module")
def deployed_app(deployed):
    """This test's view of the installation's database (to make a case, find files)."""
    return create_app(
        {
            "ENV_NAME": "testing",
            "SQLALCHEMY_DATABASE_URI": deployed.database_url,
            "INSTANCE_PATH": str(deployed.tmp / "test-instance"),
            "STORAGE_URL": f"s3://{deployed.s3['bucket']}/{deployed.s3['prefix']}",
            "S3_ENDPOINT_URL": deployed.s3["endpoint"],
            "S3_ACCESS_KEY_ID": topology.S3_KEY_ID,
            "S3_SECRET_ACCESS_KEY": topology.S3_SECRET,
            "S3_REGION": "us-east-1",
        }
    )


class _TrustingBrowser:
    """A browser whose pages accept the test's self-signed certificate and note their peer
    connections (for tests.browser.conftest's helpers, which open contexts themselves)."""

    def __init__(self, browser) -> None:
        self.browser = browser

    def new_context(self, **options):
        context = self.browser.new_context(ignore_https_errors=True, **options)
        context.add_init_script(TRACK_CONNECTIONS)
        return context


def nothing(*args, **kwargs) -> None:
    """The signing steps' screenshots: not taken here (the walks in tests/journeys do)."""


def texts_received(top):
    """signing_steps.last_text_to as the phones get them here: the worker sends the outbox
    to the SMS provider (the topology's sink) and then blanks the codes in the outbox. The
    newest text not read yet, waited for (the worker sends a moment later)."""
    read = set()

    def last_text_to(app, phone: str, containing: str = "") -> str:
        deadline = time.monotonic() + WAIT_MS / 1000
        while True:
            found = [
                m["text"]
                for m in map(json.loads, list(top.sms))
                if m["phone"] == phone and containing in m["text"]
            ]
            fresh = [text for text in found if text not in read]
            if fresh or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert found, f"no text to {phone} containing {containing!r}: {top.sms}"
        text = (fresh or found)[-1]
        read.add(text)
        return text

    return last_text_to


def test_a_relay_only_session_goes_through_coturn_from_the_lobby_to_a_signed_agreement(
    deployed, deployed_app, browser_factory, monkeypatch
):
    top, app = deployed, deployed_app
    world = make_world(app)
    with app.app_context():
        case = db.session.get(Case, world.case_id)
        session = open_session(case)
        db.session.commit()
        applicant, respondent = case.party_users()
        ids = {p.user_id: p.id for p in session.participants}
        s = {
            "session": session.id,
            "phones": {
                "mediator": case.mediator.phone,
                "a": applicant.phone,
                "b": respondent.phone,
            },
            "ids": {
                "mediator": ids[case.mediator_id],
                "a": ids[applicant.id],
                "b": ids[respondent.id],
            },
        }
        db.session.remove()

    def browsers(*args):
        return _TrustingBrowser(browser_factory("--ignore-certificate-errors", *args))

    # Lobby, admission, identity, the warning, consent to recording: through nginx and TLS.
    mediator, a, b = three_in_the_room(browsers, top.url, s)
    pages = {"mediator": mediator, "a": a, "b": b}
    for who, page in pages.items():
        others = [s["ids"][o] for o in pages if o != who]
        receiving(page, others)
    mediator.click("#start", timeout=WAIT_MS)
    for page in pages.values():
        page.wait_for_selector("#recording:not([hidden])", timeout=WAIT_MS)
    mediator.wait_for_timeout(4000)

    # Every connection of every page: relay-only and relayed. Each page connects to two
    # people (whose pictures it decodes, above) and to the recorder, which only receives.
    for who, page in pages.items():
        deadline = time.monotonic() + WAIT_MS / 1000
        while len(pairs := page.evaluate(SELECTED_PAIRS)) < 3:
            assert time.monotonic() < deadline, (who, pairs)
            page.wait_for_timeout(300)
        assert len(pairs) == 3, (who, pairs)
        for pair in pairs:
            assert pair["policy"] == "relay", (who, pair)
            assert pair["local"] == "relay" and pair["sent"] > 0, (who, pair)
        assert sum(pair["received"] > 0 for pair in pairs) >= 2, (who, pairs)

    mediator.on("dialog", lambda dialog: dialog.accept())
    mediator.click("#end")
    files = finished_files(app, s["session"], 3, top.storage, within=30)
    assert sorted(f.participant_id for f, _ in files) == sorted(s["ids"].values()), top.describe()
    for file, _ in files:
        # In the bucket, not in a folder: fetched (its hash checked on the way) to look in.
        # An upload that failed (the S3 server slow beside three browsers on a busy machine)
        # is kept in the recorder's spool and sent again about once a minute
        # (recording.operations.upload_spooled): waited for that long, then it must be there.
        deadline = time.monotonic() + UPLOAD_AGAIN_WITHIN
        with app.app_context():
            while not storages.storage().exists(file.path):
                assert time.monotonic() < deadline, (file.path, top.describe())
                time.sleep(1)
        with app.app_context(), storages.storage().as_local_file(file.path, file.sha256) as path:
            found = probe(path)
            assert file.sha256 == recording.sha256_of(path)
        assert found["codecs"] == ["opus", "vp8"], found
        assert found["duration"] >= 3 and found["video_frames"] > 10, found

    # coturn's own account, as each allocation ends: it relayed media to every participant's
    # allocations and to the recorder's.
    for page in pages.values():
        page.context.close()
    deadline = time.monotonic() + 15
    everyone = [*s["ids"].values(), RECORDER]
    while not all(topology.relayed_for(top, i) > 10_000 for i in everyone):
        assert time.monotonic() < deadline, (
            {i: topology.relayed_for(top, i) for i in everyone},
            topology.relay_log(top)[-5000:],
        )
        time.sleep(0.3)
    for name in ("coturn", "nginx", "redis", "worker", "recorder"):
        assert top.processes[name].poll() is None, top.describe()

    monkeypatch.setattr(signing_steps, "last_text_to", texts_received(top))
    sign_the_agreement(top, app, world, browsers)


def sign_the_agreement(top, app, world, browsers) -> None:
    """After the session: the mediator drafts and asks everyone to sign; the parties sign on
    their phones from the links in their texts, the mediator on the laptop, the institution's
    administrator seals (People's Mediation Law art 29: signed or sealed by the parties,
    signed by the mediator, sealed by the committee). The texts are those the worker sent
    to the SMS provider (texts_received)."""
    last_text_to = signing_steps.last_text_to

    def on(screen: dict):
        return browsers().new_context(device_scale_factor=2, **screen).new_page()

    mediator = on(LAPTOP)
    draft_and_open_signing(mediator, nothing, nothing, top.url, world, "topology")
    for who in (world.applicant, world.respondent):
        phone = on(PHONE)
        enter_from_text(phone, app, nothing, top.url, who["phone"], "")
        sign_here(phone, app, nothing, who["phone"], "", touch=True)
        phone.context.close()
    mediator.goto(top.url + link_in(last_text_to(app, world.mediator["phone"], "/a/")))
    mediator.wait_for_url(re.compile(r"/agreement/sign$"), timeout=WAIT_MS)
    sign_here(mediator, app, nothing, world.mediator["phone"], "", touch=False)
    admin = on(LAPTOP)
    admin.goto(top.url + link_in(last_text_to(app, world.admin["phone"], "/a/")))
    log_in(admin, nothing, world.admin["phone"], "")
    admin.wait_for_url(re.compile(r"/agreement/sign$"), timeout=WAIT_MS)
    sign_here(admin, app, nothing, world.admin["phone"], "", touch=None)
    assert "各方均已签署" in admin.inner_text(".flash-success")
    href = admin.get_by_role("button", name="下载文本（PDF）").first.get_attribute("href")
    answer = admin.request.get(top.url + href)
    assert answer.ok, answer.status
    pdf = answer.body()

    # The signed file is an object in the bucket (and nothing went to a local folder).
    client = topology.s3_client(top)
    digest = hashlib.sha256(pdf).hexdigest()
    keys = [
        item["Key"]
        for page in client.get_paginator("list_objects_v2").paginate(
            Bucket=top.s3["bucket"], Prefix=top.s3["prefix"] + "/"
        )
        for item in page.get("Contents", [])
    ]
    stored = [
        key
        for key in keys
        if hashlib.sha256(
            client.get_object(Bucket=top.s3["bucket"], Key=key)["Body"].read()
        ).hexdigest()
        == digest
    ]
    assert stored, keys
    assert not top.storage.exists() or not any(top.storage.rglob("*.pdf"))

    # Every signature verifies against the platform's root.
    signed = top.tmp / "signed-agreement.pdf"
    signed.write_bytes(pdf)
    check = subprocess.run(
        [topology.VENV_BIN / "mediation", "agreement", "verify", signed,
         "--root", top.tmp / "pki" / "root.crt.pem"],
        capture_output=True, text=True, cwd=top.tmp,
        env={k: v for k, v in os.environ.items() if not k.startswith("MEDIATION_")},
    )  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr
    assert "VALID: 4 signature(s)" in check.stdout, check.stdout
    admin.context.close()
    mediator.context.close()


def test_nginx_serves_static_files_itself_and_refuses_an_upload_over_the_limit(deployed):
    import http.client
    import ssl

    context = ssl._create_unverified_context()  # noqa: S323 - the test's self-signed cert
    port = int(deployed.url.rsplit(":", 1)[1])
    connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=30)
    connection.request("GET", "/static/js/room.js")
    answer = connection.getresponse()
    assert answer.status == 200 and b"RTCPeerConnection" in answer.read()
    # nginx's own header (common.conf): the file did not come from a web process.
    assert "public" in answer.getheader("Cache-Control")
    # The headers alone: nginx answers 413 before any byte of the body comes.
    connection.putrequest("POST", "/cases/new")
    connection.putheader("Content-Length", str(101 * 2**20))
    connection.putheader("Content-Type", "application/octet-stream")
    connection.endheaders()
    assert connection.getresponse().status == 413
    connection.close()
