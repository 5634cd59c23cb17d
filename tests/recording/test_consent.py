"""The recorder's ICE consent checks (mediation/recording/consent.py): a browser that answers
late, on a weak cell, keeps its connection; one that no longer answers loses it, as before.

Two aioice connections on loopback, the recorder's (controlling, as the offerer) and the
browser's; the browser's answers to the recorder's checks are held back as a slow network
holds them. Times are scaled down together (a check every 0.1 s instead of 5, a STUN
retransmission after 0.1 s instead of 0.5, answers 0.25 s late instead of 0.8): the
proportions are those of the edge of a cell (tests/journeys/test_weak_network.py)."""

from __future__ import annotations

import asyncio

import aioice.ice
import pytest
from aioice import stun
from aiortc import rtcrtpreceiver

from mediation.recording import consent, recorder

LATE = 0.25  # seconds: the browser's answers arrive this late (more than a STUN timeout)
WATCHED = 2.5  # seconds: unpatched, consent expired after six checks, about 1.2 s


@pytest.fixture
def scaled(monkeypatch):
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda **_: ["127.0.0.1"])
    monkeypatch.setattr(aioice.ice, "CONSENT_INTERVAL", 0.1)
    monkeypatch.setattr(stun, "RETRY_RTO", 0.1)
    monkeypatch.setattr(aioice.ice.Connection, "query_consent", consent.query_consent)
    return monkeypatch


async def connected_pair(
    monkeypatch, answers: str
) -> tuple[aioice.ice.Connection, aioice.ice.Connection]:
    """The recorder's connection and the browser's, up; the browser's answers go out as
    ``answers`` says from then on ("late": LATE seconds late, "none": not at all)."""
    recorder = aioice.ice.Connection(ice_controlling=True, use_ipv6=False)
    browser = aioice.ice.Connection(ice_controlling=False, use_ipv6=False)
    await asyncio.gather(recorder.gather_candidates(), browser.gather_candidates())
    for one, other in ((recorder, browser), (browser, recorder)):
        for candidate in other.local_candidates:
            await one.add_remote_candidate(candidate)
        await one.add_remote_candidate(None)
        one.remote_username, one.remote_password = other.local_username, other.local_password
    await asyncio.gather(recorder.connect(), browser.connect())
    send = aioice.ice.StunProtocol.send_stun

    def answering(protocol, message, addr):
        if protocol.receiver is not browser or message.message_class != stun.Class.RESPONSE:
            send(protocol, message, addr)
        elif answers == "late":
            asyncio.get_running_loop().call_later(LATE, send, protocol, message, addr)

    monkeypatch.setattr(aioice.ice.StunProtocol, "send_stun", answering)
    return recorder, browser


def test_a_browser_answering_late_keeps_its_connection(scaled):
    async def run() -> bool:
        recorder, browser = await connected_pair(scaled, "late")
        try:
            await asyncio.sleep(WATCHED)
            alive = recorder._query_consent_task is not None
            # Media still goes from the browser to the recorder.
            await browser.send(b"frame")
            got = await asyncio.wait_for(recorder.recv(), 2)
            return alive and got == b"frame"
        finally:
            await recorder.close()
            await browser.close()

    assert asyncio.run(run())


def test_a_browser_no_longer_answering_loses_its_connection(scaled):
    async def run() -> None:
        recorder, browser = await connected_pair(scaled, "none")
        try:
            # Closed: consent expired (0.6 s scaled) after the check then under way (0.7 s).
            event = await asyncio.wait_for(recorder.get_event(), 10)
            assert isinstance(event, aioice.ice.ConnectionClosed)
        finally:
            await recorder.close()
            await browser.close()

    asyncio.run(run())


def test_the_recorder_process_installs_it(app, monkeypatch):
    """``mediation recorder`` (recorder.main) puts it in place before its first room: without
    it nothing in the room tests would fail (a connection closed by late answers renews)."""
    # What main() patches for the process, given back to the other tests after this one.
    for owner, name in (
        (aioice.ice.Connection, "query_consent"),
        (aioice.ice, "get_host_addresses"),
        (rtcrtpreceiver, "get_decoder"),
    ):
        monkeypatch.setattr(owner, name, getattr(owner, name))
    assert aioice.ice.Connection.query_consent is not consent.query_consent

    async def run() -> None:
        stop = asyncio.Event()
        stop.set()  # no tick: the worker starts and stops
        await recorder.main(app, "http://127.0.0.1:9", stop)

    asyncio.run(run())
    assert aioice.ice.Connection.query_consent is consent.query_consent
