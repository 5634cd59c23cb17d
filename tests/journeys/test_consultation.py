"""A question asked on a phone by someone without an account, answered by an expert at a
desk, and turned into a case by the asker (issue #20, item 1)."""

from __future__ import annotations

import re

from sqlalchemy import select

from mediation.accounts.models import Role
from mediation.cases.models import Case, Evidence
from mediation.consultation import operations as consultation
from mediation.extensions import db
from tests.agreements.conftest import drawing
from tests.factories import make_user
from tests.journeys.conftest import log_in
from tests.journeys.test_register_and_agency import code_in, last_text_to

ASKER = "13877770041"
ANSWER = "这属于相邻关系纠纷。可以先书面要求楼上维修，也可以申请人民调解，调解免费。"


def test_ask_on_a_phone_answered_by_an_expert_turned_into_a_case(
    app, live_server, phone_page, staff_page, step, snap, tmp_path
):
    with app.app_context():
        expert = make_user(Role.expert, real_name="李律师")
        consultation.make_expert(
            expert,
            kind="lawyer",
            region_code="320000",
            categories_=["neighbourhood"],
            languages=["普通话"],
            hours="工作日 9:00-17:00",
        )
        expert_phone = expert.phone
        db.session.commit()
    photo = tmp_path / "漏水照片.png"
    photo.write_bytes(drawing())

    # The asker, on a phone, without an account: the number is proven by a code.
    page = phone_page
    page.goto(live_server)
    ask_link = page.get_by_role("link", name="在线咨询", exact=True)
    step(page, ask_link, "q01-home")
    ask_link.click()
    ask = page.get_by_role("button", name="提出咨询", exact=True)
    step(page, ask, "q02-consultation")
    ask.click()
    send = page.get_by_role("button", name="发送验证码")
    page.fill("#phone", ASKER)
    step(page, send, "q03-phone")
    send.click()
    page.wait_for_url("**/consultation/start/confirm")
    page.fill("#code", code_in(last_text_to(app, ASKER)))
    page.fill("#real_name", "王小明")
    go_on = page.get_by_role("button", name="继续")
    step(page, go_on, "q04-code")
    go_on.click()
    page.wait_for_url("**/consultation/ask")
    # Nothing is chosen for the asker: sent as it is, both choices are asked for.
    assert page.locator("#category option:checked").inner_text() == "请选择…"
    assert page.locator("#region_code option:checked").inner_text() == "请选择…"
    step(page, "#category", "q05-ask-form")
    page.get_by_role("button", name="提交咨询").click()
    step(page, "#category-error", "q05b-ask-nothing-chosen")
    assert page.locator("#category-error").inner_text() == "请选择一种纠纷类型。"
    assert page.locator("#region_code-error").inner_text() == "请选择纠纷发生的省份。"
    page.get_by_label("纠纷类型").select_option(label="邻里纠纷")
    page.get_by_label("纠纷发生的省份").select_option(label="江苏省")
    page.fill("#subject", "楼上漏水，物业不管怎么办")
    page.fill("#text", "楼上卫生间漏水三个月，我家天花板发霉。物业说不归他们管。")
    page.set_input_files("#files", str(photo))
    snap(page, "q06-ask-filled")
    page.get_by_role("button", name="提交咨询").click()
    page.wait_for_url(re.compile(r".*/consultation/\d+$"))
    step(page, page.get_by_text("等待专家答复").first, "q07-asked")
    texts = last_text_to(app, expert_phone.removeprefix("+86"))
    assert "新的咨询" in texts

    # The expert, at a desk: the queue, the question, the written answer.
    desk = staff_page
    log_in(desk, step, live_server, expert_phone, "expert")
    row = desk.get_by_role("link", name="楼上漏水，物业不管怎么办")
    step(desk, row, "e03-queue")
    row.click()
    take = desk.get_by_role("button", name="由我来答复")
    step(desk, take, "e04-question")
    take.click()
    desk.fill("#answer", ANSWER)
    send_answer = desk.get_by_role("button", name="发送答复")
    step(desk, send_answer, "e05-answer")
    send_answer.click()
    step(desk, desk.get_by_text("答复已发送").first, "e06-answered")
    answered_text = last_text_to(app, ASKER)
    assert "已有回复" in answered_text and "/q/" in answered_text

    # The expert finds the answered question again from the menu.
    mine = desk.get_by_role("link", name="咨询答复", exact=True)
    step(desk, mine, "e07-menu")
    mine.click()
    again = desk.locator("#answered").get_by_role("link", name="楼上漏水，物业不管怎么办")
    step(desk, again, "e08-answered-list")
    again.click()
    desk.locator("#answer").wait_for()
    assert "这属于相邻关系纠纷" in desk.locator("#answer").inner_text()
    snap(desk, "e09-answer-again")

    # The asker comes back another day: from the menu to their question and its answer.
    page.goto(live_server)
    my_questions = page.get_by_role("link", name="我的咨询", exact=True)
    step(page, my_questions, "q07b-menu")
    my_questions.click()
    mine = page.get_by_role("link", name="楼上漏水，物业不管怎么办")
    mine.scroll_into_view_if_needed()
    snap(page, "q07c-my-questions")
    mine.click()
    read = page.get_by_role("link", name="查看专家答复")
    step(page, read, "q08-answered")
    read.click()
    assert "仅供参考" in page.locator("#answer").inner_text()
    snap(page, "q09-the-answer")
    page.evaluate("window.scrollTo(0, 0)")
    turn = page.get_by_role("button", name="转为调解申请")
    turn.click()
    page.wait_for_url("**/intake/dispute")
    step(page, "#title", "q10-draft-case")
    assert page.input_value("#title") == "楼上漏水，物业不管怎么办"
    with app.app_context():
        case = db.session.scalar(select(Case))
        assert case.status == "draft" and "天花板发霉" in case.facts
        assert db.session.scalar(select(Evidence).where(Evidence.case_id == case.id)) is not None
