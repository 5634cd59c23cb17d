"""Walk (d) of issue #16: the minutes are disputed and the mediator is told.

It continues walk (c) (test_mediate_now.walk_session): the mediator wrote the minutes in the
room and ended the session, which sends them to the parties for review. The respondent, on
a phone (375×667), goes from the ended room's button to the minutes, disputes a passage with
a reason, and confirms with the code sent to their phone. The mediator (1366×768) gets a
text message, follows its link, sees the dispute on the minutes page and on the case page,
with a button to act on it, and makes the minutes final with the objection marked (SPC
online mediation rules art 22: only undisputed facts are confirmed; the mediator, not the
platform, decides what becomes of a dispute).

Nothing is set up with operations beyond the world of walk (c) (a case in mediation); every
step is a button or link the pages show, or a link or code from a text message.
"""

from __future__ import annotations

import re

from mediation.extensions import db
from mediation.minutes import operations as minutes
from tests.browser.conftest import WAIT_MS

from .test_mediate_now import texts_to, walk_session

# What the respondent says walk (c)'s minutes got wrong: passage 3.1, their own statement
# ("同意维修，对金额有异议。"; the sections are numbered as in mediation.minutes.models.SECTIONS).
DISPUTED = "3.1"
REASON = "我没有同意维修，只同意先查明漏水原因"


def code_in(text: str) -> str:
    return re.search(r"(?<!\d)\d{6}(?!\d)", text).group()


def test_a_party_disputes_the_minutes_and_the_mediator_decides(
    app, live_server, browser_factory, step, snap
):
    ended = walk_session(app, live_server, browser_factory, step)
    world, party, mediator = ended.world, ended.respondent, ended.mediator
    session_id = int(re.search(r"/sessions/(\d+)/", ended.path).group(1))
    minutes_path = f"**/sessions/{session_id}/minutes"

    # The end of the session sent the minutes to each party's phone for review.
    for who in ("applicant", "respondent"):
        asked = [t for t in texts_to(app, world[who]) if "/m/" in t]
        assert len(asked) == 1 and world["number"] in asked[0], asked

    # The respondent, still on the ended room, reads the minutes from its button.
    party.click("#minutes-next a[role=button]", timeout=WAIT_MS)
    party.wait_for_url(minutes_path, timeout=WAIT_MS)
    passage = party.locator(f"input[name='dispute-{DISPUTED}']")
    step(party, party.locator("input[name='dispute-1.1']"), "d01-party-minutes")
    assert "同意维修，对金额有异议。" in party.locator("main").inner_text()

    # They tick the passage they dispute, say why, and ask for the code (kept at the foot
    # of the screen while they read).
    passage.check()
    party.fill(f"textarea[name='note-{DISPUTED}']", REASON)
    send = party.get_by_role("button", name="发送验证码")
    step(party, send, "d02-party-disputes")
    send.click()
    party.get_by_text("验证码已发送").wait_for(timeout=WAIT_MS)
    # With the code on its way, what is left to do is at the top of the page.
    confirm = party.get_by_role("button", name="确认调解笔录")
    step(party, party.locator("#code"), "d03-party-code")
    assert DISPUTED in party.locator(".minutes-confirm").inner_text()
    party.fill("#code", code_in(texts_to(app, world["respondent"])[-1]))
    step(party, confirm, "d04-party-ready-to-confirm")
    confirm.click()
    party.wait_for_url(minutes_path, timeout=WAIT_MS)
    done = party.get_by_text("我们已通知调解员")
    step(party, done, "d05-party-confirmed")
    assert party.evaluate("document.documentElement.scrollWidth") <= 375

    # The mediator's phone: told at once, with who disputes what and a link.
    (told,) = [t for t in texts_to(app, world["mediator"]) if DISPUTED in t]
    assert world["number"] in told and "李秀英" in told
    with app.app_context():
        assert minutes.of_session(session_id).finalised_at is None  # not behind their back
        db.session.remove()

    # The mediator, still logged in on the laptop, follows the link in the message.
    link = re.search(r"https?://\S+", told).group()
    mediator.goto(live_server + "/sessions/" + link.split("/sessions/", 1)[1])
    mediator.wait_for_url(minutes_path, timeout=WAIT_MS)
    decide = mediator.get_by_role("button", name="注明异议后定稿")
    step(mediator, decide, "d06-mediator-minutes-dispute")
    decision = mediator.locator("#minutes-decision").inner_text()
    assert REASON in decision and "李秀英" in decision

    # The case page says it too, with the button to act on it.
    mediator.get_by_role("link", name=re.compile(re.escape(world["title"]))).first.click()
    mediator.wait_for_url(re.compile(r".*/cases/\d+$"), timeout=WAIT_MS)
    act = mediator.get_by_role("button", name="笔录有异议，请处理").first
    step(mediator, act, "d07-mediator-case-page")
    act.click()
    mediator.wait_for_url(minutes_path, timeout=WAIT_MS)
    step(mediator, decide, "d08-mediator-decides")
    decide.click()
    pdf = mediator.get_by_role("button", name="下载调解笔录（PDF）")
    step(mediator, pdf, "d09-minutes-final")
    with app.app_context():
        written = minutes.of_session(session_id)
        assert written.finalised_at is not None
        (review,) = [r for r in written.reviews if r.disputes]
        assert review.disputes == [{"passage": DISPUTED, "note": REASON}]
        db.session.remove()
