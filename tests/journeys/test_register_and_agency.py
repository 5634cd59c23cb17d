"""A relative registers on a phone and files for an elderly party as their agent; the party
confirms the agent from the link in their text message (issue #15, items 1 and 4)."""

from __future__ import annotations

import re

from sqlalchemy import select

from mediation.extensions import db
from mediation.notify.models import OutboxMessage
from tests.factories import make_institution, make_mediator, valid_id_number

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
AGENT = "13877770001"
PARTY = "13877770002"


def last_text_to(app, phone: str) -> str:
    """What the person's phone received last (the console gateway keeps it in the outbox)."""
    with app.app_context():
        return db.session.scalars(
            select(OutboxMessage.body)
            .where(OutboxMessage.recipient == "+86" + phone)
            .order_by(OutboxMessage.id.desc())
        ).first()


def code_in(text: str) -> str:
    return re.search(r"\d{6}", text).group()


def test_register_file_as_agent_and_the_party_confirms(
    app, live_server, phone_page, browser_factory, snap, tmp_path
):
    with app.app_context():
        make_mediator(make_institution(region_code="320102"))
        db.session.commit()
    page = phone_page
    page.goto(live_server)
    page.get_by_role("button", name="注册账户").click()
    page.fill("#phone", AGENT)
    snap(page, "01-register-phone")
    page.get_by_role("button", name="发送验证码").click()
    page.wait_for_url("**/register/confirm")
    page.fill("#code", code_in(last_text_to(app, AGENT)))
    page.fill("#real_name", "张小红")
    page.fill("#id_number", valid_id_number(4242))
    page.fill("#password", "a long password")
    snap(page, "02-register-details")
    page.get_by_role("button", name="注册账户").click()
    page.wait_for_url("**/cases/")
    snap(page, "03-my-cases")

    page.get_by_role("button", name="申请调解").click()
    page.select_option("#category", "neighbourhood")
    page.fill("#title", "楼上漏水")
    page.fill("#facts", "卫生间顶部渗水三个月。")
    page.fill("#claims-0-text", "赔偿墙面维修费")
    page.check("#as_agent")
    page.fill("#principal_name", "张老伯")
    page.fill("#principal_phone", PARTY)
    snap(page, "04-dispute-as-agent")
    page.get_by_role("button", name="保存并继续").click()
    page.wait_for_url("**/intake/respondent")
    page.fill("#real_name", "李四")
    page.fill("#phone", "13811112222")
    page.get_by_role("button", name="保存并继续").click()
    page.wait_for_url("**/intake/evidence")
    poa = tmp_path / "授权委托书.pdf"
    poa.write_bytes(PDF)
    page.set_input_files("#files", str(poa))
    page.check("#power_of_attorney")
    page.get_by_role("button", name="上传").click()
    page.wait_for_load_state()
    page.get_by_role("button", name="继续", exact=True).click()
    page.wait_for_url("**/intake/submit")
    page.fill("#service_address", "南京市玄武区")
    page.check("#service_confirmed")
    page.check("#consent")
    page.get_by_role("button", name="提交申请").click()
    page.wait_for_url(re.compile(r".*/cases/\d+$"))
    snap(page, "05-case-filed")
    case_page = page.content()
    assert "张老伯" in case_page and "代理人" in case_page

    # The elderly party's phone: the text message, its link, a code, and the answer.
    message = last_text_to(app, PARTY)
    assert "张小红" in message and "代理人" in message
    link = re.search(r"https?://\S+/agency/\S+", message).group()
    path = "/agency/" + link.split("/agency/", 1)[1]
    party = (
        browser_factory()
        .new_context(viewport={"width": 375, "height": 740}, has_touch=True)
        .new_page()
    )
    party.goto(live_server + path)
    snap(party, "06-party-link")
    party.get_by_role("button", name="发送验证码").click()
    party.fill("#code", code_in(last_text_to(app, PARTY)))
    party.get_by_role("button", name="确认").click()
    party.wait_for_url("**" + path)
    snap(party, "07-party-asked")
    assert "张小红" in party.content()
    party.get_by_role("button", name="是的，此人是我的代理人").click()
    party.wait_for_url(re.compile(r".*/cases/\d+$"))
    snap(party, "08-party-confirmed")
    assert "您已确认张小红为您的代理人" in party.content()
    # Nothing of the page is wider than the phone.
    width = party.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, width
