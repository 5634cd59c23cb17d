"""Walk (b) of issue #16, starting as issue #20's court-delegated dispute: the court's
system delegates the dispute through the court API, the institution's administrator gives
it to a mediator, who accepts; the invited respondent opens the link in his text message,
agrees to mediation and gives his identity on a phone; the mediator confirms it; both
parties apply jointly to the delegating court (CPL art 205 (1)), whose clerk accepts and
whose judge confirms the agreement; the court's system reads the delegation back as ended
in an agreement.

Set up with operations, not the pages (their own walks are issue #16's other parts): the
world (institution, mediator, its administrator, court, clerk, judge, the applicant's
account). The video session itself is walk (c): the mediator confirms both parties'
identity cards as seen on camera, drafts the agreement and asks everyone to sign, and each
signs from the link in their text message. Everything is done with the buttons the pages
show.
"""

from __future__ import annotations

import re

from sqlalchemy import select

from mediation.accounts.models import CourtLevel, Role, User
from mediation.agreements import operations as agreements
from mediation.agreements.models import Agreement
from mediation.cases.models import Case
from mediation.court import api as court_api
from mediation.court.application import open_application
from mediation.extensions import db
from mediation.notify.models import OutboxMessage
from tests.browser.conftest import serve
from tests.factories import (
    PASSWORD,
    make_court,
    make_institution,
    make_mediator,
    make_user,
    valid_id_number,
)

from . import delegation_steps, signing_steps

RESPONDENT = "13877770375"
RESPONDENT_ID = valid_id_number(375)
# Phones and laptops at twice the density, as most are (and as the signing helpers expect).
PHONE = {"viewport": {"width": 375, "height": 740}, "has_touch": True, "device_scale_factor": 2}
LAPTOP = {"viewport": {"width": 1366, "height": 768}, "device_scale_factor": 2}


def last_text_to(app, phone: str) -> str:
    with app.app_context():
        return db.session.scalars(
            select(OutboxMessage.body)
            .where(OutboxMessage.recipient == phone)
            .order_by(OutboxMessage.id.desc())
        ).first()


def code_in(text: str) -> str:
    return re.search(r"\d{6}", text).group()


def link_in(text: str, live_server: str) -> str:
    """The link of a text message, on the server under test."""
    path = re.search(r"https?://[^/\s]+(/\S+)", text).group(1)
    return live_server + path


def world(app) -> dict:
    with app.app_context():
        institution = make_institution(region_code="320102")
        mediator = make_mediator(institution, real_name="王调解")
        admin = make_user(Role.institution_admin, institution_id=institution.id, real_name="赵主任")
        court = make_court(
            name="南京市玄武区人民法院", level=CourtLevel.basic, region_code="320102"
        )
        clerk = make_user(Role.court_clerk, court_id=court.id, real_name="陈书记员")
        judge = make_user(Role.judge, court_id=court.id, real_name="周法官")
        applicant = make_user(real_name="张三")  # his ID number given, not yet confirmed
        token = court_api.new_token(court, "walk")
        db.session.commit()
        return {
            "token": token,
            "institution": institution.id,
            "mediator": mediator.phone,
            "mediator_id": mediator.id,
            "admin": admin.phone,
            "clerk": clerk.phone,
            "judge": judge.phone,
            "applicant": applicant.phone,
        }


def delegated(app, made: dict, live_server: str, browser, step) -> None:
    """The court's system delegates; the case is given to the mediator, who accepts it."""
    delegation = delegation_steps.delegate(
        live_server,
        made["token"],
        reference="（2026）苏0102民诉前调3号",
        category="neighbourhood",
        title="漏水纠纷",
        applicants=[
            {"name": "张三", "phone": made["applicant"][3:], "address": "南京市玄武区中山路1号"}
        ],
        respondents=[{"name": "李四", "phone": RESPONDENT}],
        institution_id=made["institution"],
    )
    made["delegation"], made["number"] = delegation["id"], delegation["case_number"]
    with app.app_context():
        made["case"] = db.session.scalar(select(Case.id).where(Case.number == made["number"]))
    desk = delegation_steps.give_and_accept(
        browser,
        live_server,
        made["number"],
        admin=made["admin"],
        mediator=made["mediator"],
        mediator_id=made["mediator_id"],
        step=step,
        name="b00",
    )
    desk.context.close()


