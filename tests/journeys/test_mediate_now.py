"""Walk (c) of issue #16: the parties agree on the phone to meet at once; the mediator, on a
laptop, opens the case from the menu and presses 立即调解; each party enters on a phone —
one from the link in the text message, the other from the button on their case page — and
everyone goes through the lobby, admission, identity, the art 17 warning, a caucus with
each side, and the end.

The room's controls are found through the helpers of room_steps.py.

The session is walked by ``walk_session``, which walk (d) (test_minutes_disputed.py)
continues from the ended room."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select

from mediation.extensions import db
from mediation.notify.models import OutboxMessage
from tests.browser.conftest import WAIT_MS, open_minutes, write_minutes
from tests.factories import make_mediating_case

from .conftest import log_in
from .room_steps import (
    ROOM_URL,
    acknowledge_warning,
    admit,
    admit_button,
    agree_to_recording,
    back_to_everyone_button,
    begin_button,
    begin_session,
    caucus_button,
    confirm_identity,
    confirm_identity_button,
    end_session,
    enter_room,
    group_is,
    open_case,
)

LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 375, "height": 667}


# -- the people -----------------------------------------------------------------------


def device(browser_factory, viewport: dict, *, touch: bool = False):
    """A browser with a fake camera and microphone whose use the person allows."""
    browser = browser_factory("--use-fake-ui-for-media-stream")
    return browser.new_context(viewport=viewport, has_touch=touch).new_page()


def texts_to(app, phone: str) -> list[str]:
    """What the person's phone received (the console gateway keeps it in the outbox)."""
    with app.app_context():
        return db.session.scalars(
            select(OutboxMessage.body)
            .where(OutboxMessage.recipient == phone, OutboxMessage.channel == "sms")
            .order_by(OutboxMessage.id)
        ).all()


@dataclass
class Session:
    """Where walk (c) leaves everyone: the session ended, each on the room's last screen."""

    world: dict  # the case's pattern and everyone's phone number
    mediator: object  # the mediator's page (1366×768)
    applicant: object  # 王建国's page (375×667), entered from the text message
    respondent: object  # 李秀英's page (375×667), logged in
    path: str  # the room's path, /sessions/<id>/room


