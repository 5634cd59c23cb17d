"""The video room, walked by three real Chromium pages: the mediator on a 1366×768 laptop,
both parties on 375×667 phones (issue #16, item 2). At every state each person is told the
right thing, sees the others' videos and the controls they need in the first screen (no
scrolling), and axe-core finds no serious barrier; after the end, every camera and
microphone is off and every media connection closed, on every page."""

from __future__ import annotations

import re

from sqlalchemy import select

from mediation.booking.models import SessionParticipant
from mediation.extensions import db
from tests.browser.conftest import WAIT_MS, enter, receiving, session_in_progress
from tests.journeys.conftest import in_first_screen

# The fixture of tests/browser: a session that began five minutes ago, nobody in it yet.
session_in_progress = session_in_progress

PHONE = {"viewport": {"width": 375, "height": 667}, "has_touch": True}
LAPTOP = {"viewport": {"width": 1366, "height": 768}}

# Run before the page's own scripts: every camera and microphone track the page obtains,
# and every peer connection it makes, kept where the test can look at them.
SPY = """(() => {
  window.__tracks = [];
  window.__connections = [];
  const devices = navigator.mediaDevices;
  if (devices && devices.getUserMedia) {
    const getUserMedia = devices.getUserMedia.bind(devices);
    devices.getUserMedia = (constraints) => getUserMedia(constraints).then((stream) => {
      stream.getTracks().forEach((track) => window.__tracks.push(track));
      return stream;
    });
  }
  const Original = window.RTCPeerConnection;
  function Spied(...args) {
    const connection = new Original(...args);
    window.__connections.push(connection);
    return connection;
  }
  Spied.prototype = Original.prototype;
  window.RTCPeerConnection = Spied;
})()"""

MEDIA = """() => ({
  tracks: window.__tracks.map((t) => t.kind + ':' + t.readyState),
  connections: window.__connections.map((c) => c.signalingState),
})"""


def state_of(page) -> str:
    return page.inner_text("#state") if page.is_visible("#state") else ""


def says(page, words: str) -> None:
    """Wait until the page's state line says ``words``."""
    page.wait_for_function(
        """(words) => {
            const state = document.getElementById('state');
            return !state.hidden && state.textContent.includes(words);
        }""",
        arg=words,
        timeout=WAIT_MS,
    )


def quiet(page) -> None:
    """Wait until the page's state line says nothing (the joint session is under way)."""
    page.wait_for_selector("#state", state="hidden", timeout=WAIT_MS)


def tiles_of(page, *ids: int) -> None:
    """Exactly these people's videos are on the page, each in the first screen."""
    expected = sorted(f"tile-{i}" for i in ids)
    page.wait_for_function(
        """(expected) => JSON.stringify(Array.from(document.querySelectorAll('#tiles .tile'))
            .map((t) => t.id).sort()) === JSON.stringify(expected)""",
        arg=expected,
        timeout=WAIT_MS,
    )
    for i in ids:
        in_first_screen(page, f"#tile-{i} video")


def controls(page, *buttons: str) -> None:
    for button in buttons:
        in_first_screen(page, f"#{button}")
        size = page.locator(f"#{button}").bounding_box()
        assert size["height"] >= 44 and size["width"] >= 44, (button, size)


PARTY_CONTROLS = ("mute", "camera", "hand", "leave")


