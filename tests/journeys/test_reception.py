"""A reception talk booked on a phone by someone without an account, held by a mediator,
recorded and turned into a case the party then finds (issue #21, item 2)."""

from __future__ import annotations

import re
from datetime import time

from sqlalchemy import select

from mediation.booking.availability import add_rule
from mediation.cases.models import Case
from mediation.extensions import db
from tests.factories import make_institution, make_mediator
from tests.journeys.conftest import log_in
from tests.journeys.test_register_and_agency import code_in, last_text_to

PARTY = "13877770051"
SUBJECT = "公司拖欠三个月工资"
NOTES = "申请人在某电子厂工作，工厂拖欠三个月工资共一万二千元，已口头催要两次。"


def test_a_party_books_a_reception_talk_the_host_files_a_case(
    app, live_server, phone_page, staff_page, step, snap
):
    with app.app_context():
        host = make_mediator(make_institution(region_code="420102"), real_name="陈调解员")
        # Public reception every day (the slot dates then follow the clock, whatever today
        # is): the page shows the next two weeks.
        for weekday in range(7):
            add_rule(host.id, weekday, time(8), time(20), reception=True, place="社区服务中心二楼")
        host_phone = host.phone
        db.session.commit()

    # The party, on a phone, from the home page to the reception days.
    page = phone_page
    page.goto(live_server)
    reception = page.get_by_role("link", name="接待日", exact=True)
    step(page, reception, "r01-home")
    reception.click()
    book = page.get_by_role("button", name="预约与陈调解员面谈").first
    step(page, book, "r02-reception-days")
    book.click()
    # No account: the number is proven by a code, then back to the booking.
    page.wait_for_url("**/consultation/start**")
    send = page.get_by_role("button", name="发送验证码")
    page.fill("#phone", PARTY)
    step(page, send, "r03-phone")
    send.click()
    page.fill("#code", code_in(last_text_to(app, PARTY)))
    page.fill("#real_name", "王小明")
    page.get_by_role("button", name="继续").click()
    page.wait_for_url(re.compile(r".*/reception/hosts/\d+/book$"))
    first_time = page.locator("input[name=slot]").first
    step(page, first_time, "r04-choose-time")
    first_time.check()
    page.fill("#subject", SUBJECT)
    snap(page, "r05-filled")
    page.get_by_role("button", name="预约这个时间").click()
    page.wait_for_url(re.compile(r".*/reception/\d+$"))
    step(page, page.get_by_text("面谈已预约").first, "r06-booked")
    assert "社区服务中心二楼" in last_text_to(app, PARTY)

    # The mediator, at a desk: the day's list, the talk, the record, the case.
    desk = staff_page
    log_in(desk, step, live_server, host_phone, "host")
    desk.get_by_role("link", name="接待名单").click()
    talk = desk.get_by_role("link", name=SUBJECT)
    step(desk, talk, "h03-day-list")
    talk.click()
    desk.fill("#notes", NOTES)
    desk.select_option("#category", "labour")
    file_case = desk.get_by_role("button", name="保存并为当事人立案")
    snap(desk, "h04-record")
    file_case.click()
    step(desk, desk.get_by_text("已为当事人起草案件").first, "h05-case-filed")
    assert "起草" in last_text_to(app, PARTY)

    # The party finds the case drafted for them.
    page.reload()
    check = page.get_by_role("button", name="核对并提交为您起草的申请")
    step(page, check, "r07-case-drafted")
    check.click()
    page.wait_for_url("**/intake/dispute")
    step(page, "#title", "r08-the-case")
    assert page.input_value("#title") == SUBJECT
    with app.app_context():
        case = db.session.scalar(select(Case))
        assert case.status == "draft" and "一万二千元" in case.facts