def walk_session(app, live_server, browser_factory, step) -> Session:
    """Walk (c) from the mediator's login to the end of the session, the minutes written in
    the room; returns the three pages, each on the ended room."""
    with app.app_context():
        case = make_mediating_case()
        applicant, respondent = case.party_users()
        applicant.real_name, respondent.real_name = "王建国", "李秀英"
        world = {
            # A case is listed by its number (the caseload) or its title (a party's cards).
            "case": re.compile(f"^({re.escape(case.number)}|{re.escape(case.title)})$"),
            "number": case.number,
            "title": case.title,
            "mediator": case.mediator.phone,
            "applicant": applicant.phone,
            "respondent": respondent.phone,
        }
        db.session.commit()
        db.session.remove()
    texts_before = {who: len(texts_to(app, world[who])) for who in ("applicant", "respondent")}

    # The mediator, on a laptop: log in, the caseload from the menu, the case, 立即调解.
    mediator = device(browser_factory, LAPTOP)
    log_in(mediator, step, live_server, world["mediator"], "mediator")
    open_case(mediator, step, "我的办案", world["case"], "mediator")
    agreed = mediator.get_by_label(re.compile("当事人已同意现在开始"))
    step(mediator, agreed, "mediator-05-case")
    agreed.check()
    start = mediator.get_by_role("button", name="立即调解")
    step(mediator, start, "mediator-06-agreed")
    start.click()
    mediator.wait_for_url(ROOM_URL, timeout=WAIT_MS)
    session_path = mediator.url.removeprefix(live_server)
    step(mediator, "#roster", "mediator-07-room-alone")

    # One text each, with the personal link; nothing else (no reminder on top).
    for who in ("applicant", "respondent"):
        new = texts_to(app, world[who])[texts_before[who] :]
        assert len(new) == 1 and "/s/" in new[0], new

    # The applicant, on a phone, from the link in the text message.
    a = device(browser_factory, PHONE, touch=True)
    message = texts_to(app, world["applicant"])[-1]
    link = re.search(r"https?://\S+?/s/\S+", message).group()
    a.goto(live_server + "/s/" + link.split("/s/", 1)[1])
    send_code = a.get_by_role("button", name="发送验证码")
    step(a, send_code, "applicant-01-link")
    send_code.click()
    a.wait_for_selector(".flash-info")
    code = re.search(r"(?<!\d)\d{6}(?!\d)", texts_to(app, world["applicant"])[-1]).group()
    a.fill("input[name=code]", code)
    confirm = a.get_by_role("button", name="确认", exact=True)
    step(a, confirm, "applicant-02-code")
    confirm.click()
    join = a.get_by_role("button", name="加入调解")
    step(a, join, "applicant-03-join")
    join.click()
    a.wait_for_url(lambda url: url.endswith(session_path), timeout=WAIT_MS)
    step(a, "#state", "applicant-04-lobby")
    assert "调解员" in a.inner_text("#state")  # waiting to be let in

    # The respondent, on a phone, logs in and finds the room on the case's page.
    b = device(browser_factory, PHONE, touch=True)
    log_in(b, step, live_server, world["respondent"], "respondent")
    open_case(b, step, "我的案件", world["case"], "respondent")
    enter_room(b, step, "respondent")
    assert b.url.endswith(session_path)
    step(b, "#state", "respondent-06-lobby")

    # The mediator lets each in and confirms who they are on camera.
    ids = {
        who: int(
            mediator.locator("#roster li[data-participant]")
            .filter(has_text=name)
            .first.get_attribute("data-participant", timeout=WAIT_MS)
        )
        for who, name in (("a", "王建国"), ("b", "李秀英"))
    }
    for who in ("a", "b"):
        step(mediator, admit_button(mediator, ids[who]), f"mediator-08-admit-{who}")
        admit(mediator, ids[who])
        step(mediator, confirm_identity_button(mediator, ids[who]), f"mediator-09-identity-{who}")
        confirm_identity(mediator, ids[who])

    # Each party reads the warning against sham mediation (art 17) and answers on recording.
    for name, page in (("applicant", a), ("respondent", b)):
        step(page, "#acknowledge", f"{name}-10-warning")
        acknowledge_warning(page)
        step(page, "#consent-yes", f"{name}-11-recording")
        agree_to_recording(page)

    step(mediator, begin_button(mediator), "mediator-11-begin")
    begin_session(mediator)

    # A caucus with each side, both ways, and back to everyone each time.
    for side, alone, waiting, other in (
        ("applicant", a, b, "respondent"),
        ("respondent", b, a, "applicant"),
    ):
        step(mediator, caucus_button(mediator, side), f"mediator-12-caucus-{side}")
        caucus_button(mediator, side).click()
        group_is(waiting, f"waiting:{other}")  # the other side waits on its own
        step(waiting, "#state", f"waiting-13-while-caucus-{side}")
        assert "单独沟通" in waiting.inner_text(
            "#state"
        )  # told the mediator is with the other side
        step(alone, "#state", f"alone-14-caucus-{side}")
        step(mediator, back_to_everyone_button(mediator), f"mediator-15-back-{side}")
        back_to_everyone_button(mediator).click()
        group_is(waiting, "joint")

    # The minutes: when not everything was recorded (a caucus is not, by the institution's
    # setting), they are the record, and the session cannot end without them.
    step(mediator, open_minutes(mediator), "mediator-16-minutes")
    write_minutes(
        mediator,
        {
            "attendees": "调解员、申请人王建国、被申请人李秀英",
            "applicant_statement": "要求赔偿墙面维修费。",
            "respondent_statement": "同意维修，对金额有异议。",
        },
    )

    # The end: everyone is told and sent on to the minutes.
    step(mediator, "#end", "mediator-17-end")
    end_session(mediator)
    for name, page in (("mediator", mediator), ("applicant", a), ("respondent", b)):
        page.wait_for_selector("#minutes-next:not([hidden])", timeout=WAIT_MS)
        step(page, "#minutes-next a", f"{name}-18-ended")
    return Session(world, mediator, a, b, session_path)


def test_mediator_starts_now_and_everyone_goes_through_the_room(
    app, live_server, browser_factory, step
):
    ended = walk_session(app, live_server, browser_factory, step)
    for page in (ended.mediator, ended.applicant, ended.respondent):
        assert page.url.endswith(ended.path)
