"""The production topology (deploy/, docs/deployment.md) on this machine: nginx with TLS in
front of two web processes, the worker, a recorder, private PostgreSQL and Redis, coturn,
and the CA's keys in a SoftHSM token; every process started from the files in deploy/.

With MEDIATION_ICE_TRANSPORT_POLICY=relay, the mediator and both parties go from the lobby
to a recorded session with every media path through coturn: each browser's selected
candidate pair is a relayed one that receives bytes, coturn allocated relays for each of
them and for the recorder, and the recorder's files hold everyone's sound and pictures.

Skipped without the Debian packages it names (failing under CI=true)."""

from __future__ import annotations

import time
from contextlib import ExitStack

import pytest

from mediation import create_app
from mediation.extensions import db
from mediation.recording import operations as recording
from mediation.rooms.layout import RECORDER
from tests.browser.conftest import WAIT_MS, receiving, three_in_the_room
from tests.browser.test_recording import finished_files
from tests.conftest import require_service
from tests.deploy import topology
from tests.factories import make_mediating_case
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


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    missing = topology.missing_packages()
    if missing:
        require_service(
            f"the Debian packages {', '.join(missing)}", FileNotFoundError(" ".join(missing))
        )
    with ExitStack() as stack:
        top = topology.start(stack, tmp_path_factory.mktemp("deploy"))
        yield top


@pytest.fixture(scope="module")
def deployed_app(deployed):
    """This test's view of the installation's database (to make a case, find files)."""
    return create_app(
        {
            "ENV_NAME": "testing",
            "SQLALCHEMY_DATABASE_URI": deployed.database_url,
            "INSTANCE_PATH": str(deployed.tmp / "test-instance"),
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


def test_a_relay_only_session_goes_through_coturn_from_the_lobby_to_its_recording(
    deployed, deployed_app, browser_factory
):
    top, app = deployed, deployed_app
    with app.app_context():
        case = make_mediating_case()
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
    for file, path in files:
        found = probe(path)
        assert found["codecs"] == ["opus", "vp8"], found
        assert found["duration"] >= 3 and found["video_frames"] > 10, found
        assert file.sha256 == recording.sha256_of(path)

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
