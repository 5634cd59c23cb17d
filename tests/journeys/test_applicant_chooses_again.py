"""The walk of an application whose chosen institution declines it (SPC online mediation
rules art 12 para 2: "调解组织或者调解员不予接受…当事人可以…选定"): the institution's
administrator declines the case from its page; the applicant, told by text, opens the case
on his phone, finds the choice first on the page, tries to submit without choosing, then
chooses another institution; that institution's administrator is told, and the case page
says who has it now.

Set up with operations: two institutions and a case filed choosing the first (intake is
walked in test_newcomer_files). Everyone else uses the buttons the pages show; the applicant
on a 375 px phone."""

from __future__ import annotations

import re

from mediation.accounts.models import Role
from mediation.cases import assignment, workflow
from mediation.cases.states import Action
from mediation.extensions import db
from tests.factories import make_case, make_institution, make_user

from .test_newcomer_files import WAIT, log_in, texts_to

PHONE = {"viewport": {"width": 375, "height": 740}, "has_touch": True, "is_mobile": True}
LAPTOP = {"viewport": {"width": 1366, "height": 768}}


def world(app) -> dict:
    with app.app_context():
        first = make_institution(name="锁金村街道人民调解委员会", region_code="320102")
        second = make_institution(name="玄武区人民调解委员会", region_code="320102")
        applicant = make_user(real_name="赵小明")
        case = make_case(applicant, make_user(real_name="钱房东"), submit=False)
        workflow.transition(case, Action.submit, by=applicant)
        case.institution = first
        assignment.queue(case, by=applicant, how="chosen")
        made = {
            "number": case.number,
            "title": case.title,
            "applicant": applicant.phone,
            "first_admin": make_user(Role.institution_admin, institution_id=first.id).phone,
            "second_admin": make_user(Role.institution_admin, institution_id=second.id).phone,
        }
        db.session.commit()
        return made


def test_the_applicant_chooses_another_institution_after_a_decline(
    app, live_server, browser_factory, step, snap
):
    made = world(app)
    number = made["number"]
    browser = browser_factory()

    # -- the chosen institution's administrator declines it from the case page ---------------
    admin = browser.new_context(**LAPTOP).new_page()
    log_in(admin, live_server, made["first_admin"], step, "h01-first-admin")
    admin.get_by_role("link", name="待分派案件").click()
    card = admin.locator(".queue-case", has_text=number)
    card.wait_for(timeout=WAIT)
    card.get_by_role("link", name=number).click()
    admin.wait_for_url(re.compile(r".*/cases/\d+$"), timeout=WAIT)
    admin.locator("#note-decline").fill("本会仅调解本街道辖区内的纠纷。")
    admin.get_by_role("button", name="不予受理").click()
    admin.locator(".flash").first.wait_for(timeout=WAIT)
    snap(admin, "h02-first-admin-declined")

    # -- the applicant, told by text, chooses another on his phone ---------------------------
    told = texts_to(app, made["applicant"])[-1]
    assert "锁金村街道人民调解委员会" in told and "另选调解组织" in told, told
    phone = browser.new_context(**PHONE).new_page()
    log_in(phone, live_server, made["applicant"], step, "h03-applicant")
    phone.wait_for_load_state()
    case_link = phone.get_by_role("link", name=made["title"])
    if not case_link.count():
        phone.get_by_role("link", name="我的案件").first.click()
    step(phone, case_link, "h04-applicant-cases")
    case_link.click()
    phone.wait_for_url(re.compile(r".*/cases/\d+$"), timeout=WAIT)
    choose = phone.get_by_label("调解机构", exact=True)
    step(phone, choose, "h05-applicant-case")
    section = phone.locator("#choose-again")
    assert "锁金村街道人民调解委员会" in section.inner_text()
    # The waiting notice ("it gives the case to one of its mediators") is not shown beside.
    assert phone.locator("#waiting-for-mediator").count() == 0
    options = choose.locator("option").all_inner_texts()
    assert "锁金村街道人民调解委员会" not in options and "玄武区人民调解委员会" in options, options
    submit = section.get_by_role("button", name="选定该调解组织")
    # Nothing is chosen for him: the button alone is stopped by the page.
    assert choose.input_value() == ""
    submit.click()
    assert choose.evaluate("el => !el.validity.valid") and "/choose-again" not in phone.url
    choose.select_option(label="玄武区人民调解委员会")
    submit.click()
    phone.locator(".flash-success").wait_for(timeout=WAIT)
    waiting = phone.locator("#waiting-for-mediator")
    step(phone, waiting, "h06-applicant-chosen")
    assert "玄武区人民调解委员会" in waiting.inner_text()
    assert phone.locator("#choose-again").count() == 0
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375

    # -- the institution chosen now is told ---------------------------------------------------
    (queued,) = texts_to(app, made["second_admin"])
    assert number in queued and "申请人选择由玄武区人民调解委员会调解" in queued, queued
    assert any(
        "玄武区人民调解委员会" in t and "决定是否受理" in t
        for t in texts_to(app, made["applicant"])
    )
