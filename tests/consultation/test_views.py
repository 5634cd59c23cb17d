"""Consultation pages found again: the form chooses nothing for the asker, the expert finds
the questions they answered, the asker gets back to the answer from the text message and
the menu. Runs on SQLite and PostgreSQL (the ``app`` fixture's databases)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from mediation.accounts.models import Role
from mediation.consultation import operations as ops
from mediation.consultation import routing
from mediation.consultation.models import Question
from mediation.extensions import db
from mediation.journal.models import JournalEntry
from tests.conftest import code_sent_to, csrf_token, login, post_form
from tests.consultation.test_consultation import FRIDAY, JIANGSU, ZHEJIANG, _ask, _expert, _sms_to
from tests.core.test_no_english import english_words, visible_text
from tests.factories import PASSWORD, make_case, make_institution, make_user

CHOOSE = 'value="">请选择…</option>'


def _logged_in(app, phone):
    client = app.test_client()
    assert login(client, phone, PASSWORD).status_code == 302
    return client


def _selected(page: str, field: str) -> str:
    """The value a browser shows chosen in the select ``field`` of ``page``: the option
    marked selected, else the first."""
    select_ = re.search(rf'<select[^>]*id="{field}"[^>]*>(.*?)</select>', page, re.S).group(1)
    found = re.search(r'<option selected value="([^"]*)"', select_)
    return (found or re.search(r'<option[^>]* value="([^"]*)"', select_)).group(1)


def test_the_form_chooses_neither_province_nor_category_and_says_what_is_missing(app):
    with app.app_context():
        phone = make_user().phone
        db.session.commit()
    client = _logged_in(app, phone)
    form = client.get("/consultation/ask").get_data(as_text=True)
    assert _selected(form, "category") == _selected(form, "region_code") == ""
    assert form.count(CHOOSE) == 2 and english_words(visible_text(form)) == {}

    sent = post_form(
        client, "/consultation/ask", {"subject": "漏水", "text": "楼上漏水", "category": ""}
    )
    page = sent.get_data(as_text=True)
    assert sent.status_code == 422
    errors = dict(re.findall(r'id="([^"]+)-error" class="field-error">([^<]*)<', page))
    assert errors == {
        "category": "请选择一种纠纷类型。",
        "region_code": "请选择纠纷发生的省份。",
    }
    # In English, in the asker's language.
    token = csrf_token(client, "/consultation/ask")
    client.post("/language", data={"csrf_token": token, "locale": "en"})
    page = post_form(client, "/consultation/ask", {"subject": "Leak", "text": "?"}).text
    assert "Please choose…" in page and "Choose the province where the dispute arose." in page
    with app.app_context():
        assert db.session.scalar(select(func.count(Question.id))) == 0


def test_the_province_the_platform_knows_is_preselected(app):
    with app.app_context():
        asker, party = make_user(), make_user()
        _ask(asker, region_code=ZHEJIANG)
        case = make_case(party, make_user())
        case.region_code = "320102"  # a district of Jiangsu
        phones = asker.phone, party.phone
        db.session.commit()
    for phone, province in zip(phones, (ZHEJIANG, JIANGSU), strict=True):
        form = _logged_in(app, phone).get("/consultation/ask").get_data(as_text=True)
        assert _selected(form, "region_code") == province
        assert _selected(form, "category") == ""  # the kind is chosen every time


def test_other_forms_with_the_category_start_on_please_choose(app, client):
    with app.app_context():
        party_phone = make_user().phone
        platform_phone = make_user(Role.platform_admin).phone
        institution = make_institution(region_code="320102")
        admin_phone = make_user(Role.institution_admin, institution_id=institution.id).phone
        db.session.commit()
    evaluation = client.get("/evaluation").get_data(as_text=True)
    assert _selected(evaluation, "category") == ""
    refused = client.get("/evaluation", query_string={"amount": "100", "category": ""}).text
    assert "请选择一种纠纷类型。" in refused and 'id="result"' not in refused
    intake = _logged_in(app, party_phone).get("/cases/new").get_data(as_text=True)
    assert _selected(intake, "category") == ""
    # A platform administrator chooses an expert's province; an institution's has one.
    experts = _logged_in(app, platform_phone).get("/consultation/experts/new").text
    assert _selected(experts, "region_code") == ""
    own = _logged_in(app, admin_phone).get("/consultation/experts/new").text
    assert CHOOSE not in own and 'value="320000"' in own


def test_the_expert_finds_the_questions_they_answered_newest_first(app, monkeypatch):
    with app.app_context():
        asker = make_user()
        expert, colleague, far = _expert(), _expert(cats=()), _expert(region=ZHEJIANG)
        waiting = _ask(asker, subject="还在等的问题")
        first, second = _ask(asker, subject="先答的问题"), _ask(asker, subject="后答的问题")
        ops.answer(first, expert, "答复一", now=FRIDAY + timedelta(hours=1))
        ops.answer(second, expert, "答复二", now=FRIDAY + timedelta(hours=2))
        by_colleague = _ask(asker, subject="同事答的问题")
        ops.answer(by_colleague, colleague, "同事的答复", now=FRIDAY + timedelta(hours=3))
        ids = {q.subject: q.id for q in (waiting, first, second, by_colleague)}
        phones = expert.phone, colleague.phone, far.phone, asker.phone
        db.session.commit()
    client = _logged_in(app, phones[0])
    page = client.get("/consultation/queue").get_data(as_text=True)
    assert english_words(visible_text(page)) == {}
    waiting_part, answered_part = page.split('id="answered-heading"')
    assert "还在等的问题" in waiting_part and "先答的问题" not in waiting_part
    # Category, province and the time asked, in China time (10:00 on that Friday).
    assert "邻里纠纷" in waiting_part and "江苏省" in waiting_part
    assert "2025年12月5日（周五）10:00" in waiting_part
    links = re.findall(r'href="/consultation/(\d+)#answer">([^<]+)<', answered_part)
    assert links == [(str(ids["后答的问题"]), "后答的问题"), (str(ids["先答的问题"]), "先答的问题")]
    assert "同事答的问题" not in answered_part  # only their own answers are listed
    answer = client.get(f"/consultation/{ids['先答的问题']}").get_data(as_text=True)
    assert "答复一" in answer and "发送答复" not in answer

    # A page at a time.
    monkeypatch.setattr(routing, "ANSWERED_PER_PAGE", 1)
    one = client.get("/consultation/queue").get_data(as_text=True)
    assert "后答的问题" in one and "先答的问题" not in one and "较早的答复" in one
    two = client.get("/consultation/queue?page=2").get_data(as_text=True)
    assert "先答的问题" in two and "后答的问题" not in two and "较新的答复" in two

    # The rule of who reads a question is unchanged: the experts of its pool (the colleague
    # lists none of the expert's answers but may read them), nobody of another province.
    colleague_page = _logged_in(app, phones[1]).get("/consultation/queue").text
    assert "先答的问题" not in colleague_page and "同事答的问题" in colleague_page
    far_client = _logged_in(app, phones[2])
    assert far_client.get(f"/consultation/{ids['先答的问题']}").status_code == 404
    assert "先答的问题" not in far_client.get("/consultation/queue").text
    # The page is the experts': a party is refused.
    assert _logged_in(app, phones[3]).get("/consultation/queue").status_code == 403


def test_text_messages_link_to_the_question_and_the_asker_gets_in_by_code(app, client):
    with app.app_context():
        asker, stranger = make_user(), make_user()
        expert = _expert()
        question = _ask(asker)
        (asked,) = _sms_to(expert)
        ops.answer(question, expert, "可以申请人民调解。")
        answered = _sms_to(asker)[-1]
        qid, phones = question.id, (asker.phone, stranger.phone)
        db.session.commit()
    base = app.config["BASE_URL"].rstrip("/")
    assert f"{base}/consultation/{qid}" in asked and "新的咨询" in asked
    link = re.search(rf"{re.escape(base)}(/q/\S+)$", answered).group(1)
    assert "已有回复" in answered and len(answered) < 120  # short: one text message or two

    # Somebody else logged in on this device gets nothing of the question.
    other = _logged_in(app, phones[1]).get(link)
    assert other.status_code == 403 and "漏水" not in other.get_data(as_text=True)
    assert client.get(link[:-3] + "abc").status_code == 404  # a forged token

    first = client.get(link)
    assert first.status_code == 200 and "楼上" not in first.get_data(as_text=True)
    post_form(client, link, {"action": "send"})
    code = code_sent_to(app, phones[0])
    entered = post_form(client, link, {"action": "verify", "code": code})
    assert entered.status_code == 302 and entered.location.endswith(f"/consultation/{qid}")
    assert "可以申请人民调解。" in client.get(f"/consultation/{qid}").get_data(as_text=True)
    with app.app_context():  # no case: nothing to write in a case's journal
        assert db.session.scalar(select(func.count(JournalEntry.id))) == 0


def test_a_party_who_asked_finds_their_questions_in_the_menu(app):
    with app.app_context():
        asker, party, expert = make_user(), make_user(), _expert()
        _ask(asker)
        phones = asker.phone, party.phone, expert.phone
        db.session.commit()
    menu = re.compile(r'<a href="/consultation/#my-questions">我的咨询</a>')
    home = _logged_in(app, phones[0]).get("/cases/").get_data(as_text=True)
    assert menu.search(home)
    assert not menu.search(_logged_in(app, phones[1]).get("/cases/").text)
    expert_home = _logged_in(app, phones[2]).get("/consultation/queue").text
    assert '<a href="/consultation/queue">咨询答复</a>' in expert_home


def test_the_asker_s_list_has_no_ascii_punctuation_in_chinese(app):
    with app.app_context():
        asker = make_user()
        _ask(asker)
        phone = asker.phone
        db.session.commit()
    page = _logged_in(app, phone).get("/consultation/").get_data(as_text=True)
    item = re.search(r"<li><a href=\"/consultation/\d+\">.*?</li>", page, re.S).group(0)
    assert "等待专家答复，2025年12月9日（周二）前答复" in item and "," not in item


ASKED = {
    "category": "neighbourhood",
    "region_code": JIANGSU,
    "subject": "楼上漏水谁来赔",
    "text": "楼上卫生间漏水三个月，物业不管。",
}


def _questions(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Question.id)))


def test_a_question_sent_twice_is_asked_once(app):
    """A double tap on 提交 (or a phone resending the POST) made two identical questions,
    and the pool was told twice; the second post now shows the question already sent."""
    with app.app_context():
        phone = make_user().phone
        expert = _expert()
        db.session.commit()
        expert_id = expert.id
    client = _logged_in(app, phone)
    form = ASKED | {"csrf_token": csrf_token(client, "/consultation/ask")}
    first = client.post("/consultation/ask", data=form)
    again = client.post("/consultation/ask", data=form)
    assert first.status_code == again.status_code == 302
    assert first.location == again.location
    page = client.get(again.location).get_data(as_text=True)
    assert "您的问题已经提交过了" in page
    assert _questions(app) == 1
    with app.app_context():
        from mediation.accounts.models import User

        assert len(_sms_to(db.session.get(User, expert_id))) == 1
    # Another question (or the same words once answered) is a question of its own.
    other = client.post("/consultation/ask", data=form | {"subject": "物业不修怎么办"})
    assert other.location != first.location and _questions(app) == 2


def test_a_question_sent_from_two_tabs_at_once_is_asked_once(app):
    from tests.conftest import at_once

    with app.app_context():
        phone = make_user().phone
        db.session.commit()
    clients = [_logged_in(app, phone), _logged_in(app, phone)]
    forms = [ASKED | {"csrf_token": csrf_token(c, "/consultation/ask")} for c in clients]
    answers = at_once(
        *(
            lambda c=c, f=f: c.post("/consultation/ask", data=f)
            for c, f in zip(clients, forms, strict=True)
        )
    )
    assert [a.status_code for a in answers] == [302, 302], answers
    assert answers[0].location == answers[1].location
    assert _questions(app) == 1


def _taken_question(app):
    with app.app_context():
        asker, expert = make_user(), _expert()
        question = _ask(asker)
        ops.take(question, expert)
        db.session.commit()
        return question.id, asker.id, expert.phone


def _told(app, asker_id: int) -> int:
    from mediation.accounts.models import User

    with app.app_context():
        return sum("已有回复" in body for body in _sms_to(db.session.get(User, asker_id)))


def test_an_answer_sent_twice_is_sent_once_and_says_so(app):
    """The expert's 发送回复 tapped twice: the second answer was the form again with "this
    question has been answered" (422); now it is the question, "already sent", and the
    asker got one text message."""
    question_id, asker_id, expert = _taken_question(app)
    client = _logged_in(app, expert)
    page = f"/consultation/{question_id}"
    form = {"answer": "可以先找物业协调。", "csrf_token": csrf_token(client, page)}
    assert client.post(f"{page}/answer", data=form).status_code == 302
    client.get(page)
    again = client.post(f"{page}/answer", data=form)
    assert again.status_code == 302
    assert "您的回复已经发送过了" in client.get(again.location).get_data(as_text=True)
    assert _told(app, asker_id) == 1


def test_an_answer_sent_from_two_tabs_at_once_is_sent_once(app):
    from tests.conftest import at_once

    question_id, asker_id, expert = _taken_question(app)
    tabs = [_logged_in(app, expert), _logged_in(app, expert)]
    page = f"/consultation/{question_id}"
    forms = [{"answer": "可以先找物业协调。", "csrf_token": csrf_token(t, page)} for t in tabs]
    answers = at_once(
        *(
            lambda t=t, f=f: t.post(f"{page}/answer", data=f)
            for t, f in zip(tabs, forms, strict=True)
        )
    )
    assert [a.status_code for a in answers] == [302, 302], answers
    assert _told(app, asker_id) == 1


# -- a question the asker turned into a case while an expert was answering it ----------


def _turned_into_a_case(app):
    """A question an expert took; the asker then turned it into a case (a draft)."""
    with app.app_context():
        asker, expert = make_user(), _expert()
        question = _ask(asker)
        ops.take(question, expert)
        case = ops.to_case(question, asker)
        db.session.commit()
        return question.id, asker.id, asker.phone, expert.phone, case.id


def _answered_entries(app, case_id: int) -> list[JournalEntry]:
    with app.app_context():
        return db.session.scalars(
            select(JournalEntry).where(
                JournalEntry.case_id == case_id, JournalEntry.action == "consultation.answered"
            )
        ).all()


def test_an_answer_to_a_question_turned_into_a_case_reaches_the_asker_and_the_case(app):
    """The answer is kept: the asker asked for it, and it helps with the case they are
    preparing from the question. The expert is told, before and after answering, that the
    question became a case and where the answer goes; the asker is told and reads it with
    the question, which leads to the case; the case's timeline records it, as it does an
    answer given before the question became a case."""
    question_id, asker_id, asker_phone, expert_phone, case_id = _turned_into_a_case(app)
    with app.test_request_context():
        from mediation.core.i18n import format_when

        converted = format_when(db.session.get(Question, question_id).converted_at)
    expert = _logged_in(app, expert_phone)
    page = f"/consultation/{question_id}"
    before = expert.get(page).get_data(as_text=True)
    assert f"提问人已于{converted}将该咨询转为调解申请。" in before
    assert f"/cases/{case_id}" not in before  # the case is the asker's, not the expert's
    sent = post_form(expert, f"{page}/answer", {"answer": "可以先找物业协调。"}, form_page=page)
    assert sent.status_code == 302
    after = expert.get(sent.location).get_data(as_text=True)
    assert "答复已发送，已通知提问人。提问人已将该咨询转为调解申请" in after
    assert english_words(visible_text(after)) == {}

    assert _told(app, asker_id) == 1
    (entry,) = _answered_entries(app, case_id)
    with app.app_context():
        assert entry.payload["question_id"] == question_id
        assert entry.actor_id == db.session.get(Question, question_id).expert_id
    asker = _logged_in(app, asker_phone)
    mine = asker.get(page).get_data(as_text=True)
    assert "可以先找物业协调。" in mine and f"/cases/{case_id}" in mine
    timeline = asker.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "专家答复了咨询" in timeline


def test_turning_into_a_case_and_answering_at_once_record_the_answer_once(app):
    """The asker turns the question into a case at the moment the expert sends the answer:
    whichever comes first, the case's timeline records the answer once, and the asker has
    one case."""
    from mediation.cases.models import Case
    from tests.conftest import at_once

    question_id, asker_id, expert_phone = _taken_question(app)
    with app.app_context():
        from mediation.accounts.models import User

        asker_phone = db.session.get(User, asker_id).phone
    asker, expert = _logged_in(app, asker_phone), _logged_in(app, expert_phone)
    page = f"/consultation/{question_id}"
    to_case = {"csrf_token": csrf_token(asker, page)}
    answer = {"answer": "可以先找物业协调。", "csrf_token": csrf_token(expert, page)}
    answers = at_once(
        lambda: asker.post(f"{page}/case", data=to_case),
        lambda: expert.post(f"{page}/answer", data=answer),
    )
    assert [a.status_code for a in answers] == [302, 302], answers
    with app.app_context():
        case_id = db.session.get(Question, question_id).case_id
        cases = db.session.scalar(
            select(func.count()).select_from(Case).where(Case.title == "楼上漏水谁来赔")
        )
    assert case_id is not None and cases == 1
    assert len(_answered_entries(app, case_id)) == 1


# -- an expert whose province or categories changed after they took a question ----------

MOVED = {
    "province": ({"region": ZHEJIANG}, "您现在回答浙江省的问题，而这个问题来自江苏省"),
    "categories": ({"cats": ("labour",)}, "已不再包括“邻里纠纷”类纠纷"),
}


@pytest.mark.parametrize("change", MOVED)
def test_an_expert_moved_out_of_the_pool_still_answers_the_question_they_took(app, change):
    """An administrator changes the profile of an expert who took a question and has its
    form open: the answer they then sent was a bare 403, and the question stayed theirs,
    taken, so that no other expert could take it and the asker waited for nobody. Now the
    question stays theirs to answer: the page says in Chinese what changed, the answer is
    sent and the asker told, and the expert is told new questions like it no longer come."""
    fields, said = MOVED[change]
    question_id, asker_id, expert_phone = _taken_question(app)
    expert = _logged_in(app, expert_phone)
    page = f"/consultation/{question_id}"
    token = csrf_token(expert, page)  # the form open on the expert's screen
    with app.app_context():
        question = db.session.get(Question, question_id)
        user = question.expert
        # The administrator's change: the same form that added the expert (make_expert).
        ops.make_expert(
            user,
            kind="lawyer",
            region_code=fields.get("region", JIANGSU),
            categories_=list(fields.get("cats", ("neighbourhood",))),
            languages=[],
            hours="",
        )
        db.session.commit()
        assert ops.in_pool(user, question) is False  # new questions like it go elsewhere
        assert [q.id for q in ops.queue(user)] == [question_id]  # but this one is still theirs

    shown = expert.get(page).get_data(as_text=True)
    assert said in shown and "这个问题仍由您回答" in shown
    assert english_words(visible_text(shown)) == {}
    sent = expert.post(f"{page}/answer", data={"answer": "可以先找物业协调。", "csrf_token": token})
    assert sent.status_code == 302
    after = expert.get(sent.location).get_data(as_text=True)
    assert "答复已发送，已通知提问人。" in after and "今后这类新问题不再发给您" in after
    assert english_words(visible_text(after)) == {}
    with app.app_context():
        question = db.session.get(Question, question_id)
        assert (question.status, question.answer) == ("answered", "可以先找物业协调。")
    assert _told(app, asker_id) == 1


def test_experts_who_did_not_take_the_question_are_kept_out_as_before(app):
    """Only the expert who took the question keeps it: an expert moved out of its pool who
    had not taken it, one of another province, and another expert of the pool while it is
    taken are refused as before."""
    question_id, _asker_id, _taker = _taken_question(app)
    with app.app_context():
        moved, far, colleague = _expert(), _expert(region=ZHEJIANG), _expert()
        ops.make_expert(
            moved, kind="lawyer", region_code=ZHEJIANG, categories_=[], languages=[], hours=""
        )
        db.session.commit()
        phones = moved.phone, far.phone, colleague.phone
        question = db.session.get(Question, question_id)
        assert not ops.may_answer(moved, question) and not ops.may_answer(far, question)
        assert ops.moved_out(moved, question) is None
    page = f"/consultation/{question_id}"
    moved, far, colleague = (_logged_in(app, phone) for phone in phones)
    for outsider in (moved, far):
        token = csrf_token(outsider, "/consultation/queue")
        assert outsider.get(page).status_code == 404
        form = {"answer": "我来答", "csrf_token": token}
        for step in ("take", "answer"):
            assert outsider.post(f"{page}/{step}", data=form).status_code == 404
    token = csrf_token(colleague, page)
    refused = colleague.post(f"{page}/answer", data={"answer": "我来答", "csrf_token": token})
    assert refused.status_code == 422
    assert "另一位专家正在答复这个问题" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Question, question_id).status == "taken"
