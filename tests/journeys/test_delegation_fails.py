"""Issue #20's walk of a court-delegated dispute that fails: the court's system delegates it
through the court API; the institution's administrator gives it to a mediator, who accepts;
the applicant follows it from the link in his text message; the respondent, on his phone,
refuses mediation; the mediator writes the art 21 record; the court's clerk finds the
delegation failed in the portal and downloads the record (SPC online mediation rules arts
11-15, 21, 25 (4)).

Set up with operations: the world (court, clerk, its API token, institution, administrator,
mediator). The court's system is a machine: it posts JSON. Everyone else uses the buttons
the pages show; parties on 375 px phones."""

from __future__ import annotations

import re

from mediation.accounts.models import CourtLevel, Role
from mediation.court import api as court_api
from mediation.extensions import db
from tests.core.test_no_english import pdf_text
from tests.factories import make_court, make_institution, make_mediator, make_user

from . import delegation_steps
from .test_newcomer_files import WAIT, code_in, log_in, texts_to

APPLICANT, RESPONDENT = "13877772001", "13877772002"
REFERENCE = "（2026）苏0102民诉前调21号"
PHONE = {"viewport": {"width": 375, "height": 740}, "has_touch": True, "is_mobile": True}
LAPTOP = {"viewport": {"width": 1366, "height": 768}}


def world(app) -> dict:
    with app.app_context():
        court = make_court(name="南京市玄武区人民法院", level=CourtLevel.basic)
        clerk = make_user(Role.court_clerk, court_id=court.id, real_name="陈书记员")
        institution = make_institution(name="玄武区人民调解委员会", region_code="320102")
        mediator = make_mediator(institution, real_name="王调解")
        admin = make_user(Role.institution_admin, institution_id=institution.id)
        made = {
            "token": court_api.new_token(court, "walk"),
            "institution": institution.id,
            "clerk": clerk.phone,
            "admin": admin.phone,
            "mediator": mediator.phone,
            "mediator_id": mediator.id,
        }
        db.session.commit()
        return made


def delegate(live_server: str, made: dict) -> dict:
    return delegation_steps.delegate(
        live_server,
        made["token"],
        reference=REFERENCE,
        category="neighbourhood",
        title="楼上漏水致损",
        facts="楼上卫生间漏水，浸坏楼下吊顶。",
        applicants=[{"name": "李建国", "phone": APPLICANT, "address": "南京市玄武区1号"}],
        respondents=[{"name": "王小明", "phone": RESPONDENT}],
        claims=[{"text": "赔偿修复费用", "amount": "8000.00"}],
        institution_id=made["institution"],
    )


