"""The walk of a delegated dispute the chosen institution declines (SPC online mediation
rules art 12 para 2: "调解组织或者调解员不予接受…人民法院、当事人可以重新指定或者选定"): the
court's system delegates it to one institution; that institution's administrator declines it
from the case page; the applicant, on his phone, learns he may ask the court; the court's
clerk is told by text, finds it first on the portal's delegations page and designates
another institution; that one's administrator gives it to a mediator, who accepts; the
applicant's page names the new institution, and the court's system reads it back.

Set up with operations: the world (court, clerk, API token, two institutions). The court's
system is a machine: it posts JSON. Everyone else uses the buttons the pages show; the
applicant on a 375 px phone."""

from __future__ import annotations

import re

from mediation.accounts.models import CourtLevel, Role
from mediation.court import api as court_api
from mediation.extensions import db
from tests.factories import make_court, make_institution, make_mediator, make_user

from . import delegation_steps
from .test_newcomer_files import WAIT, code_in, log_in, texts_to

APPLICANT, RESPONDENT = "13877773001", "13877773002"
REFERENCE = "（2026）苏0102民诉前调31号"
PHONE = {"viewport": {"width": 375, "height": 740}, "has_touch": True, "is_mobile": True}
LAPTOP = {"viewport": {"width": 1366, "height": 768}}
LINK = re.compile(r"https?://[^/\s]+(/\S+)")


def world(app) -> dict:
    with app.app_context():
        court = make_court(name="南京市玄武区人民法院", level=CourtLevel.basic)
        clerk = make_user(Role.court_clerk, court_id=court.id, real_name="陈书记员")
        first = make_institution(name="玄武区人民调解委员会", region_code="320102")
        first_admin = make_user(Role.institution_admin, institution_id=first.id)
        second = make_institution(name="玄武区物业纠纷人民调解委员会", region_code="320102")
        mediator = make_mediator(second, real_name="周调解")
        made = {
            "token": court_api.new_token(court, "walk"),
            "first": first.id,
            "second": second.id,
            "clerk": clerk.phone,
            "second_clerk": make_user(
                Role.court_clerk, court_id=court.id, real_name="林书记员"
            ).phone,
            "first_admin": first_admin.phone,
            "second_admin": make_user(Role.institution_admin, institution_id=second.id).phone,
            "mediator": mediator.phone,
            "mediator_id": mediator.id,
        }
        db.session.commit()
        return made


