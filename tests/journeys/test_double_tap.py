"""Walk: on a slow phone network every button is pressed twice. A party files a dispute
from a phone (375 px) whose requests take a while, double-tapping "保存并继续" and "提交申请"
as people do when nothing seems to happen; the mediator, at a laptop, double-clicks "受理案件".
Each double tap reaches the server as two requests (counted here), and each is done once:
one case in the party's list, one acceptance in the case's journal, and pages that say
what happened rather than an error.

Nobody types a URL but the home page; every step asserts that the next thing to do is in
the first screen, saves a screenshot and runs axe-core."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from mediation.cases.models import Case, CaseParty
from mediation.extensions import db
from mediation.journal.models import JournalEntry
from tests.factories import make_institution, make_mediator, make_user
from tests.journeys.test_newcomer_files import WAIT, log_in

# What a weak mobile network adds to every request (Chrome DevTools' "Slow 3G" is 400 ms):
# the second tap lands while the first request is still on its way.
LATENCY_MS = 400


def slow_network(page) -> None:
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": LATENCY_MS, "downloadThroughput": -1, "uploadThroughput": -1},
    )


def posts_to(page, pattern: str) -> list[str]:
    """The POST requests the page sends to URLs matching ``pattern``, as they are sent."""
    sent: list[str] = []
    page.on(
        "request",
        lambda request: (
            sent.append(request.url)
            if request.method == "POST" and re.search(pattern, request.url)
            else None
        ),
    )
    return sent


# A person's second tap, when the first seems to do nothing.
SECOND_TAP_MS = 150


def double_tap(page, button) -> None:
    """Two taps ``SECOND_TAP_MS`` apart, timed in the page (whatever the machine's load,
    the first request is still on its way then: ``LATENCY_MS`` each way)."""
    button.evaluate("(b, ms) => { b.click(); setTimeout(() => b.click(), ms); }", SECOND_TAP_MS)


def test_every_button_pressed_twice_on_a_slow_network_acts_once(
    app, live_server, phone_page, staff_page, step
):
    with app.app_context():
        xuanwu = make_institution(name="玄武区人民调解委员会", region_code="320102")
        mediator = make_mediator(xuanwu, real_name="王调解")  # takes neighbourhood disputes
        party = make_user(real_name="孙阿姨")
        db.session.commit()
        party_id, party_phone, mediator_phone = party.id, party.phone, mediator.phone

    # -- the party, on a phone with a weak network ----------------------------------------
    page = phone_page
    slow_network(page)
    log_in(page, live_server, party_phone, step, "01-party")
    file_button = page.get_by_role("button", name="申请调解")
    step(page, file_button, "02-my-cases")
    file_button.click()
    page.locator("#category").wait_for(timeout=WAIT)
    step(page, "#category", "03-dispute")
    page.select_option("#category", "neighbourhood")
    page.fill("#title", "楼上漏水")
    page.fill("#facts", "楼上卫生间漏水，浸坏我家天花板，多次协商未果。")
    page.select_option("#region_code", label="江苏省")
    page.fill("#claims-0-text", "赔偿天花板修理费")
    page.fill("#claims-0-amount", "2000")
    first_step = posts_to(page, r"/cases/new$")
    double_tap(page, page.get_by_role("button", name="保存并继续"))
    # The second tap abandons the first page load (the browser shows the second answer):
    # wait for what the page shows, not for a navigation.
    page.locator("#real_name").wait_for(timeout=WAIT)
    assert page.url.endswith("/intake/respondent"), page.url
    assert len(first_step) == 2, first_step  # both taps went out
    step(page, "#real_name", "04-respondent")
    page.fill("#real_name", "周邻居")
    page.fill("#phone", "13811114444")
    page.get_by_role("button", name="保存并继续").click()
    page.wait_for_url("**/intake/evidence", timeout=WAIT)
    page.get_by_role("button", name="继续", exact=True).click()
    page.wait_for_url("**/intake/submit", timeout=WAIT)
    step(page, "#choice", "05-submit")
    page.fill("#service_address", "南京市玄武区锁金村2号")
    page.check("#service_confirmed")
    page.check("#consent")
    submit = page.get_by_role("button", name="提交申请")
    submitted = posts_to(page, r"/intake/submit$")
    double_tap(page, submit)
    page.locator(".flash").first.wait_for(timeout=WAIT)
    assert re.search(r"/cases/\d+$", page.url), page.url
    assert len(submitted) == 2, submitted
    flash = page.locator(".flash").first
    step(page, flash, "06-submitted")
    # The page the second tap brought says what a single tap's would: submitted, and what
    # comes next.
    said = flash.inner_text()
    assert "已提交" in said and "王调解" in said and "短信" in said, said
    assert page.locator(".flash.error, .flash-error").count() == 0
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, width

    # One case, not two: in the party's list and in the database.
    my_cases = page.get_by_role("link", name="我的案件")
    my_cases.first.click()
    page.get_by_role("link", name="楼上漏水").first.wait_for(timeout=WAIT)
    step(page, page.get_by_role("link", name="楼上漏水").first, "07-one-case")
    assert page.get_by_role("link", name="楼上漏水").count() == 1
    with app.app_context():
        cases = db.session.scalars(
            select(Case).join(CaseParty).where(CaseParty.user_id == party_id)
        ).all()
        assert len(cases) == 1, [(c.id, c.status) for c in cases]
        case_id, case_number = cases[0].id, cases[0].number

    # -- the mediator, at a laptop: "受理案件" double-clicked ---------------------------------
    desk = staff_page
    slow_network(desk)
    log_in(desk, live_server, mediator_phone, step, "08-mediator")
    caseload = desk.get_by_role("link", name="我的办案")
    caseload.first.wait_for(timeout=WAIT)
    if "caseload" not in desk.url:
        caseload.first.click()
    case_link = desk.get_by_role("link", name=case_number)
    step(desk, case_link, "09-caseload")
    case_link.click()
    accept = desk.get_by_role("button", name="受理案件")
    step(desk, accept, "10-case-to-accept")
    accepted = posts_to(desk, r"/steps/accept$")
    double_tap(desk, accept)
    flash = desk.locator(".flash").first
    flash.wait_for(timeout=WAIT)
    assert len(accepted) == 2, accepted
    step(desk, flash, "11-accepted")
    # The answer the browser shows (the second's) says what the first would have said.
    text = flash.inner_text()
    assert "操作成功" in text and "不能" not in text, text
    with app.app_context():
        steps = db.session.scalar(
            select(func.count())
            .select_from(JournalEntry)
            .where(JournalEntry.case_id == case_id, JournalEntry.action == "case.accept")
        )
        assert steps == 1


def test_the_mediator_s_booking_buttons_pressed_twice_act_once(app, live_server, staff_page, step):
    """The mediator, at a laptop on the same slow network, double-clicks 预约或提供时间,
    then 重新发送链接, then 取消调解, then 立即调解: one session booked and its invitations
    sent once, the links sent again once, one cancellation, one session started; each page
    the second click brings says what the first's would have (it used to say "this time
    has just been taken", "already cancelled", "a session is open now", as errors)."""
    from mediation.booking.models import MediationSession
    from mediation.notify.models import OutboxMessage
    from tests.factories import add_weekly_hours, make_mediating_case

    with app.app_context():
        case = make_mediating_case()
        add_weekly_hours(case.mediator)
        db.session.commit()
        case_id, case_number, mediator_phone = case.id, case.number, case.mediator.phone

    def counted(model, *where) -> int:
        with app.app_context():
            return db.session.scalar(select(func.count()).select_from(model).where(*where))

    def shown(name: str, said: str) -> None:
        """The page the second click brought: its first message, a success."""
        flash = desk.locator(".flash").first
        flash.wait_for(timeout=WAIT)
        step(desk, flash, name)
        assert said in flash.inner_text(), flash.inner_text()
        assert desk.locator(".flash-error").count() == 0

    desk = staff_page
    slow_network(desk)
    log_in(desk, live_server, mediator_phone, step, "20-mediator")
    caseload = desk.get_by_role("link", name="我的办案")
    caseload.first.wait_for(timeout=WAIT)
    if "caseload" not in desk.url:
        caseload.first.click()
    desk.get_by_role("link", name=case_number).click()
    book = desk.get_by_role("button", name="预约调解")
    book.wait_for(timeout=WAIT)
    book.click()
    first_time = desk.locator("input[name=times]").first
    first_time.wait_for(timeout=WAIT)
    step(desk, first_time, "21-book")
    first_time.check()
    booked = posts_to(desk, r"/sessions/new$")
    texts = counted(OutboxMessage)
    double_tap(desk, desk.get_by_role("button", name="预约或提供时间"))
    shown("22-booked", "调解已预约")
    assert len(booked) == 2, booked
    assert counted(MediationSession, MediationSession.case_id == case_id) == 1
    invitations = counted(OutboxMessage) - texts
    assert 0 < invitations <= 3  # each party and the mediator at most once

    # 重新发送链接: a double click sends the links once; a click on the page it brings (a
    # link gone to the wrong hands, noticed at once) renews them again, at once.
    renewed = JournalEntry.action == "session.links_renewed"
    resend = desk.get_by_role("button", name="重新发送链接")
    resent = posts_to(desk, r"/resend$")
    texts = counted(OutboxMessage)
    double_tap(desk, resend)
    shown("22c-resent", "已发送新链接")
    assert len(resent) == 2, resent
    assert counted(JournalEntry, JournalEntry.case_id == case_id, renewed) == 1
    assert 0 < counted(OutboxMessage) - texts <= 2  # each party once
    desk.get_by_role("button", name="重新发送链接").click()
    shown("22d-resent-again", "已发送新链接")
    assert counted(JournalEntry, JournalEntry.case_id == case_id, renewed) == 2

    desk.locator("details.inline-details summary", has_text="取消").first.click()
    desk.fill("input[name=reason]", "当事人临时住院")
    cancelled = posts_to(desk, r"/cancel$")
    double_tap(desk, desk.get_by_role("button", name="取消调解"))
    shown("23-cancelled", "调解已取消")
    assert len(cancelled) == 2, cancelled
    cancellations = JournalEntry.action == "session.cancelled"
    assert counted(JournalEntry, JournalEntry.case_id == case_id, cancellations) == 1

    desk.check("#parties_agreed")
    started = posts_to(desk, r"/sessions/now$")
    double_tap(desk, desk.get_by_role("button", name="立即调解"))
    # The second click abandons the first page load: wait for what the page shows.
    desk.locator("#roster").wait_for(timeout=WAIT)
    assert re.search(r"/sessions/\d+/room$", desk.url), desk.url
    assert len(started) == 2, started
    step(desk, "#roster", "24-started")
    starts = JournalEntry.action == "session.started_now"
    assert counted(JournalEntry, JournalEntry.case_id == case_id, starts) == 1
    # Back on the case page: one room to enter, no second session.
    desk.goto(f"{live_server}/cases/{case_id}")
    enter = desk.get_by_role("button", name="进入调解室")
    step(desk, enter, "25-case-after")
    assert enter.count() == 1
    assert counted(MediationSession, MediationSession.case_id == case_id) == 2  # 1 cancelled