def test_every_state_of_the_room_on_a_phone_and_a_laptop(
    app, live_server, browser_factory, session_in_progress, step, snap
):
    s = session_in_progress
    ids = s["ids"]
    with app.app_context():
        names = {
            who: db.session.scalars(
                select(SessionParticipant).where(SessionParticipant.id == ids[who])
            )
            .one()
            .user.real_name
            for who in ("mediator", "a", "b")
        }
        db.session.remove()

    def come_in(who: str, options: dict):
        return enter(
            browser_factory,
            live_server,
            s["phones"][who],
            s["session"],
            context_options=options,
            init_script=SPY,
        )

    def line(who: str) -> str:
        return f"#roster li[data-participant='{ids[who]}']"

    # -- the mediator opens the room: nobody yet ------------------------------------------
    mediator = come_in("mediator", LAPTOP)
    says(mediator, "正在等候当事人进入")
    controls(mediator, "mute", "camera", "share", "start", "caucus-applicant", "end", "leave")
    assert mediator.is_hidden("#joint") and mediator.is_hidden(".site-header")
    step(mediator, "#state", "01-mediator-waiting-1366")

    # -- the applicant arrives: the lobby ----------------------------------------------
    a = come_in("a", PHONE)
    says(a, "请稍候，调解员会让您进入")
    controls(a, *PARTY_CONTROLS)
    # The warning of SPC rules art 17 is read while waiting, over their own picture.
    step(a, "#acknowledge", "02-applicant-lobby-375")
    assert a.evaluate("document.documentElement.scrollWidth") <= 375
    says(mediator, f"等候进入：{names['a']}")
    step(mediator, f"{line('a')} button.admit", "03-mediator-someone-in-the-lobby-1366")
    a.click("#acknowledge")
    a.wait_for_selector("#warning", state="hidden", timeout=WAIT_MS)
    step(a, "#consent-yes", "04-applicant-asked-about-recording-375")
    a.click("#consent-yes")
    a.wait_for_selector("#consent", state="hidden", timeout=WAIT_MS)

    # -- let in, identity checked on camera -------------------------------------------------
    mediator.click(f"{line('a')} button.admit")
    says(a, "调解员正在核对您的身份")
    tiles_of(a, ids["mediator"])
    tiles_of(mediator, ids["a"])
    step(a, f"#tile-{ids['mediator']}", "05-applicant-identity-check-375")
    says(mediator, f"请通过视频核对{names['a']}的身份")
    step(mediator, f"{line('a')} button.confirm-identity", "06-mediator-identity-check-1366")
    mediator.click(f"{line('a')} button.confirm-identity")
    mediator.wait_for_selector(f"{line('a')} button.confirm-identity", state="detached")
    says(a, "正在等候对方当事人进入")
    step(a, f"#tile-{ids['mediator']}", "07-applicant-waiting-for-the-other-party-375")

    # -- the respondent: in, checked, warned; says no to recording ------------------------
    b = come_in("b", PHONE)
    says(b, "请稍候，调解员会让您进入")
    says(a, "对方当事人已到，调解员正在核验其身份")  # not "waiting for them" any more
    mediator.click(f"{line('b')} button.admit", timeout=WAIT_MS)
    mediator.click(f"{line('b')} button.confirm-identity", timeout=WAIT_MS)
    mediator.wait_for_selector(f"{line('b')} button.confirm-identity", state="detached")
    says(mediator, f"等待{names['b']}确认虚假调解告知")
    b.click("#acknowledge", timeout=WAIT_MS)
    b.wait_for_selector("#warning", state="hidden", timeout=WAIT_MS)
    b.click("#consent-no", timeout=WAIT_MS)
    b.wait_for_selector("#consent", state="hidden", timeout=WAIT_MS)

    # The mediator sees, per party, the warning acknowledged and the answer on recording.
    says(mediator, "在场人员均已核对，可以开始调解")
    mediator.wait_for_function(
        f"""() => document.querySelector("{line("b")} .progress").textContent
            .includes('不同意录音录像')""",
        timeout=WAIT_MS,
    )
    for who, answer in (("a", "同意录音录像"), ("b", "不同意录音录像")):
        progress = mediator.inner_text(f"{line(who)} .progress")
        assert "已确认虚假调解告知" in progress and answer in progress, progress
        assert "身份已核实" in mediator.inner_text(line(who))
    for page in (a, b):
        says(page, "调解员即将开始调解")
    step(mediator, "#start", "08-mediator-ready-to-begin-1366")

    # -- the joint session -------------------------------------------------------------
    mediator.click("#start")
    receiving(mediator, [ids["a"], ids["b"]])
    receiving(a, [ids["mediator"], ids["b"]])
    receiving(b, [ids["mediator"], ids["a"]])
    for page in (a, b):
        quiet(page)
    quiet(mediator)
    tiles_of(mediator, ids["a"], ids["b"])
    controls(mediator, "mute", "camera", "share", "caucus-applicant", "caucus-respondent", "end")
    assert mediator.is_hidden("#start")
    step(mediator, "#end", "09-mediator-joint-1366")
    for who, page in (("a", a), ("b", b)):
        other = "b" if who == "a" else "a"
        tiles_of(page, ids["mediator"], ids[other])
        controls(page, *PARTY_CONTROLS)
        step(page, "#leave", f"10-{who}-joint-375")

    # -- caucus with each side: each person is told where they are ------------------------
    for side, inside, outside in (("applicant", a, b), ("respondent", b, a)):
        mediator.click(f"#caucus-{side}")
        named = "申请人方" if side == "applicant" else "被申请人方"
        says(mediator, f"单独沟通：{named}")
        says(inside, "您正在与调解员单独沟通")
        says(outside, "调解员正在与对方单独沟通，请稍候")
        assert "您正在与调解员单独沟通" not in state_of(mediator)
        inside_id = ids["a"] if inside is a else ids["b"]
        tiles_of(mediator, inside_id)
        tiles_of(inside, ids["mediator"])
        tiles_of(outside)
        controls(mediator, "joint", "end")
        controls(inside, *PARTY_CONTROLS)
        controls(outside, *PARTY_CONTROLS)
        step(mediator, "#joint", f"11-mediator-caucus-{side}-1366")
        step(inside, f"#tile-{ids['mediator']}", f"12-caucus-{side}-inside-375")
        step(outside, "#state", f"13-caucus-{side}-outside-375")
    mediator.click("#joint")
    for page in (a, b):
        quiet(page)
    tiles_of(a, ids["mediator"], ids["b"])

    # -- chat on a phone: the panel opens below the videos, which stay on screen -----------
    a.click(".panel-toggle[data-tab='chat']")
    a.fill("#chat-text", "我想先听听对方的意见，押金的事可以再商量。")
    a.click("#chat-form button")
    a.wait_for_selector("#chat-lines li", timeout=WAIT_MS)
    tiles_of(a, ids["mediator"], ids["b"])
    in_first_screen(a, "#chat-text")
    step(a, "#chat-lines li time", "14-applicant-chat-375")
    # The mediator is told of the new line, and reads it with its time, whole.
    mediator.wait_for_selector("#tab-chat .badge:not([hidden])", timeout=WAIT_MS)
    mediator.click("#tab-chat")
    stamp = mediator.locator("#chat-lines li time").first
    assert re.fullmatch(r"\d{2}:\d{2}", stamp.inner_text()), stamp.inner_text()
    for page in (a, mediator):
        clipped = page.locator("#chat-lines li time").first.evaluate(
            """(t) => {
                const r = t.getBoundingClientRect(), list = t.closest('ol').getBoundingClientRect();
                return t.scrollWidth > t.clientWidth || r.right > list.right || r.left < list.left;
            }"""
        )
        assert not clipped
    tiles_of(mediator, ids["a"], ids["b"])
    step(mediator, "#chat-text", "15-mediator-chat-1366")
    a.click("#panel-close")

    # -- the respondent raises a hand ---------------------------------------------------
    b.click("#hand")
    mediator.wait_for_function(
        f"""() => document.querySelector("{line("b")}").textContent.includes('已举手')""",
        timeout=WAIT_MS,
    )

    # -- the minutes (required: not everyone agreed to recording), then the end ------------
    mediator.click("#tab-minutes")
    mediator.fill("#minutes-facts", "双方确认押金3000元尚未退还")
    mediator.wait_for_function(
        "document.getElementById('minutes-status').textContent.includes('v1')",
        timeout=WAIT_MS,
    )
    tiles_of(mediator, ids["a"], ids["b"])
    step(mediator, "#minutes-facts", "16-mediator-minutes-1366")
    for page in (mediator, a, b):
        media = page.evaluate(MEDIA)
        assert media["tracks"] and all(t.endswith(":live") for t in media["tracks"]), media
    mediator.on("dialog", lambda dialog: dialog.accept())
    mediator.click("#end")

    ended = {
        mediator: "您已结束本次调解，请接着完成调解笔录。",
        a: "调解员已结束本次调解。",
        b: "调解员已结束本次调解。",
    }
    for page, words in ended.items():
        says(page, words)
        page.wait_for_function(
            """() => window.__tracks.every((t) => t.readyState === 'ended')
                && window.__connections.every((c) => c.signalingState === 'closed')""",
            timeout=WAIT_MS,
        )
        media = page.evaluate(MEDIA)
        assert media["tracks"] and media["connections"], media
        # Said once, controls gone, no video left, and the way to the minutes on screen.
        shown = page.evaluate("document.body.innerText")
        assert shown.count(words.rstrip("。")) == 1, shown
        assert page.is_hidden("#controls")
        assert page.locator("#tiles .tile").count() == 0
        assert page.is_hidden("#self-video")
        in_first_screen(page, "#minutes-next a[role=button]")
    # The hand went down with the end.
    assert "已举手" not in mediator.inner_text("#roster")
    step(mediator, "#minutes-next a[role=button]", "17-mediator-ended-1366")
    step(a, "#minutes-next a[role=button]", "18-applicant-ended-375")

    # -- the session took place: no longer "booked", nothing to move or cancel --------------
    b.reload()
    says(b, "调解员已结束本次调解。")
    assert b.evaluate(MEDIA)["tracks"] == []  # the page opened again asks for no camera
    b.click("#minutes-next a:not([role])")  # "My sessions"
    b.wait_for_url("**/sessions/", timeout=WAIT_MS)
    session_line = b.locator("article.session").first
    assert "已结束" in session_line.inner_text() and "已预约" not in session_line.inner_text()
    assert b.get_by_role("button", name="加入调解").count() == 0
    step(b, b.get_by_role("button", name="阅读调解笔录"), "19-respondent-my-sessions-375")

    mediator.click("#minutes-next a:not([role])")
    mediator.wait_for_url("**/sessions/", timeout=WAIT_MS)
    mediator.click("header a[href$='/caseload']")
    mediator.locator("main td a[href*='/cases/']").first.click()
    sessions = mediator.locator("section.sessions li").first
    sessions.wait_for(timeout=WAIT_MS)
    text = sessions.inner_text()
    assert "已结束" in text and "已预约" not in text, text
    assert sessions.get_by_text("改期").count() == 0
    assert sessions.locator("summary", has_text="取消").count() == 0
    snap(mediator, "20-mediator-case-session-ended-1366")
