"""The room's media when things are not ideal: a dropped network, a party without a camera,
the mediator showing their screen. Media is checked through getStats, as in test_room."""

from __future__ import annotations

import time

from tests.browser.conftest import WAIT_MS, enter, receiving

VIDEO_SIZE = """async (peer) => {
    const pc = await window.roomStats();
    return pc[peer] ? [pc[peer].frameWidth, pc[peer].frameHeight] : null;
}"""


def admitted_pair(browser_factory, live_server, s, **party_options):
    """The mediator and the applicant in the room, the applicant let in."""
    ids = s["ids"]
    mediator = enter(browser_factory, live_server, s["phones"]["mediator"], s["session"])
    a = enter(browser_factory, live_server, s["phones"]["a"], s["session"], **party_options)
    mediator.click(f"#roster li[data-participant='{ids['a']}'] button.admit", timeout=WAIT_MS)
    return mediator, a


def test_a_party_whose_network_drops_is_back_with_media(
    live_server, browser_factory, session_in_progress
):
    """The party's network drops until their page says it lost the platform, then comes
    back: the page is back on the platform, and each again receives the other's sound and
    picture. How soon is measured by bench/room_recover.py (goal: 5 s), not here."""
    s = session_in_progress
    ids = s["ids"]
    mediator, a = admitted_pair(browser_factory, live_server, s)
    receiving(a, [ids["mediator"]])
    a.context.set_offline(True)
    a.wait_for_selector("#notice:not([hidden])", timeout=WAIT_MS)  # "cannot reach the platform"
    a.wait_for_timeout(1000)
    a.context.set_offline(False)
    a.wait_for_selector("#notice", state="hidden", timeout=WAIT_MS)  # signaling is back
    receiving(a, [ids["mediator"]])
    receiving(mediator, [ids["a"]])


def test_without_a_camera_the_call_goes_on_as_audio(
    live_server, browser_factory, session_in_progress
):
    """The applicant's phone refuses the camera but allows the microphone: they still hear
    and see the mediator, and the mediator hears them and sees "audio only" on their tile."""
    s = session_in_progress
    ids = s["ids"]
    mediator, a = admitted_pair(
        browser_factory, live_server, s, fake_ui=False, permissions=["microphone"]
    )
    receiving(a, [ids["mediator"]])
    tile = f"#tile-{ids['a']}.audio-only"
    mediator.wait_for_selector(tile, timeout=WAIT_MS)
    assert mediator.inner_text(f"#tile-{ids['a']} .quality") == "仅语音"
    hears = """async (peer) => (await window.roomStats())[peer].audioLevel > 0"""
    deadline = time.monotonic() + WAIT_MS / 1000
    while not mediator.evaluate(hears, ids["a"]):
        assert time.monotonic() < deadline, "the mediator does not hear the applicant"
        mediator.wait_for_timeout(200)


def test_the_mediator_shows_their_screen_and_goes_back_to_the_camera(
    live_server, browser_factory, session_in_progress
):
    s = session_in_progress
    ids = s["ids"]
    mediator, a = admitted_pair(browser_factory, live_server, s)
    receiving(a, [ids["mediator"]])
    camera = a.evaluate(VIDEO_SIZE, ids["mediator"])
    mediator.click("#share")
    mediator.wait_for_selector("#share[aria-pressed=true]", timeout=WAIT_MS)
    deadline = time.monotonic() + WAIT_MS / 1000
    while a.evaluate(VIDEO_SIZE, ids["mediator"]) == camera:
        assert time.monotonic() < deadline, f"the party still sees the camera ({camera})"
        a.wait_for_timeout(200)
    receiving(a, [ids["mediator"]])  # the screen, decoded
    mediator.click("#share")
    while a.evaluate(VIDEO_SIZE, ids["mediator"]) != camera:
        assert time.monotonic() < deadline, "the party does not see the camera again"
        a.wait_for_timeout(200)