def test_get_code_pressed_twice_with_production_pacing_goes_on_to_the_code(
    app, phone_page, step, tmp_path
):
    """A newcomer on the same slow phone network double-taps 发送验证码 on registration's
    first step, with production pacing (one code a minute per number). The second tap used
    to answer, styled as an error on the first step, "a code was sent a moment ago, ask
    again in 60 seconds", and (its own browser secret) could not use the code sent; now
    both taps carry the secret the page was shown with, the page goes on to the code with
    "a message has been sent", one text goes out, and its code opens the account."""
    from mediation.accounts.models import User
    from mediation.notify.models import OutboxMessage
    from tests.browser.conftest import serve
    from tests.factories import valid_id_number

    newcomer = "+8613866665555"
    paced = {"MEDIATION_CODE_INTERVAL_SECONDS": "60"}
    with serve(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path, settings=paced) as server:
        page = phone_page
        slow_network(page)
        page.goto(server)
        register = page.get_by_role("button", name="注册账户")
        register.click()
        page.locator("#phone").wait_for(timeout=WAIT)
        page.fill("#phone", "13866665555")
        send = page.get_by_role("button", name="发送验证码")
        step(page, send, "30-register")
        sent = posts_to(page, r"/register$")
        double_tap(page, send)
        page.locator("#code").wait_for(timeout=WAIT)
        assert page.url.endswith("/register/confirm"), page.url
        assert len(sent) == 2, sent
        flash = page.locator(".flash").first
        step(page, "#code", "31-code-sent")
        said = flash.inner_text()
        assert "发送短信" in said and "秒后" not in said, said
        assert page.locator(".flash-error").count() == 0
        with app.app_context():
            texts = db.session.scalars(
                select(OutboxMessage.body).where(OutboxMessage.recipient == newcomer)
            ).all()
        assert len(texts) == 1, texts
        page.fill("#code", re.search(r"\d{6}", texts[0]).group())
        page.fill("#real_name", "赵新来")
        page.fill("#id_number", valid_id_number(5151))
        page.fill("#password", "a long password")
        page.get_by_role("button", name="注册账户").click()
        page.wait_for_url("**/cases/", timeout=WAIT)
        step(page, ".flash", "32-account-ready")
        with app.app_context():
            assert db.session.scalar(select(User.real_name).where(User.phone == newcomer))
