"""Walk (a) of issue #16: a newcomer on a phone registers and files with the default
assignment, in a category no mediator takes; the case goes at once to the assignment queue
of the institution of its region, whose administrator is told, finds it from the menu and
gives it to a mediator; the mediator accepts it; the applicant sees it accepted and is told
by text message (SPC online mediation rules arts 10 and 12).

Nobody types a URL but the home page; every step asserts that the next thing to do is in
the first screen, saves a screenshot and runs axe-core."""

from __future__ import annotations

import itertools
import re

from sqlalchemy import select

from mediation.accounts.models import Role
from mediation.extensions import db
from mediation.notify.models import OutboxMessage
from tests.factories import PASSWORD, make_institution, make_mediator, make_user, valid_id_number

NEWCOMER = "13877770101"
WAIT = 20_000


def texts_to(app, phone: str) -> list[str]:
    """What the person's phone received (the console gateway keeps it in the outbox)."""
    with app.app_context():
        return list(
            db.session.scalars(
                select(OutboxMessage.body)
                .where(OutboxMessage.recipient == phone)
                .order_by(OutboxMessage.id)
            )
        )


def code_in(text: str) -> str:
    return re.search(r"\d{6}", text).group()


def log_in(page, live_server, phone: str, step, name: str) -> None:
    page.goto(live_server)
    login = page.get_by_role("link", name="登录")
    step(page, login, f"{name}-home")
    login.click()
    page.locator("#identifier").wait_for(timeout=WAIT)
    step(page, "#identifier", f"{name}-login")
    page.fill("#identifier", phone)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state()