def signing_link(app, live_server: str, phone: str) -> str:
    """The personal link to the agreement's signing page in the person's text message."""
    return live_server + signing_steps.link_in(signing_steps.last_text_to(app, phone, "/a/"))


def log_in(page, live_server: str, phone: str) -> None:
    page.goto(live_server)
    page.get_by_role("link", name="登录").first.click()
    page.fill("input[name=identifier]", phone)
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(lambda url: "/login" not in url)


def test_the_invited_respondent_reaches_the_courts_acceptance(
    app, browser_factory, step, snap, tmp_path
):
    made = world(app)
    shared = {
        "MEDIATION_STORAGE_DIR": app.config["STORAGE_DIR"],
        "MEDIATION_PKI_DIR": app.config["PKI_DIR"],
    }
    with serve(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path, settings=shared) as live_server:
        delegated(app, made, live_server, browser_factory(), step)
        walk(app, made, live_server, browser_factory, step, snap)
        rule(app, made, live_server, browser_factory, step, snap)


def walk(app, made, live_server, browser_factory, step, snap):
    browser = browser_factory()
    # -- 1. the respondent's phone: the link in his text message --------------------------
    phone = browser.new_context(**PHONE).new_page()
    invitation = last_text_to(app, "+86" + RESPONDENT)
    assert made["number"] in invitation
    phone.goto(link_in(invitation, live_server))
    send = phone.get_by_role("button", name="发送验证码")
    step(phone, send, "b01-invitation-link")
    send.click()
    phone.fill("#code", code_in(last_text_to(app, "+86" + RESPONDENT)))
    enter = phone.get_by_role("button", name="进入", exact=True)
    step(phone, enter, "b02-code-entered")
    enter.click()
    phone.wait_for_url(re.compile(r".*/cases/\d+$"))
    # -- 2. he agrees, with an address for documents and his identity ---------------------
    address = phone.locator("#service_address")
    step(phone, address, "b03-asked-to-answer")
    address.fill("南京市玄武区北京东路41号")
    phone.check("#service_confirmed")
    phone.check("#consent")
    phone.fill("#id_number", RESPONDENT_ID)
    phone.select_option("#ethnicity", label="回族")
    agree = phone.get_by_role("button", name="我同意调解")
    agree.scroll_into_view_if_needed()
    snap(phone, "b04-answer-filled")
    agree.click()
    phone.wait_for_url(re.compile(r".*/cases/\d+$"))
    snap(phone, "b05-answered")
    with app.app_context():
        him = db.session.scalar(select(User).where(User.phone == "+86" + RESPONDENT))
        assert him.id_number == RESPONDENT_ID and him.ethnicity == "03"
        assert him.id_confirmed_at is None  # a claim until the mediator sees the card

    # -- 3. the mediator confirms both parties' identity from the cards shown on camera ----
    staff = browser.new_context(**LAPTOP).new_page()
    log_in(staff, live_server, made["mediator"])
    case_link = staff.get_by_role("link", name=made["number"])
    step(staff, case_link, "b06-mediator-caseload")
    case_link.click()
    staff.wait_for_url(re.compile(r".*/cases/\d+$"))
    him = staff.locator("li", has_text="李四")
    open_step = him.locator("summary")
    step(staff, open_step, "b07-mediator-case-page")
    open_step.click()
    # The step opens in place: what the mediator does next is to tick that the card matches
    # (the save button follows it in the same small form).
    matches = him.get_by_role("switch")
    step(staff, matches, "b08-identity-step")
    matches.check()
    him.get_by_role("button", name="保存身份信息").click()
    staff.wait_for_url(re.compile(r".*/cases/\d+$"))
    assert "身份已核实" in staff.content()
    snap(staff, "b09-identity-confirmed")
    # The applicant's card, the same way: his ID number is on record, a claim until seen.
    first = staff.locator("li", has_text="张三").filter(has=staff.locator("summary"))
    open_step = first.locator("summary")
    step(staff, open_step, "b09a-applicant-identity")
    open_step.click()
    matches = first.get_by_role("switch")
    step(staff, matches, "b09b-applicant-identity-step")
    matches.check()
    first.get_by_label("民族").select_option(label="汉族")  # from the card, like his
    first.get_by_role("button", name="保存身份信息").click()
    staff.wait_for_url(re.compile(r".*/cases/\d+$"))
    snap(staff, "b09c-both-confirmed")
    with app.app_context():
        him = db.session.scalar(select(User).where(User.phone == "+86" + RESPONDENT))
        assert him.id_confirmed_at is not None and him.ethnicity == "03"
        applicant = db.session.scalar(select(User).where(User.phone == made["applicant"]))
        assert applicant.id_confirmed_at is not None and applicant.ethnicity == "01"
        db.session.remove()

    # -- 4. the mediator drafts the agreement and asks everyone to sign -------------------
    # (from the case page's top panel, as at the end of a session)
    signing_steps.draft_from_case_page(staff, step, snap, "b-agr")
    with app.app_context():
        case = db.session.get(Case, made["case"])
        agreement = db.session.scalar(select(Agreement).where(Agreement.case_id == case.id))
        assert agreements.concerns(agreement) == []  # both identities there, confirmed
        db.session.remove()
    # The applicant, on his phone, from the link in his text message.
    signer = browser.new_context(**PHONE).new_page()
    signing_steps.enter_from_text(signer, app, step, live_server, made["applicant"], "b-agr-1")
    signing_steps.sign_here(signer, app, step, made["applicant"], "b-agr-1", touch=True)
    # The respondent: his phone is still logged in since he answered, the link goes straight
    # to the signing page.
    phone.goto(
        live_server
        + signing_steps.link_in(signing_steps.last_text_to(app, "+86" + RESPONDENT, "/a/"))
    )
    phone.wait_for_url(re.compile(r"/agreement/sign$"), timeout=signing_steps.WAIT_MS)
    signing_steps.sign_here(phone, app, step, "+86" + RESPONDENT, "b-agr-2", touch=True)
    # The mediator, from the text too, on the laptop where they are logged in.
    staff.goto(
        live_server
        + signing_steps.link_in(signing_steps.last_text_to(app, made["mediator"], "/a/"))
    )
    staff.wait_for_url(re.compile(r"/agreement/sign$"), timeout=signing_steps.WAIT_MS)
    signing_steps.sign_here(staff, app, step, made["mediator"], "b-agr-3", touch=False)
    # The institution's administrator seals (People's Mediation Law art 29: the seal).
    admin = browser.new_context(**LAPTOP).new_page()
    admin.goto(
        live_server + signing_steps.link_in(signing_steps.last_text_to(app, made["admin"], "/a/"))
    )
    step(admin, "main form button[type=submit]", "b-agr-4-0-login")
    signing_steps.log_in(admin, lambda *a: None, made["admin"], "")
    admin.wait_for_url(re.compile(r"/agreement/sign$"), timeout=signing_steps.WAIT_MS)
    signing_steps.sign_here(admin, app, step, made["admin"], "b-agr-4", touch=None)
    with app.app_context():
        agreement = db.session.scalar(select(Agreement).where(Agreement.case_id == made["case"]))
        assert agreements.confirmable(agreement)
        db.session.remove()

    # -- 5. the applicant applies to the competent court and signs, on his phone ----------
    applicant = browser.new_context(**PHONE).new_page()
    log_in(applicant, live_server, made["applicant"])
    case_link = applicant.get_by_role("link", name=re.compile("漏水纠纷|" + made["number"]))
    step(applicant, case_link, "b10-applicant-my-cases")
    case_link.first.click()
    applicant.wait_for_url(re.compile(r".*/cases/\d+$"))
    to_agreement = applicant.get_by_role("button", name="申请司法确认")
    step(applicant, to_agreement, "b11-applicant-case-in-force")
    to_agreement.click()
    apply = applicant.get_by_role("button", name="申请司法确认")
    step(applicant, apply, "b12-applicant-choose-court")
    assert "南京市玄武区人民法院" in applicant.content()
    apply.click()
    applicant.wait_for_url(re.compile(r".*/confirmation/sign$"))
    sign_application(app, applicant, made["applicant"], step, snap, "b13-applicant")

    # -- 6. the respondent signs too, from the link in the text telling him it is his turn -
    asked = last_text_to(app, "+86" + RESPONDENT)
    assert made["number"] in asked and "/j/" in asked, asked
    # Still logged in on his phone since he answered: the link goes straight to the page.
    phone.goto(link_in(asked, live_server))
    phone.wait_for_url(re.compile(r".*/confirmation/sign$"))
    sign_application(app, phone, "+86" + RESPONDENT, step, snap, "b18-respondent")
    assert "已提交法院" in phone.content() or "法院" in phone.content()

    # -- 7. the court clerk accepts it, on a laptop ----------------------------------------
    clerk = browser.new_context(**LAPTOP).new_page()
    log_in(clerk, live_server, made["clerk"])
    waiting = clerk.get_by_role("link", name=made["number"])
    step(clerk, waiting, "b21-clerk-inbox")
    waiting.click()
    accept = clerk.get_by_role("button", name="受理", exact=True)
    step(clerk, accept, "b22-clerk-application")
    accept.click()
    clerk.wait_for_load_state()
    snap(clerk, "b23-clerk-accepted")
    with app.app_context():
        case = db.session.get(Case, made["case"])
        assert case.status == "confirmation_requested"
        application = open_application(case)
        assert application.status == "accepted" and application.court_case_number
    # The parties are told, on their phones.
    assert application.court_case_number in last_text_to(app, "+86" + RESPONDENT)


