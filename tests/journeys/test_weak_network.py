"""Walk: a party on a weak mobile network. Every media path goes through a TURN server
(coturn, MEDIATION_ICE_TRANSPORT_POLICY=relay); the party's page reaches it through a proxy
that loses and delays its datagrams and caps its bandwidth (tests/browser/weak_network.py),
the mediator's and the recorder's directly. The mediator (a 1366 px laptop) lets the party
(a 375 px touch phone) in, confirms who they are; the party acknowledges the art 17 warning
and agrees to recording (art 22); the mediator begins, and the session goes on:

- on a weak cell (5% loss, 150 ± 50 ms, 300 kbit/s each way) each sees and hears the other
  within a bounded time, the connections are not torn down or restarted by the page's
  watchdogs (static/js/peers.js), the room says 录制中 and keeps saying it, and the recorder
  neither renews a connection nor finds a gap;
- at the edge of the cell (18% loss, 400 ± 100 ms) pictures and sound still come, without
  a restart;
- in an outage of 7.5 s (a lift) each page says on the other's picture that the network is
  interrupted and being reconnected (网络中断，正在重新连接……), not "fair connection" under a
  frozen picture; when the network is back the call comes back by itself, and the recorder
  does not replace the party's connection meanwhile (it would prolong the gap), though the
  page asks it to (as Chromium does when its ICE turns "disconnected").

The screenshots of the party's phone are named weak-*."""

from __future__ import annotations

import threading
import time

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from mediation.extensions import db
from mediation.recording import gaps
from tests.browser.conftest import (
    enter,
    receiving,
    recorder,
    serve,
    session_in_progress,
    wait_until_ready,
)
from tests.browser.weak_network import (
    CLEAN,
    HARSH,
    MOBILE,
    OUTAGE,
    ImpairmentProxy,
    page_hook,
    turn_server,
)

from .room_steps import (
    acknowledge_warning,
    admit,
    agree_to_recording,
    begin_session,
    confirm_identity,
)

# The fixture of tests/browser: a session that began five minutes ago, nobody in it yet.
session_in_progress = session_in_progress

SEE_WITHIN = 30.0  # seconds: the first picture, and the first 录制中, over the weak network
MOBILE_SECONDS = 20.0
HARSH_SECONDS = 12.0
OUTAGE_SECONDS = 7.5  # under the recorder's RECORDER_RESTART_AFTER (10 s)
LABEL_GRACE = 0.5  # seconds after the outage: the label may come then (see below)
BACK_WITHIN = 20.0  # seconds after the outage: pictures and sound both ways again
INTERRUPTED = "网络中断，正在重新连接……"
GOOD = "网络良好"
QUALITIES = {GOOD, "网络一般", "网络较差", "仅语音"}
# Loss is weighed over the last looks (every 3 s, halving what came before): 18 % at the
# cell's edge is under 3 % after three clean looks.
GOOD_WITHIN = 20.0

# Run in a page: every badge its header shows, in order (window.badgesShown), and every
# quality its tile of ``peer`` says (window.qualitiesShown), each with the time.
NOTE_CHANGES = """(peer) => {
  const soon = document.getElementById('recording-soon');
  const on = document.getElementById('recording');
  const badges = window.badgesShown = [];
  const qualities = window.qualitiesShown = [];
  const note = () => {
    const badge = !on.hidden ? 'recording' : !soon.hidden ? 'recording-soon' : null;
    if (!badges.length || badges[badges.length - 1][0] !== badge) badges.push([badge, Date.now()]);
    const tile = document.querySelector(`#tile-${peer} .quality`);
    const quality = tile ? tile.textContent : null;
    if (!qualities.length || qualities[qualities.length - 1][0] !== quality) {
      qualities.push([quality, Date.now()]);
    }
  };
  new MutationObserver(note).observe(document.getElementById('room'),
    {attributes: true, attributeFilter: ['hidden'], childList: true, characterData: true,
     subtree: true});
  note();
}"""

# The caption of ``peer``'s tile once it says the connection is interrupted (read with the
# class: a caption drawn again a moment later must not be read instead).
INTERRUPTED_LABEL = """(peer) => {
  const tile = document.getElementById(`tile-${peer}`);
  if (!tile || !tile.classList.contains('interrupted')) return null;
  return tile.querySelector('.quality').textContent;
}"""

# Whether the picture and the sound of ``peer`` advance on this page within ``ms``.
FLOWING = """async ([peer, ms]) => {
  const first = await window.roomStats();
  const until = Date.now() + ms;
  while (Date.now() < until) {
    await new Promise(r => setTimeout(r, 250));
    const now = await window.roomStats();
    if (first[peer] && now[peer] && now[peer].framesDecoded > first[peer].framesDecoded
        && now[peer].audioBytes > first[peer].audioBytes) return true;
  }
  return false;
}"""

# What the page on the weak network does when its ICE to the recorder turns "disconnected"
# (peers.js restart: the answerer asks the offerer); Chromium does it in some outages only.
ASK_THE_RECORDER_FOR_A_RESTART = """() => Room.socket.emit("signal", {
  to: Room.peers.RECORDER, kind: "restart", payload: null, version: Room.layout.version,
})"""


