"""The room in real browsers: three chromiums (mediator, applicant, respondent) with fake
cameras and microphones. Media is checked through getStats: frames decoded rising and an
audio level above zero, not only the page's state."""

from __future__ import annotations

import os
import time

import pytest

from mediation.booking import links
from mediation.extensions import db
from mediation.notify.models import OutboxMessage
from tests.factories import PASSWORD, make_mediating_case
from tests.signaling.conftest import open_session

WAIT_MS = 20_000


@pytest.fixture
def session_in_progress(app):
    with app.app_context():
        case = make_mediating_case()
        session = open_session(case)
        db.session.commit()
        applicant, respondent = case.party_users()
        ids = {p.user_id: p.id for p in session.participants}
        party_a = next(p for p in session.participants if p.user_id == applicant.id)
        made = {
            "link_a": f"/s/{links.token_for(party_a)}",
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
    return made


def enter(browser_factory, live_server: str, phone: str, session_id: int):
    browser = browser_factory("--use-fake-ui-for-media-stream")
    page = browser.new_context().new_page()
    page.goto(f"{live_server}/login")
    page.fill("input[name=identifier]", phone)
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)
    page.goto(f"{live_server}/sessions/{session_id}/room")
    return page


RECEIVING = """async (ids) => {
    const first = await window.roomStats();
    await new Promise(r => setTimeout(r, 500));
    const then = await window.roomStats();
    return ids.every(id => first[id] && then[id]
        && then[id].framesDecoded > first[id].framesDecoded
        && then[id].audioLevel > 0);
}"""


def enter_by_link(browser_factory, live_server: str, app, link: str, phone: str):
    """What a party does with the text message: open the link, ask for the code, type it,
    press "join"."""
    import re

    from sqlalchemy import func, select

    browser = browser_factory("--use-fake-ui-for-media-stream")
    page = browser.new_context().new_page()
    page.goto(live_server + link)
    with app.app_context():
        before = db.session.scalar(select(func.max(OutboxMessage.id))) or 0
    page.click("form[action$='/code'] button")
    page.wait_for_selector(".flash-info")  # "a code has been sent"
    with app.app_context():
        body = db.session.scalars(
            select(OutboxMessage.body).where(
                OutboxMessage.recipient == phone, OutboxMessage.id > before
            )
        ).one()
    page.fill("input[name=code]", re.search(r"(?<!\d)\d{6}(?!\d)", body).group())
    page.click("form[action$='/verify'] button")
    page.click("button.join", timeout=WAIT_MS)
    page.wait_for_url(lambda url: url.endswith("/room"), timeout=WAIT_MS)
    return page


def receiving(page, peer_ids: list[int], within_ms: int = WAIT_MS) -> None:
    """Wait until ``page`` decodes video frames, and hears sound, from every peer.

    Polled from here with ``evaluate``, which awaits the page's promise (a promise given to
    ``wait_for_function`` would count as true at once)."""
    deadline = time.monotonic() + within_ms / 1000
    while time.monotonic() < deadline:
        if page.evaluate(RECEIVING, peer_ids):
            return
    raise AssertionError(f"no media from {peer_ids}: {page.evaluate('window.roomStats()')}")


def silent_from(page, peer_ids: list[int]) -> bool:
    """Nothing at all is decoded from these peers now (no connection, or frozen counters)."""
    return page.evaluate(
        """async (ids) => {
            const first = await window.roomStats();
            await new Promise(r => setTimeout(r, 1000));
            const then = await window.roomStats();
            return ids.every(id => !then[id] || (first[id]
                && then[id].framesDecoded === first[id].framesDecoded));
        }""",
        peer_ids,
    )


def peers_of(page) -> list[int]:
    return sorted(
        int(k) for k in page.evaluate("async () => Object.keys(await window.roomStats())")
    )