def test_a_delegated_dispute_fails_and_the_court_takes_back_the_record(
    app, live_server, browser_factory, step, snap, tmp_path
):
    made = world(app)
    delegation = delegate(live_server, made)
    number = delegation["case_number"]
    browser = browser_factory()

    # -- the applicant: told by text, follows it on his phone --------------------------------
    told = texts_to(app, "+86" + APPLICANT)[-1]
    assert "南京市玄武区人民法院" in told and REFERENCE in told, told
    assert told.count(REFERENCE) == 1 and "（（" not in told, told  # bracketed once
    # The institution's administrator learns that the court chose it (art 11).
    queued = texts_to(app, made["admin"])[0]
    assert "南京市玄武区人民法院已将案件" in queued and "尚无调解员" not in queued, queued
    applicant = browser.new_context(**PHONE).new_page()
    applicant.goto(live_server + re.search(r"https?://[^/\s]+(/\S+)", told).group(1))
    send = applicant.get_by_role("button", name="发送验证码")
    step(applicant, send, "d01-applicant-link")
    send.click()
    applicant.fill("#code", code_in(texts_to(app, "+86" + APPLICANT)[-1]))
    enter = applicant.get_by_role("button", name="进入", exact=True)
    step(applicant, enter, "d02-applicant-code")
    enter.click()
    applicant.wait_for_url(re.compile(r".*/cases/\d+$"), timeout=WAIT)
    delegated = applicant.locator("#delegated-by")
    snap(applicant, "d03-applicant-case")
    assert "南京市玄武区人民法院" in delegated.inner_text()
    assert applicant.evaluate("document.documentElement.scrollWidth") <= 375
    # He may withdraw (art 25 (2)), but nothing is chosen for him and it asks to confirm.
    reason = applicant.locator("#reason-terminate")
    reason.scroll_into_view_if_needed()
    snap(applicant, "d03b-applicant-may-withdraw")
    assert reason.input_value() == "" and "请选择" in reason.locator("option").first.inner_text()
    assert applicant.locator("#confirm-terminate").get_attribute("required") is not None
    applicant.get_by_role("button", name="终结调解").click()  # not ticked: the page says no
    assert applicant.locator("#reason-terminate").evaluate("el => !el.validity.valid")
    assert "/steps/" not in applicant.url

    # -- the institution's administrator gives it to a mediator, who accepts ----------------
    desk = delegation_steps.give_and_accept(
        browser,
        live_server,
        number,
        admin=made["admin"],
        mediator=made["mediator"],
        mediator_id=made["mediator_id"],
        step=step,
        name="d04",
        why="南京市玄武区人民法院委派并选定玄武区人民调解委员会调解",
    )
    assert REFERENCE in desk.locator("#delegated-by").inner_text()

    # -- the respondent refuses, on his phone --------------------------------------------------
    asked = texts_to(app, "+86" + RESPONDENT)[-1]
    assert number in asked, asked
    phone = browser.new_context(**PHONE).new_page()
    phone.goto(live_server + re.search(r"https?://[^/\s]+(/\S+)", asked).group(1))
    phone.get_by_role("button", name="发送验证码").click()
    phone.fill("#code", code_in(texts_to(app, "+86" + RESPONDENT)[-1]))
    phone.get_by_role("button", name="进入", exact=True).click()
    phone.wait_for_url(re.compile(r".*/cases/\d+$"), timeout=WAIT)
    refuse = phone.get_by_role("button", name="我不同意调解")
    # Yes or no only: no second form that ends mediation in one tap (PML art 17, art 15).
    assert phone.get_by_role("button", name="我同意调解").count() == 1
    assert phone.get_by_role("button", name="终结调解").count() == 0
    assert phone.locator("#reason-terminate").count() == 0
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    phone.fill("#refuse-note", "不同意调解，直接起诉。")
    # A refusal ends mediation at once: ticked first, not a stray tap.
    phone.get_by_label("我确认不同意调解，调解随即终结，不可撤销。").check()
    refuse.scroll_into_view_if_needed()
    snap(phone, "d10-respondent-refuses")
    refuse.click()
    phone.wait_for_url(re.compile(r".*/cases/\d+$"), timeout=WAIT)
    snap(phone, "d11-refused")

    # -- the mediator writes the art 21 record -------------------------------------------------
    desk.reload()
    situation = desk.locator("#situation")
    situation.scroll_into_view_if_needed()
    snap(desk, "d12-failure-form")
    situation.fill("被申请人明确表示不同意调解。")
    desk.fill("#reasons", "被申请人拒绝调解。")
    desk.get_by_role("button", name="保存记录").click()
    desk.wait_for_load_state()
    snap(desk, "d13-record-saved")

    # -- the clerk finds it failed and downloads the record ------------------------------------
    clerk = browser.new_context(**LAPTOP, accept_downloads=True).new_page()
    log_in(clerk, live_server, made["clerk"], step, "d14-clerk")
    to_delegations = clerk.get_by_role("link", name="委派调解")
    step(clerk, to_delegations, "d15-portal")
    to_delegations.click()
    record = clerk.get_by_role("link", name="调解不成记录（PDF）")
    step(clerk, record, "d16-delegations")
    assert "调解不成" in clerk.locator("table").inner_text()
    with clerk.expect_download() as download:
        record.click()
    path = tmp_path / "record.pdf"
    download.value.save_as(path)
    text = pdf_text(path.read_bytes(), tmp_path)
    assert number in text and "被申请人拒绝调解" in text, text

    # -- the clerk delegates the next dispute from the portal's form --------------------------
    clerk.fill("#reference", "（2026）苏0102民诉前调22号")
    clerk.select_option("#category", "neighbourhood")
    clerk.fill("#title", "邻居装修噪音")
    clerk.fill("#applicant_name", "赵一")
    clerk.fill("#applicant_phone", "13877772003")
    clerk.fill("#respondent_name", "钱二")
    clerk.fill("#respondent_phone", "13877772004")
    clerk.fill("#days", "0")
    clerk.select_option("#institution_id", str(made["institution"]))
    clerk.get_by_role("button", name="委派调解").click()
    days = clerk.locator("#days")
    days.wait_for(timeout=WAIT)
    days.scroll_into_view_if_needed()
    snap(clerk, "d17-clerk-days-0")
    form = clerk.locator("main").inner_text()
    assert "1 到 90" in form and "此项为必填项" not in form, form
    days.fill("30")
    clerk.get_by_role("button", name="委派调解").click()
    done = clerk.locator(".flash-success")
    done.wait_for(timeout=WAIT)
    snap(clerk, "d18-clerk-delegated")
    said = done.inner_text()
    assert "已委派调解：法院案号（2026）苏0102民诉前调22号" in said, said
    assert "由玄武区人民调解委员会调解" in said, said
