"""Walk: an agreement's payment date passed unperformed (issue #21, item 1). The mediator,
told by text, finds it among the follow-ups due and records a telephone 回访; the obligee,
on a phone, confirms from the text message's link, by a code, that the money came.

Set up with operations: the agreement signed by everyone and in force (as the signing
walks reach it), and the worker's round on the day after the date."""

from __future__ import annotations

import re

from mediation.extensions import db
from mediation.followup import operations as followup
from tests.court.conftest import in_force
from tests.followup.conftest import after_the_date
from tests.journeys.conftest import log_in
from tests.journeys.signing_steps import code_in, last_text_to

OUTCOME = "电话联系李四，称资金周转困难，承诺本周五前付清3500元。"


def world(app):
    with app.app_context():
        made = in_force()
        applicant, _respondent = made.case.party_users()
        [obligation] = followup.of_case(made.case)
        # The worker's round the day after the date: missed, the mediator and obligee told.
        assert followup.mark_missed(now=after_the_date(obligation)) == 1
        db.session.commit()
        found = {
            "case": made.case.id,
            "mediator": made.case.mediator.phone,
            "applicant": applicant.phone,
        }
        db.session.remove()
    return found


def test_a_missed_date_followed_up_by_the_mediator_and_confirmed_by_the_obligee(
    app, live_server, phone_page, staff_page, step, snap
):
    made = world(app)
    assert "请及时回访" in last_text_to(app, made["mediator"], "回访")

    # The mediator, at a desk: the follow-ups due, the obligation, the 回访记录.
    desk = staff_page
    log_in(desk, step, live_server, made["mediator"], "m")
    due = desk.get_by_role("link", name="待回访")
    step(desk, due, "m03-home")
    due.click()
    record = desk.locator("main ul.missed-obligations a").first
    step(desk, record, "m04-follow-ups-due")
    record.click()
    save = desk.get_by_role("button", name="保存回访记录")
    step(desk, save, "m05-follow-up-form")
    desk.get_by_label("方式").select_option(label="电话回访")
    desk.get_by_label("回访结果").select_option(label="承诺履行")
    desk.get_by_label("回访情况").fill(OUTCOME)
    snap(desk, "m06-follow-up-filled")
    save.click()
    desk.get_by_text("回访记录已保存").wait_for()
    assert OUTCOME in desk.locator("#performance ul.follow-ups").inner_text()
    snap(desk, "m07-case-with-follow-up")

    # The obligee, on a phone: the text message's link, a code (a party invited by text
    # message has no password), the confirmation; the link opened again says it is done.
    page = phone_page
    missed = last_text_to(app, made["applicant"], "履行期限")
    assert "如已履行，请在此确认" in missed
    path = "/o/" + re.search(r"https?://\S+/o/(\S+)", missed).group(1)
    page.goto(live_server + path)
    send = page.get_by_role("button", name="发送验证码")
    step(page, send, "a01-link")
    send.click()
    page.fill("#code", code_in(last_text_to(app, made["applicant"], "验证码")))
    enter = page.get_by_role("button", name="确认")
    step(page, enter, "a02-code")
    enter.click()
    confirm = page.get_by_role("button", name="确认履行")
    page.get_by_label("已全部履行").check()
    step(page, confirm, "a04-confirm-form")
    assert "电话回访" in page.locator("ul.follow-ups").inner_text()  # she sees the 回访 too
    confirm.click()
    page.get_by_text("履行情况已记录").wait_for()
    status = page.locator("#obligation-1 dd.status")
    assert "已履行" in status.inner_text()
    snap(page, "a05-performed")
    assert page.get_by_role("button", name="确认履行情况").count() == 0
    page.goto(live_server + path)  # the same text message, days later
    page.get_by_text("您无需再操作").wait_for()
    snap(page, "a06-link-again")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