def rule(app, made, live_server, browser_factory, step, snap):
    """The judge confirms; the court's system reads the delegation back."""
    judge = browser_factory().new_context(**LAPTOP).new_page()
    log_in(judge, live_server, made["judge"])
    with app.app_context():
        application = open_application(db.session.get(Case, made["case"]))
        number = application.court_case_number
        db.session.remove()
    waiting = judge.get_by_role("link", name=number)
    step(judge, waiting, "b24-judge-inbox")
    waiting.click()
    examine = judge.get_by_role("button", name="审查并作出决定")
    step(judge, examine, "b25-judge-application")
    examine.click()
    judge.get_by_label("确认协议有效").check()
    judge.get_by_role("textbox", name="理由").first.fill(
        "调解协议系双方自愿达成，内容不违反法律规定。"
    )
    decide = judge.get_by_role("button", name="作出决定", exact=True)
    # The link brought the form to the top of the screen: the button is right there.
    assert decide.evaluate("b => b.getBoundingClientRect().bottom <= window.innerHeight")
    snap(judge, "b26-judge-rules")
    decide.click()
    judge.wait_for_load_state()
    snap(judge, "b27-confirmed")
    with app.app_context():
        assert db.session.get(Case, made["case"]).status == "confirmed"
    back = delegation_steps.read(live_server, made["token"], made["delegation"])
    assert back["status"] == "agreement" and back["case_status"] == "confirmed", back