def test_three_join_pass_the_lobby_and_identity_and_talk_then_caucus(
    app, live_server, browser_factory, session_in_progress
):
    s = session_in_progress
    ids = s["ids"]
    mediator = enter(browser_factory, live_server, s["phones"]["mediator"], s["session"])
    # The applicant comes from the text message's link, with the code sent to the phone.
    a = enter_by_link(browser_factory, live_server, app, s["link_a"], s["phones"]["a"])
    b = enter(browser_factory, live_server, s["phones"]["b"], s["session"])
    for page in (a, b):
        page.wait_for_selector("#state:not([hidden])", timeout=WAIT_MS)
        assert "调解员" in page.inner_text("#state")  # waiting to be let in
    for who in ("a", "b"):
        mediator.click(f"#roster li[data-participant='{ids[who]}'] button.admit", timeout=WAIT_MS)
        mediator.click(
            f"#roster li[data-participant='{ids[who]}'] button.confirm-identity", timeout=WAIT_MS
        )
    for page in (a, b):
        page.click("#acknowledge", timeout=WAIT_MS)
        page.click("#consent-yes", timeout=WAIT_MS)
    receiving(mediator, [ids["a"], ids["b"]])
    receiving(a, [ids["mediator"], ids["b"]])
    receiving(b, [ids["mediator"], ids["a"]])

    mediator.click("#caucus-applicant")
    b.wait_for_function("document.body.dataset.group === 'waiting:respondent'", timeout=WAIT_MS)
    assert "另一方" in b.inner_text("#state")
    assert silent_from(b, [ids["mediator"], ids["a"]])
    receiving(a, [ids["mediator"]])
    receiving(mediator, [ids["a"]])
    assert peers_of(a) == [ids["mediator"]]

    mediator.click("#joint")
    receiving(b, [ids["mediator"], ids["a"]])
    receiving(a, [ids["mediator"], ids["b"]])


def test_a_party_who_reloads_is_back_with_media_within_five_seconds(
    live_server, browser_factory, session_in_progress
):
    s = session_in_progress
    ids = s["ids"]
    mediator = enter(browser_factory, live_server, s["phones"]["mediator"], s["session"])
    a = enter(browser_factory, live_server, s["phones"]["a"], s["session"])
    mediator.click(f"#roster li[data-participant='{ids['a']}'] button.admit", timeout=WAIT_MS)
    receiving(a, [ids["mediator"]])
    started = time.monotonic()
    a.reload()
    receiving(a, [ids["mediator"]], within_ms=5000)  # still admitted: not let in again
    receiving(mediator, [ids["a"]], within_ms=max(0, 5000 - (time.monotonic() - started) * 1000))


def test_the_room_fits_a_phone(live_server, browser_factory, session_in_progress, tmp_path):
    s = session_in_progress
    browser = browser_factory("--use-fake-ui-for-media-stream")
    page = browser.new_context(viewport={"width": 375, "height": 812}).new_page()
    page.goto(f"{live_server}/login")
    page.fill("input[name=identifier]", s["phones"]["a"])
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)
    page.goto(f"{live_server}/sessions/{s['session']}/room")
    page.wait_for_selector("#state:not([hidden])", timeout=WAIT_MS)
    # Nothing wider than the screen: no sideways scrolling on a phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.screenshot(path=str(tmp_path / "room-375.png"), full_page=True)
    if os.environ.get("MEDIATION_SCREENSHOTS"):
        page.screenshot(path=os.environ["MEDIATION_SCREENSHOTS"] + "/room-375.png", full_page=True)
    assert (tmp_path / "room-375.png").stat().st_size > 0


def test_two_server_processes_on_one_redis_carry_one_room(
    app, browser_factory, session_in_progress, tmp_path
):
    """The mediator on one web process, the party on another: Socket.IO's Redis message
    queue carries the room's events between them, and media flows."""
    import redis

    from tests.browser.conftest import serve
    from tests.conftest import require_service

    redis_url = os.environ.get("MEDIATION_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        require_service("Redis", error)
    s = session_in_progress
    ids = s["ids"]
    database = app.config["SQLALCHEMY_DATABASE_URI"]
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    with (
        serve(database, tmp_path / "one", redis_url=redis_url, channel="room-test") as one,
        serve(database, tmp_path / "two", redis_url=redis_url, channel="room-test") as two,
    ):
        mediator = enter(browser_factory, one, s["phones"]["mediator"], s["session"])
        a = enter(browser_factory, two, s["phones"]["a"], s["session"])
        mediator.click(f"#roster li[data-participant='{ids['a']}'] button.admit", timeout=WAIT_MS)
        receiving(mediator, [ids["a"]])
        receiving(a, [ids["mediator"]])