@pytest.fixture
def weak_room(app, tmp_path):
    """coturn, the proxy in front of it (clean until the test says otherwise), the server
    and a recorder, both giving the browsers that TURN server only."""
    database = app.config["SQLALCHEMY_DATABASE_URI"]
    with (
        turn_server(tmp_path) as turn,
        ImpairmentProxy(("127.0.0.1", turn.port), CLEAN, lifetime=300) as proxy,
        serve(database, tmp_path, settings=turn.settings()) as url,
        recorder(database, tmp_path, url, settings=turn.settings()) as worker,
    ):
        wait_until_ready(worker)  # looking for rooms before anyone enters one
        yield {"turn": turn, "proxy": proxy, "url": url, "recorder": worker}


def flowing(page, peer: int, within: float) -> bool:
    return page.evaluate(FLOWING, [peer, int(within * 1000)])


def net(page) -> dict:
    """What the page's media connections did (tests/browser/weak_network.py, page_hook)."""
    return page.evaluate("window.netLog")


def renewals(worker) -> int:
    return worker.log_path.read_text().count("a new connection for")


def gaps_of(app, session_id: int, participant_id: int) -> list:
    with app.app_context():
        found = [g for g in gaps.of_session(session_id) if g.participant_id == participant_id]
        db.session.remove()
    return found