def test_the_court_designates_another_institution_after_a_decline(
    app, live_server, browser_factory, step, snap
):
    made = world(app)
    delegation = delegation_steps.delegate(
        live_server,
        made["token"],
        reference=REFERENCE,
        category="neighbourhood",
        title="物业费争议",
        facts="物业公司称业主拖欠物业费两年。",
        applicants=[{"name": "李建国", "phone": APPLICANT, "address": "南京市玄武区1号"}],
        respondents=[{"name": "某物业公司", "phone": RESPONDENT}],
        institution_id=made["first"],
    )
    number = delegation["case_number"]
    browser = browser_factory()

    # -- the applicant enters from his text, on his phone ---------------------------------------
    told = texts_to(app, "+86" + APPLICANT)[-1]
    applicant = browser.new_context(**PHONE).new_page()
    applicant.goto(live_server + LINK.search(told).group(1))
    send = applicant.get_by_role("button", name="发送验证码")
    step(applicant, send, "g01-applicant-link")
    send.click()
    applicant.fill("#code", code_in(texts_to(app, "+86" + APPLICANT)[-1]))
    applicant.get_by_role("button", name="进入", exact=True).click()
    applicant.wait_for_url(re.compile(r".*/cases/\d+$"), timeout=WAIT)
    snap(applicant, "g02-applicant-case")

    # -- the chosen institution's administrator declines it from the case page ---------------
    admin = browser.new_context(**LAPTOP).new_page()
    log_in(admin, live_server, made["first_admin"], step, "g03-first-admin")
    queue = admin.get_by_role("link", name="待分派案件")
    step(admin, queue, "g04-first-admin-menu")
    queue.click()
    card = admin.locator(".queue-case", has_text=number)
    card.wait_for(timeout=WAIT)
    to_case = card.get_by_role("link", name=number)
    step(admin, to_case, "g05-first-admin-queue")
    to_case.click()
    admin.wait_for_url(re.compile(r".*/cases/\d+$"), timeout=WAIT)
    note = admin.locator("#note-decline")
    note.scroll_into_view_if_needed()
    note.fill("本会不受理物业服务合同纠纷。")
    decline = admin.get_by_role("button", name="不予受理")
    snap(admin, "g06-first-admin-declines")
    decline.click()
    admin.locator(".flash").first.wait_for(timeout=WAIT)
    snap(admin, "g07-first-admin-declined")

    # -- the applicant is told he may ask the court -------------------------------------------
    lapsed = texts_to(app, "+86" + APPLICANT)[-1]
    assert "玄武区人民调解委员会" in lapsed and "请求法院另行指定" in lapsed, lapsed

    # -- the clerk, told by text, designates another institution ------------------------------
    (to_clerk,) = texts_to(app, made["clerk"])
    assert REFERENCE in to_clerk and number in to_clerk and "重新指定" in to_clerk, to_clerk
    assert to_clerk.endswith("/court/delegations"), to_clerk  # the link last, alone
    clerk = browser.new_context(**LAPTOP).new_page()
    log_in(clerk, live_server, made["clerk"], step, "g08-clerk")
    # The portal's first page says what waits for the court.
    to_delegations = clerk.get_by_role("link", name="有1件委派调解的纠纷待本院重新指定调解组织")
    step(clerk, to_delegations, "g09-clerk-portal")
    to_delegations.click()
    section = clerk.get_by_role("region", name="重新指定调解组织")
    choose = section.get_by_label("另行指定的调解组织")
    step(clerk, choose, "g10-clerk-delegations")
    said = section.inner_text()
    assert REFERENCE in said and "玄武区人民调解委员会未受理" in said, said
    options = choose.locator("option").all_inner_texts()
    assert "玄武区人民调解委员会" not in options and "玄武区物业纠纷人民调解委员会" in options, (
        options
    )
    # Nothing is chosen for the clerk: "指定" alone is stopped by the page.
    assert choose.input_value() == ""
    section.get_by_role("button", name="指定").click()
    assert choose.evaluate("el => !el.validity.valid") and "/designate" not in clerk.url
    # A second clerk of the court has the same page open meanwhile.
    second = browser.new_context(**LAPTOP).new_page()
    log_in(second, live_server, made["second_clerk"], step, "g10b-second-clerk")
    second.goto(live_server + "/court/delegations")
    second_section = second.get_by_role("region", name="重新指定调解组织")
    second_section.get_by_label("另行指定的调解组织").wait_for(timeout=WAIT)
    choose.select_option(label="玄武区物业纠纷人民调解委员会")
    section.get_by_role("button", name="指定").click()
    done = clerk.locator(".flash-success")
    done.wait_for(timeout=WAIT)
    snap(clerk, "g11-clerk-designated")
    assert "已转由玄武区物业纠纷人民调解委员会" in done.inner_text()
    # The second clerk, on the page as it was, designates too: told who designated which
    # institution and when, not that the first institution has not lapsed; nothing changes.
    second_section.get_by_label("另行指定的调解组织").select_option(
        label="玄武区物业纠纷人民调解委员会"
    )
    second_section.get_by_role("button", name="指定").click()
    told = second.locator(".flash-error")
    told.wait_for(timeout=WAIT)
    snap(second, "g11b-second-clerk-told")
    said = told.inner_text()
    assert said.startswith("陈书记员已于") and "另行指定玄武区物业纠纷人民调解委员会" in said, said
    assert said.endswith("本次操作未作任何更改。"), said
    assert clerk.get_by_role("region", name="重新指定调解组织").count() == 0
    clerk.get_by_role("link", name="法院工作台").first.click()
    clerk.get_by_role("link", name="委派调解").wait_for(timeout=WAIT)
    assert clerk.locator("#to-designate").count() == 0  # nothing waits any longer

    # -- the new institution gives it to a mediator, who accepts ------------------------------
    desk = delegation_steps.give_and_accept(
        browser,
        live_server,
        number,
        admin=made["second_admin"],
        mediator=made["mediator"],
        mediator_id=made["mediator_id"],
        step=step,
        name="g12",
        why="南京市玄武区人民法院委派并选定玄武区物业纠纷人民调解委员会调解",
    )
    assert REFERENCE in desk.locator("#delegated-by").inner_text()

    # -- the applicant's page and texts name the new institution ------------------------------
    assert any("玄武区物业纠纷人民调解委员会" in t for t in texts_to(app, "+86" + APPLICANT))
    applicant.reload()
    timeline = applicant.locator(".timeline")
    timeline.scroll_into_view_if_needed()
    snap(applicant, "g13-applicant-after")
    assert "已重新选定或者指定调解组织" in timeline.inner_text()
    assert "玄武区物业纠纷人民调解委员会" in applicant.locator("main").inner_text()
    assert applicant.evaluate("document.documentElement.scrollWidth") <= 375

    # -- the court's system reads it back -----------------------------------------------------
    back = delegation_steps.read(live_server, made["token"], delegation["id"])
    assert (
        back["institution"] == "玄武区物业纠纷人民调解委员会" and back["choice_lapsed_at"] is None
    )
    assert back["case_status"] == "awaiting_respondent"
