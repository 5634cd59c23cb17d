"""A question an expert takes and then gives back (放回: a conflict of interest), answered by
a colleague of the pool; the asker, on a phone, sees only that the question is still
waiting, with the time they were given, and then the colleague's answer
(mediation/consultation/handover.py)."""

from __future__ import annotations

import re

from mediation.accounts.models import Role
from mediation.consultation import operations as consultation
from mediation.extensions import db
from tests.factories import make_user
from tests.journeys.conftest import axe_violations, log_in
from tests.journeys.test_register_and_agency import last_text_to

SUBJECT = "邻居装修噪音怎么办"
ANSWER = "装修噪音属于相邻关系纠纷。可以先与邻居协商作息时间，协商不成可以申请人民调解。"


def _expert(name: str) -> str:
    user = make_user(Role.expert, real_name=name)
    consultation.make_expert(
        user,
        kind="lawyer",
        region_code="320000",
        categories_=["neighbourhood"],
        languages=["普通话"],
        hours="工作日 9:00-17:00",
    )
    return user.phone


def _desk(browser_factory):
    browser = browser_factory()
    return browser.new_context(viewport={"width": 1366, "height": 768}).new_page()


def _looked_at(page, snap, name: str) -> None:
    """A screenshot of what is below the first screen, with axe-core's check."""
    snap(page, name)
    violations = axe_violations(page)
    assert not violations, f"axe-core on {page.url} ({name}): {violations}"


def test_an_expert_gives_a_question_back_and_a_colleague_answers_it(
    app, live_server, phone_page, staff_page, browser_factory, step, snap
):
    with app.app_context():
        asker = make_user(real_name="周小红")
        first, colleague = _expert("李律师"), _expert("王律师")
        asker_phone = asker.phone
        db.session.commit()

    # The asker, on a phone, asks.
    page = phone_page
    log_in(page, step, live_server, asker_phone, "g01-asker")
    ask_link = page.get_by_role("button", name="先咨询专家")
    step(page, ask_link, "g01b-my-cases")
    ask_link.click()
    ask = page.get_by_role("button", name="提出咨询", exact=True)
    step(page, ask, "g02-consultation")
    ask.click()
    page.get_by_label("纠纷类型").select_option(label="邻里纠纷")
    page.get_by_label("纠纷发生的省份").select_option(label="江苏省")
    page.fill("#subject", SUBJECT)
    page.fill("#text", "楼上邻居每天早上七点开始装修，已经两个月了。")
    page.get_by_role("button", name="提交咨询").click()
    page.wait_for_url(re.compile(r".*/consultation/\d+$"))
    question_url = page.url
    step(page, page.get_by_text("等待专家答复").first, "g03-asked")
    due = page.locator("dl.facts dd").nth(4).inner_text()

    # The first expert takes it, then gives it back: a conflict of interest.
    desk = staff_page
    log_in(desk, step, live_server, first, "g04-first-expert")
    desk.get_by_role("link", name=SUBJECT).click()
    take = desk.get_by_role("button", name="由我来答复")
    step(desk, take, "g05-question")
    take.click()
    give_back = desk.get_by_text("我无法答复这个问题：放回")
    give_back.scroll_into_view_if_needed()
    give_back.click()
    desk.get_by_label("我与此事存在利益冲突").check()
    desk.fill("#note", "提问人的邻居是我的当事人")
    send_back = desk.get_by_role("button", name="放回", exact=True)
    send_back.scroll_into_view_if_needed()
    _looked_at(desk, snap, "g06-give-back")
    send_back.click()
    desk.wait_for_url("**/consultation/queue")
    step(desk, desk.get_by_text("您已放回这个问题").first, "g07-given-back")
    assert SUBJECT not in desk.locator("main").inner_text()  # not theirs to take again
    assert "重新等待本地区专家答复" in last_text_to(app, colleague.removeprefix("+86"))

    # The asker sees nothing alarming: still waiting, by the same time.
    page.goto(question_url)
    step(page, page.get_by_text("等待专家答复").first, "g08-still-waiting")
    assert page.locator("dl.facts dd").nth(4).inner_text() == due
    assert "放回" not in page.locator("main").inner_text()

    # The colleague finds it waiting again and answers it.
    other = _desk(browser_factory)
    log_in(other, step, live_server, colleague, "g09-colleague")
    row = other.get_by_role("link", name=SUBJECT)
    step(other, row, "g10-queue")
    row.click()
    take = other.get_by_role("button", name="由我来答复")
    step(other, take, "g11-question")
    take.click()
    other.fill("#answer", ANSWER)
    send = other.get_by_role("button", name="发送答复")
    step(other, send, "g12-answer")
    send.click()
    step(other, other.get_by_text("答复已发送").first, "g13-answered")

    # The first expert's old tab: given back for a conflict of interest, the question and
    # its answer are no longer shown to them, and they are told why.
    desk.goto(question_url)
    said = desk.get_by_text("您已因利益冲突放回这个问题")
    step(desk, said, "g14-no-longer-mine")
    shown = desk.locator("main").inner_text()
    assert SUBJECT not in shown and ANSWER[:12] not in shown
    assert desk.get_by_role("button", name="发送答复").count() == 0

    # The asker reads the colleague's answer from their questions.
    page.goto(live_server)
    my_questions = page.get_by_role("link", name="我的咨询", exact=True)
    step(page, my_questions, "g15-menu")
    my_questions.click()
    page.get_by_role("link", name=SUBJECT).click()
    read = page.get_by_role("link", name="查看专家答复")
    step(page, read, "g16-answered")
    read.click()
    answer = page.locator("#answer")
    assert ANSWER in answer.inner_text() and "王律师" in answer.inner_text()
    snap(page, "g17-the-answer")
