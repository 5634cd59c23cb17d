"""The walks of an application whose chosen institution or mediator declines it (SPC online
mediation rules art 12 para 2: "调解组织或者调解员不予接受…当事人可以…选定").

The institution: its administrator declines the case from its page; the applicant, told by
text, opens the case on his phone, finds the choice first on the page, tries to submit
without choosing, then chooses another institution; that institution's administrator is
told, and the case page says who has it now.

The mediator chosen by name: they decline from the case page; the platform gives the case
to a colleague meanwhile; the applicant, told by text, chooses a mediator of another
institution instead; the colleague is told they need not answer, and the new mediator
accepts from their caseload.

Set up with operations: institutions, mediators and a case filed with its choice (intake is
walked in test_newcomer_files). Everyone else uses the buttons the pages show; the applicant
on a 375 px phone."""

from __future__ import annotations

import re

from mediation.accounts.models import Role
from mediation.cases import assignment, workflow
from mediation.cases.states import Action
from mediation.extensions import db
from tests.factories import make_case, make_institution, make_mediator, make_user

from .test_newcomer_files import WAIT, log_in, texts_to

PHONE = {"viewport": {"width": 375, "height": 740}, "has_touch": True, "is_mobile": True}
LAPTOP = {"viewport": {"width": 1366, "height": 768}}


def open_case(page, name: str, menu: str, step, shot: str) -> None:
    """From the first page after logging in: the case's link there, or in ``menu``."""
    case_link = page.get_by_role("link", name=name)
    if not case_link.count():
        page.get_by_role("link", name=menu).first.click()
    step(page, case_link, shot)
    case_link.click()
    page.wait_for_url(re.compile(r".*/cases/\d+$"), timeout=WAIT)


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
    open_case(phone, made["title"], "我的案件", step, "h04-applicant-cases")
    section = phone.locator("#choose-again")
    choose = section.get_by_label("由谁调解")
    step(phone, choose, "h05-applicant-case")
    assert "锁金村街道人民调解委员会" in section.inner_text()
    # The waiting notice ("it gives the case to one of its mediators") is not shown beside.
    assert phone.locator("#waiting-for-mediator").count() == 0
    options = choose.locator("option").all_inner_texts()
    assert "调解机构：锁金村街道人民调解委员会" not in options, options
    assert "调解机构：玄武区人民调解委员会" in options, options
    submit = section.get_by_role("button", name="确定选择")
    # Nothing is chosen for him: the button alone is stopped by the page.
    assert choose.input_value() == ""
    submit.click()
    assert choose.evaluate("el => !el.validity.valid") and "/choose-again" not in phone.url
    choose.select_option(label="调解机构：玄武区人民调解委员会")
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


def mediator_world(app) -> dict:
    with app.app_context():
        first = make_institution(name="锁金村街道人民调解委员会", region_code="320102")
        second = make_institution(name="玄武区人民调解委员会", region_code="320102")
        chosen = make_mediator(first, real_name="孙明德")
        colleague = make_mediator(first, real_name="李桂兰")
        other = make_mediator(second, real_name="周建国")
        applicant = make_user(real_name="赵小明")
        case = make_case(applicant, make_user(real_name="钱房东"))
        assignment.assign(case, institution=first, mediator=chosen, how="chosen", by=applicant)
        made = {
            "number": case.number,
            "title": case.title,
            "applicant": applicant.phone,
            "chosen": chosen.phone,
            "colleague": colleague.phone,
            "other": other.phone,
        }
        db.session.commit()
        return made


def test_the_applicant_chooses_another_mediator_after_the_one_chosen_declines(
    app, live_server, browser_factory, step, snap
):
    made = mediator_world(app)
    number = made["number"]
    browser = browser_factory()

    # -- the mediator the applicant chose declines it from the case page ---------------------
    desk = browser.new_context(**LAPTOP).new_page()
    log_in(desk, live_server, made["chosen"], step, "m01-chosen")
    open_case(desk, number, "我的办案", step, "m02-chosen-caseload")
    desk.locator("#note-decline").fill("本人近期需回避，无法办理。")
    desk.get_by_role("button", name="不予受理").click()
    done = desk.locator(".flash-success")
    done.wait_for(timeout=WAIT)
    snap(desk, "m03-chosen-declined")
    # Given at once to a colleague: the case is not theirs to see any more, and they are
    # told so on their own first page, not shown "page not found" under "done".
    assert "不再由您办理" in done.inner_text()
    assert "页面不存在" not in desk.locator("main").inner_text()

    # -- the applicant, told by text, chooses a mediator of another institution --------------
    told = texts_to(app, made["applicant"])
    lapsed = [t for t in told if "另选调解员" in t]
    assert len(lapsed) == 1 and "孙明德" in lapsed[0] and number in lapsed[0], told
    assert any("李桂兰" in t for t in told), told  # given meanwhile to a colleague
    phone = browser.new_context(**PHONE).new_page()
    log_in(phone, live_server, made["applicant"], step, "m04-applicant")
    phone.wait_for_load_state()
    open_case(phone, made["title"], "我的案件", step, "m04-applicant-cases")
    section = phone.locator("#choose-again")
    choose = section.get_by_label("由谁调解")
    step(phone, choose, "m05-applicant-case")
    said = section.inner_text()
    assert "您选定的调解员孙明德未受理" in said and "李桂兰" in said, said
    options = choose.locator("option").all_inner_texts()
    assert "调解员周建国（玄武区人民调解委员会）" in options, options
    assert not [o for o in options if "孙明德" in o or "李桂兰" in o], options
    # The institution itself did not refuse: it may be chosen (its administrators give it).
    assert "调解机构：锁金村街道人民调解委员会" in options, options
    assert choose.input_value() == ""
    choose.select_option(label="调解员周建国（玄武区人民调解委员会）")
    section.get_by_role("button", name="确定选择").click()
    phone.locator(".flash-success").wait_for(timeout=WAIT)
    snap(phone, "m06-applicant-chosen")
    assert phone.locator("#choose-again").count() == 0
    assert "周建国" in phone.locator("main").inner_text()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    assert any("周建国" in t and "个工作日内" in t for t in texts_to(app, made["applicant"]))

    # -- the colleague need not answer; the mediator chosen now accepts ----------------------
    assert any("无需答复" in t and number in t for t in texts_to(app, made["colleague"]))
    new = browser.new_context(**LAPTOP).new_page()
    log_in(new, live_server, made["other"], step, "m07-other")
    open_case(new, number, "我的办案", step, "m08-other-caseload")
    accept = new.get_by_role("button", name="受理案件")
    step(new, accept, "m09-other-to-accept")
    accept.click()
    new.locator(".flash-success").wait_for(timeout=WAIT)
    snap(new, "m10-other-accepted")