def test_a_newcomer_files_and_a_mediator_works_on_it(
    app, live_server, phone_page, staff_page, browser_factory, step
):
    with app.app_context():
        nanjing = make_institution(name="玄武区人民调解委员会", region_code="320102")
        mediator = make_mediator(nanjing, real_name="王调解")  # neighbourhood disputes only
        admin = make_user(Role.institution_admin, institution_id=nanjing.id, real_name="李主任")
        db.session.commit()
        mediator_phone, admin_phone, mediator_id = mediator.phone, admin.phone, mediator.id

    # -- the newcomer, on a phone ----------------------------------------------------------
    page = phone_page
    page.goto(live_server)
    register = page.get_by_role("button", name="注册账户")
    step(page, register, "01-home")
    register.click()
    page.locator("#phone").wait_for(timeout=WAIT)
    step(page, "#phone", "02-register-phone")
    page.fill("#phone", NEWCOMER)
    page.get_by_role("button", name="发送验证码").click()
    page.wait_for_url("**/register/confirm", timeout=WAIT)
    step(page, "#code", "03-register-details")
    page.fill("#code", code_in(texts_to(app, "+86" + NEWCOMER)[-1]))
    page.fill("#real_name", "赵小明")
    page.fill("#id_number", valid_id_number(4343))
    page.fill("#password", "a long password")
    page.get_by_role("button", name="注册账户").click()
    page.wait_for_url("**/cases/", timeout=WAIT)
    file_button = page.get_by_role("button", name="申请调解")
    step(page, file_button, "04-my-cases-empty")

    file_button.click()
    page.locator("#category").wait_for(timeout=WAIT)
    step(page, "#category", "05-dispute")
    # Step labels stand apart on a phone; no agent fields until asked for.
    chips = page.locator(".intake-steps li")
    assert chips.count() == 4
    boxes = [chips.nth(i).bounding_box() for i in range(4)]
    for left, right in itertools.pairwise(boxes):
        same_line = abs(left["y"] - right["y"]) < 4
        assert not same_line or right["x"] >= left["x"] + left["width"] + 4
    assert not page.locator("#principal_name").is_visible()
    # The region is chosen by its name; no code is asked for.
    assert "代码" not in page.locator("label[for=region_code]").inner_text()
    page.select_option("#category", "tenancy")  # 房屋租赁: no mediator takes it
    page.fill("#title", "押金不退")
    page.fill("#facts", "租期届满后房东拒不退还押金三千元。")
    page.select_option("#region_code", label="江苏省")
    page.fill("#claims-0-text", "退还押金")
    page.fill("#claims-0-amount", "3000")
    page.get_by_role("button", name="保存并继续").click()
    page.wait_for_url("**/intake/respondent", timeout=WAIT)
    step(page, "#real_name", "06-respondent")
    page.fill("#real_name", "钱房东")
    page.fill("#phone", "13811113333")
    page.get_by_role("button", name="保存并继续").click()
    page.wait_for_url("**/intake/evidence", timeout=WAIT)
    next_step = page.get_by_role("button", name="继续", exact=True)
    step(page, "#files", "07-evidence")
    next_step.click()
    page.wait_for_url("**/intake/submit", timeout=WAIT)
    step(page, "#choice", "08-submit")
    # The default: the platform chooses. The summary shows what goes out.
    summary = page.locator(".intake-summary").inner_text()
    for expected in ("房屋租赁", "押金不退", "江苏省", "退还押金", "钱房东"):
        assert expected in summary, expected
    page.fill("#service_address", "南京市玄武区锁金村1号")
    page.check("#service_confirmed")
    page.check("#consent")
    page.get_by_role("button", name="提交申请").click()
    page.wait_for_url(re.compile(r".*/cases/\d+$"), timeout=WAIT)
    notice = page.locator("#waiting-for-mediator")
    step(page, notice, "09-filed-waiting")
    flash = page.locator(".flash").first.inner_text()
    # The truth: no mediator yet; the institution of the region will give it to one.
    assert "玄武区人民调解委员会" in flash and "短信" in flash, flash
    assert "调解员将在3个工作日内答复" not in flash
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, width
    case_number = page.locator(".facts dd").first.inner_text()

    # The institution's administrator is told at once.
    told = texts_to(app, admin_phone)
    assert any(case_number in text for text in told), told

    # -- the institution's administrator, at a laptop ---------------------------------------
    staff = staff_page
    log_in(staff, live_server, admin_phone, step, "10-admin")
    queue_link = staff.get_by_role("link", name="待分派案件")
    step(staff, queue_link, "11-admin-menu")
    queue_link.click()
    staff.locator(".queue-case").first.wait_for(timeout=WAIT)
    card = staff.locator(".queue-case", has_text=case_number)
    select = card.locator("select[name=mediator_id]")
    step(staff, select, "12-queue")
    select.select_option(value=str(mediator_id))
    card.get_by_role("button", name="分派给该调解员").click()
    staff.locator(".flash").first.wait_for(timeout=WAIT)
    step(staff, staff.locator(".flash").first, "13-given")
    assert "王调解" in staff.locator(".flash").first.inner_text()
    assert any(case_number in text for text in texts_to(app, mediator_phone))

    # -- the mediator, at another laptop ----------------------------------------------------
    desk = browser_factory().new_context(viewport={"width": 1366, "height": 768}).new_page()
    log_in(desk, live_server, mediator_phone, step, "14-mediator")
    caseload = desk.get_by_role("link", name="我的办案")
    caseload.first.wait_for(timeout=WAIT)
    if "caseload" not in desk.url:
        step(desk, caseload.first, "15-mediator-menu")
        caseload.first.click()
    case_link = desk.get_by_role("link", name=case_number)
    step(desk, case_link, "16-caseload")
    case_link.click()
    accept = desk.get_by_role("button", name="受理案件")
    step(desk, accept, "17-case-to-accept")
    accept.click()
    desk.locator(".flash").first.wait_for(timeout=WAIT)
    step(desk, desk.locator(".flash").first, "18-accepted")

    # -- the applicant: told by text message, and sees it on the phone ------------------------
    last = texts_to(app, "+86" + NEWCOMER)[-1]
    assert "王调解" in last and "受理" in last, last
    my_cases = page.get_by_role("link", name="我的案件")
    page.goto(live_server)  # the home page again, then only links
    step(page, my_cases, "19-applicant-home")
    my_cases.click()
    card_link = page.get_by_role("link", name="押金不退")
    step(page, card_link, "20-my-cases")
    card_link.click()
    page.locator(".facts").wait_for(timeout=WAIT)
    step(page, page.locator(".facts"), "21-accepted")
    facts = page.locator(".facts").inner_text()
    assert "王调解" in facts and "待受理" not in facts, facts
    assert not page.locator("#waiting-for-mediator").count()