INKED = (
    "() => { const c = document.getElementById('signature-pad');"
    " return c.getContext('2d').getImageData(0, 0, c.width, c.height).data"
    ".some((v, i) => i % 4 === 3 && v > 0); }"
)


def sign_application(app, page, phone: str, step, snap, name: str) -> None:
    """Read, draw, ask for the code, sign: the application's signing form."""
    # What to do first is to read the document, which the page says at its top.
    step(page, page.get_by_text("请阅读下方完整文本", exact=False), f"{name}-sign-page")
    page.wait_for_function("() => [...document.images].every(i => i.complete)")
    pad = page.locator("#signature-pad")
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    page.mouse.move(box["x"] + 20, box["y"] + box["height"] * 0.7)
    page.mouse.down()
    for n in range(1, 16):
        page.mouse.move(
            box["x"] + 20 + n * (box["width"] - 40) / 15,
            box["y"] + box["height"] * (0.3 if n % 2 else 0.7),
            steps=3,
        )
    page.mouse.up()
    page.wait_for_function(INKED)
    page.click("button[name=action][value=code]")
    page.wait_for_selector("input[name=code]")
    page.wait_for_function(INKED)  # the drawing is kept across the reload
    page.fill("input[name=code]", code_in(last_text_to(app, phone)))
    snap(page, f"{name}-code")
    page.click("button[name=action][value=sign]")
    page.wait_for_url(re.compile(r".*/agreement$"))
    snap(page, f"{name}-signed")