def test_a_party_on_a_weak_mobile_network_stays_in_the_room(
    app, weak_room, browser_factory, session_in_progress, snap
):
    s = session_in_progress
    ids, turn, proxy = s["ids"], weak_room["turn"], weak_room["proxy"]
    worker = weak_room["recorder"]
    party_id, mediator_id = ids["a"], ids["mediator"]
    proxy.profile = MOBILE  # from before the party's page opens
    mediator = enter(
        browser_factory,
        weak_room["url"],
        s["phones"]["mediator"],
        s["session"],
        context_options={"viewport": {"width": 1366, "height": 768}},
        init_script=page_hook(turn.port, None),
    )
    party = enter(
        browser_factory,
        weak_room["url"],
        s["phones"]["a"],
        s["session"],
        context_options={"viewport": {"width": 375, "height": 740}, "has_touch": True},
        init_script=page_hook(turn.port, proxy.port),
    )

    # Let in, identified, warned (art 17), agreed to recording (art 22); the session begins.
    admit(mediator, party_id)
    confirm_identity(mediator, party_id)
    acknowledge_warning(party)
    agree_to_recording(party)
    party.evaluate(NOTE_CHANGES, mediator_id)
    mediator.evaluate(NOTE_CHANGES, party_id)
    begin_session(mediator)
    began = time.monotonic()
    receiving(mediator, [party_id], int(SEE_WITHIN * 1000))
    receiving(party, [mediator_id], int(SEE_WITHIN * 1000))
    seen_after = time.monotonic() - began
    party.wait_for_selector("#recording:not([hidden])", timeout=SEE_WITHIN * 1000)
    recording_after = time.monotonic() - began
    print(f"seen after {seen_after:.1f} s, 录制中 after {recording_after:.1f} s; {proxy.counts}")

    # -- a weak cell: nothing is torn down, restarted or renewed; the room keeps saying 录制中.
    before = {"mediator": net(mediator), "party": net(party)}
    deadline = time.monotonic() + MOBILE_SECONDS
    while time.monotonic() < deadline:
        assert flowing(mediator, party_id, 5), mediator.evaluate("window.roomStats()")
        assert flowing(party, mediator_id, 5), party.evaluate("window.roomStats()")
    snap(party, "weak-01-mobile")
    for who, page in (("mediator", mediator), ("party", party)):
        now = net(page)
        assert (now["made"], now["iceRestarts"], now["restartAsked"]) == (
            before[who]["made"],
            0,
            0,
        ), (who, now)
        broken = [x for x in now["states"] if x[1] in ("disconnected", "failed")]
        assert not broken, (who, now["states"])
        badges = [b for b, _ in page.evaluate("window.badgesShown")]
        assert badges[-1] == "recording" and badges.count("recording") == 1, (who, badges)
        qualities = {q for q, _ in page.evaluate("window.qualitiesShown")} - {None, ""}
        assert qualities <= QUALITIES, (who, qualities)
    assert renewals(worker) == 0
    assert gaps_of(app, s["session"], party_id) == []
    # The party's media crossed the proxy both ways (counted here, not as soon as the
    # pictures came: on an idle machine that is 1.5 s, a hundred-odd datagrams).
    assert proxy.counts.up.sent > 200 and proxy.counts.down.sent > 200, proxy.counts
    print(f"after the weak cell: {proxy.counts}")

    # -- the edge of the cell: still pictures and sound, and no restart.
    proxy.profile = HARSH
    deadline = time.monotonic() + HARSH_SECONDS
    while time.monotonic() < deadline:
        assert flowing(mediator, party_id, 10), mediator.evaluate("window.roomStats()")
        assert flowing(party, mediator_id, 10), party.evaluate("window.roomStats()")
    snap(party, "weak-02-harsh")
    for who, page in (("mediator", mediator), ("party", party)):
        now = net(page)
        assert now["made"] == before[who]["made"] and now["iceRestarts"] <= 1, (who, now)
    harsh = {who: net(page) for who, page in (("mediator", mediator), ("party", party))}
    print(f"after the edge of the cell: {proxy.counts}; {harsh}")

    # -- an outage (a lift): each page says so on the other's picture, and the page asks the
    # recorder for a new connection, as Chromium does when its ICE turns "disconnected".
    proxy.profile = OUTAGE
    outage_began, down = time.time(), time.monotonic()
    # The network comes back OUTAGE_SECONDS later whatever the test is doing then: a wait or
    # a screenshot ending late would make the outage longer, and the recorder renews a
    # stream stopped for 10 s.
    back = threading.Timer(OUTAGE_SECONDS, setattr, (proxy, "profile", MOBILE))
    back.start()
    try:
        party.wait_for_timeout(4000)
        party.evaluate(ASK_THE_RECORDER_FOR_A_RESTART)
        # The party's phone says so: the label comes 3-6 s after the last packet (the page
        # looks every 3 s), and from the edge of the cell the last packets come up to 1.5 s
        # into the outage (the link's queue and delay): the label may come only as the
        # network comes back, before anything sent then has crossed the link (1 run in 20).
        left = OUTAGE_SECONDS + LABEL_GRACE - (time.monotonic() - down)
        shown = party.wait_for_function(INTERRUPTED_LABEL, arg=mediator_id, timeout=left * 1000)
        assert shown.json_value() == INTERRUPTED
        snap(party, "weak-03-outage")
    finally:
        back.join()
    outage_ended = down + OUTAGE_SECONDS
    for who, page in (("mediator", mediator), ("party", party)):
        said = page.evaluate("window.qualitiesShown")
        during = [q for q, at in said if at / 1000 >= outage_began]
        assert INTERRUPTED in during, (who, said, outage_began)

    # The network back: pictures and sound both ways again, by themselves, and the label
    # gone; the room says 录制中 again, of the same connection (not renewed), after one gap
    # about as long as the outage.
    assert flowing(mediator, party_id, BACK_WITHIN), mediator.evaluate("window.roomStats()")
    assert flowing(party, mediator_id, BACK_WITHIN), party.evaluate("window.roomStats()")
    back_after = time.monotonic() - outage_ended
    party.wait_for_selector(f"#tile-{mediator_id}:not(.interrupted)", timeout=10_000)
    mediator.wait_for_selector(f"#tile-{party_id}:not(.interrupted)", timeout=10_000)
    party.wait_for_selector("#recording:not([hidden])", timeout=BACK_WITHIN * 1000)
    recorded_after = time.monotonic() - outage_ended
    snap(party, "weak-04-back")
    assert renewals(worker) == 0, worker.log_path.read_text()[-3000:]
    found = gaps_of(app, s["session"], party_id)
    assert [g.reason for g in found] == ["stalled"], found
    assert found[0].seconds is not None and found[0].seconds < OUTAGE_SECONDS + 3, found
    for who, page in (("mediator", mediator), ("party", party)):
        now = net(page)
        # No connection made anew; an ICE restart, or a request for one, per peer every 5 s
        # (peers.js, RESTART_EVERY) at most, not one for each thing that noticed the outage.
        assert now["made"] == before[who]["made"], (who, now)
        assert now["iceRestarts"] <= harsh[who]["iceRestarts"] + 2, (who, now)
        for peer, count in now["asked"].items():
            forced = 1 if peer == "0" else 0  # the request made above
            assert count - harsh[who]["asked"].get(peer, 0) <= 2 + forced, (who, now)
        badges = [b for b, _ in page.evaluate("window.badgesShown")]
        assert badges.count("recording-soon") <= 2, (who, badges)  # once at the start
    print(
        f"outage {OUTAGE_SECONDS} s: both ways again after {back_after:.1f} s, 录制中 after "
        f"{recorded_after:.1f} s, gap {found[0].seconds} s; "
        f"mediator {net(mediator)}; party {net(party)}; {proxy.counts}"
    )

    # -- out into good coverage: the label follows the network now, not the whole call's
    # loss (which the edge of the cell kept above 3 % for minutes: 网络较差 stayed on).
    proxy.profile = CLEAN
    good = party.locator(f"#tile-{mediator_id} .quality", has_text=GOOD)
    try:
        good.wait_for(timeout=GOOD_WITHIN * 1000)
    except PlaywrightTimeout:
        said = party.evaluate("window.qualitiesShown")[-6:]
        raise AssertionError((said, party.evaluate("window.roomStats()"))) from None
    # Read from the pair in use (after the outage's ICE restart, not the one before it).
    assert party.evaluate("window.roomStats()")[str(mediator_id)]["rtt"] is not None
    snap(party, "weak-05-good")
