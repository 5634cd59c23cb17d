"""Walk (d) of issue #16: the minutes are disputed and the mediator is told.

A party on a phone (375×667) opens the minutes review from the link in their text message,
disputes a passage with a reason, and confirms with the code sent to their phone. The
mediator (1366×768) gets a text message, follows its link, sees the dispute on the minutes
page and on the case page, with a button to act on it, and makes the minutes final with
the objection marked (SPC online mediation rules art 22: only undisputed facts are
confirmed; the mediator, not the platform, decides what becomes of a dispute).

Set up before the walk with operations (tests/factories.py, tests/minutes/conftest.py): the
case in mediation, and one of its sessions, ended, with its minutes written and sent for
review. The session itself (booking, lobby, room, end) is walked by walk (c); here the
walk starts at the text message the end of the session sends.
"""

from __future__ import annotations

import re

from sqlalchemy import select

from mediation.extensions import db
from mediation.minutes import operations as minutes
from mediation.notify.models import OutboxMessage
from tests.factories import PASSWORD, make_mediating_case
from tests.minutes.conftest import ended_session

DISPUTED = "2.2"  # "约定于十月一日前归还。" in tests/minutes/conftest.TEXT
REASON = "双方从未约定还款日期"


def texts_to(app, phone: str) -> list[str]:
    """What the person's phone received, oldest first (the console gateway keeps it)."""
    with app.app_context():
        return list(
            db.session.scalars(
                select(OutboxMessage.body)
                .where(OutboxMessage.recipient == phone, OutboxMessage.channel == "sms")
                .order_by(OutboxMessage.id)
            )
        )


def code_in(text: str) -> str:
    return re.search(r"\d{6}", text).group()


def path_of(link: str, prefix: str) -> str:
    return prefix + link.split(prefix, 1)[1]


def test_a_party_disputes_the_minutes_and_the_mediator_decides(
    app, live_server, phone_page, staff_page, step
):
    with app.app_context():
        case = make_mediating_case()
        _applicant, respondent = case.party_users()
        session = ended_session(case)  # the minutes go to the parties for review
        db.session.commit()
        ids = {
            "case": case.id,
            "session": session.id,
            "number": case.number,
            "respondent": respondent.phone,
            "mediator": case.mediator.phone,
            "mediator_name": case.mediator.real_name,
            "respondent_name": respondent.real_name,
        }

    # The respondent's phone: the text message asking them to review the minutes.
    (asked,) = [t for t in texts_to(app, ids["respondent"]) if "/m/" in t]
    assert ids["number"] in asked
    party = phone_page
    party.set_viewport_size({"width": 375, "height": 667})
    party.goto(live_server + path_of(re.search(r"https?://\S+", asked).group(), "/m/"))
    step(party, party.get_by_role("button", name="发送验证码"), "d01-party-link")
    party.get_by_role("button", name="发送验证码").click()
    party.get_by_text("验证码已发送").wait_for()
    party.fill("#code", code_in(texts_to(app, ids["respondent"])[-1]))
    party.get_by_role("button", name="确认").click()
    party.wait_for_url(f"**/sessions/{ids['session']}/minutes")

    # The minutes, one passage per line: they tick the one they dispute and say why.
    passage = party.locator(f"input[name='dispute-{DISPUTED}']")
    step(party, party.locator("input[name='dispute-1.1']"), "d02-party-minutes")
    passage.check()
    party.fill(f"textarea[name='note-{DISPUTED}']", REASON)
    party.get_by_role("button", name="发送验证码").click()
    party.get_by_text("验证码已发送").wait_for()
    # With the code on its way, what is left to do is at the top of the page.
    confirm = party.get_by_role("button", name="确认调解笔录")
    step(party, party.locator("#code"), "d03-party-code")
    assert "2.2" in party.locator(".minutes-confirm").inner_text()
    party.fill("#code", code_in(texts_to(app, ids["respondent"])[-1]))
    step(party, confirm, "d04-party-ready-to-confirm")
    confirm.click()
    party.wait_for_url(f"**/sessions/{ids['session']}/minutes")
    done = party.get_by_text("我们已通知调解员")
    step(party, done, "d05-party-confirmed")
    assert party.evaluate("document.documentElement.scrollWidth") <= 375

    # The mediator's phone: told at once, with who disputes what and a link.
    (told,) = [t for t in texts_to(app, ids["mediator"]) if DISPUTED in t]
    assert ids["number"] in told and ids["respondent_name"] in told
    with app.app_context():
        written = minutes.of_session(ids["session"])
        assert written.finalised_at is None  # nothing is made final behind their back

    mediator = staff_page
    mediator.goto(live_server + path_of(re.search(r"https?://\S+", told).group(), "/sessions/"))
    step(mediator, mediator.locator("#identifier"), "d06-mediator-login")
    mediator.fill("#identifier", ids["mediator"])
    mediator.fill("#password", PASSWORD)
    mediator.get_by_role("button", name="登录").click()
    mediator.wait_for_url(f"**/sessions/{ids['session']}/minutes")
    decide = mediator.get_by_role("button", name="注明异议后定稿")
    step(mediator, decide, "d07-mediator-minutes-dispute")
    decision = mediator.locator("#minutes-decision").inner_text()
    assert REASON in decision and ids["respondent_name"] in decision

    # The case page says it too, with the button to act on it.
    mediator.get_by_role("link", name=re.compile("漏水纠纷")).first.click()
    mediator.wait_for_url(f"**/cases/{ids['case']}")
    act = mediator.get_by_role("button", name="笔录有异议，请处理").first
    step(mediator, act, "d08-mediator-case-page")
    act.click()
    mediator.wait_for_url(f"**/sessions/{ids['session']}/minutes")
    step(mediator, decide, "d09-mediator-decides")
    decide.click()
    mediator.wait_for_load_state()
    pdf = mediator.get_by_role("button", name="下载调解笔录（PDF）")
    step(mediator, pdf, "d10-minutes-final")
    with app.app_context():
        written = minutes.of_session(ids["session"])
        assert written.finalised_at is not None
        assert written.reviews and any(r.disputes for r in written.reviews)
