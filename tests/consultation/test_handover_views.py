"""The pages of a question freed from its expert (handover_views.py): each new route asked
by every role — the asker, another asker, an expert outside the pool, the expert holding
the question, a colleague of the pool, the region's administrator, another region's,
the platform's, an anonymous visitor — a double tap, two people at once, and the first
expert's page once it is no longer theirs. Runs on SQLite and PostgreSQL.

The questions are asked on a Friday in 2025 (tests/consultation/test_consultation.py), so
they are late now, whatever today is."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from mediation.accounts.models import Role, User
from mediation.consultation import operations as ops
from mediation.consultation.models import Handover, Question
from mediation.core.db import utcnow
from mediation.extensions import db
from tests.conftest import at_once, csrf_token, login
from tests.consultation.test_consultation import FRIDAY, ZHEJIANG, _ask, _expert, _sms_to
from tests.core.test_no_english import english_words, visible_text
from tests.factories import PASSWORD, make_institution, make_user

ROLES = (
    "asker",
    "other_asker",
    "far_expert",
    "holder",
    "colleague",
    "admin",
    "far_admin",
    "platform",
    "anonymous",
)


def _world(app, *, late: bool = True) -> dict:
    """A question of Jiangsu taken by ``holder``; everyone of ROLES; ids and phones."""
    with app.app_context():
        people = {
            "asker": make_user(),
            "other_asker": make_user(),
            "far_expert": _expert(region=ZHEJIANG),
            "holder": _expert(real_name="李律师"),
            "colleague": _expert(real_name="王律师"),
            "admin": make_user(
                Role.institution_admin,
                institution_id=make_institution(region_code="320102").id,
            ),
            "far_admin": make_user(
                Role.institution_admin,
                institution_id=make_institution(region_code="330102").id,
            ),
            "platform": make_user(Role.platform_admin),
        }
        _ask(people["other_asker"], subject="别人的问题")
        now = utcnow() if not late else FRIDAY
        question = _ask(people["asker"], now=now)
        ops.take(question, people["holder"], now=now + timedelta(minutes=5))
        db.session.commit()
        return {
            "question": question.id,
            "ids": {k: u.id for k, u in people.items()},
            "phones": {k: u.phone for k, u in people.items()},
        }


def _client(app, world, who):
    client = app.test_client()
    if who != "anonymous":
        assert login(client, world["phones"][who], PASSWORD).status_code == 302
    return client


def _post(app, world, who, step, data):
    client = _client(app, world, who)
    page = f"/consultation/{world['question']}"
    # The session's token, from a form every visitor may open.
    token = csrf_token(client, "/consultation/start" if who == "anonymous" else "/consultation/ask")
    return client, client.post(f"{page}/{step}", data={**data, "csrf_token": token})


def _tapped(client, url, form) -> tuple[str, str]:
    """One tap: where the POST sends the browser, and the page it shows there."""
    response = client.post(url, data=form)
    assert response.status_code == 302, response.status_code
    return response.location, client.get(response.location).get_data(as_text=True)


def _state(app, question_id):
    with app.app_context():
        question = db.session.get(Question, question_id)
        records = db.session.scalar(select(func.count(Handover.id)))
        return question.status, question.expert_id, records


def _refused(response) -> bool:
    location = response.headers.get("Location", "")
    return response.status_code in (403, 404) or (
        response.status_code == 302 and "/login" in location
    )


STEPS = {
    "give-back": ({"reason": "field"}, {"holder"}),
    "take-over": (None, {"colleague"}),
    "put-back": (None, {"admin", "platform"}),
}


@pytest.mark.parametrize("step", STEPS)
def test_each_role_may_or_may_not_free_the_question(app, step):
    """Exactly the people the step is for get through; everyone else is refused (403, 404,
    or the login page for a visitor) and nothing changes."""
    data, allowed = STEPS[step]
    world = _world(app)
    before = _state(app, world["question"])
    holder = world["ids"]["holder"]
    for who in ROLES:
        if who in allowed:
            continue
        _, response = _post(app, world, who, step, data or {"holder": holder})
        if (step, who) == ("take-over", "holder"):
            assert response.status_code == 302  # theirs already: nothing to take over
        else:
            assert _refused(response), (who, response.status_code)
        assert _state(app, world["question"]) == before, who
    for who in sorted(allowed):
        fresh = _world(app)
        _, response = _post(app, fresh, who, step, data or {"holder": fresh["ids"]["holder"]})
        assert response.status_code == 302, (who, response.status_code)
        status, expert, _records = _state(app, fresh["question"])
        assert (status, expert) == (
            ("taken", fresh["ids"]["colleague"]) if step == "take-over" else ("open", None)
        ), who


def test_the_region_s_questions_page_is_its_administrators(app):
    world = _world(app)
    with app.app_context():
        question = db.session.get(Question, world["question"])
        admin = db.session.get(type(question.asker), world["ids"]["admin"])
        ops.put_back(question, admin, world["ids"]["holder"], "两天没有回复")
        db.session.commit()
    for who in ROLES:
        response = _client(app, world, who).get("/consultation/questions")
        if who in ("admin", "platform"):
            page = response.get_data(as_text=True)
            assert response.status_code == 200
            assert "楼上漏水谁来赔" in page and "管理员放回" in page and "两天没有回复" in page
            assert "李律师" in page and "未在告知提问人的期限前答复" in page
            assert english_words(visible_text(page)) == {}
        elif who == "far_admin":
            assert response.status_code == 200
            assert "楼上漏水谁来赔" not in response.get_data(as_text=True)
        else:
            assert _refused(response), who


def test_the_expert_gives_it_back_from_the_question_page_with_a_reason(app):
    world = _world(app, late=False)
    holder = _client(app, world, "holder")
    page = f"/consultation/{world['question']}"
    shown = holder.get(page).get_data(as_text=True)
    assert "我无法答复这个问题：放回" in shown and "利益冲突" in shown
    assert english_words(visible_text(shown)) == {}
    token = csrf_token(holder, page)
    # No reason chosen: the page again, saying what is missing, the note kept.
    missing = holder.post(f"{page}/give-back", data={"note": "出差", "csrf_token": token})
    assert missing.status_code == 422
    text = missing.get_data(as_text=True)
    assert "请选择放回这个问题的原因" in text and 'value="出差"' in text
    # The asker is shown nothing alarming: waiting, the same time stated.
    asker = _client(app, world, "asker")
    due_before = asker.get(page).get_data(as_text=True)

    form = {"reason": "time", "csrf_token": token}
    first, second = (_tapped(holder, f"{page}/give-back", form) for _ in range(2))
    assert first[0] == second[0] and first[0].endswith("/consultation/queue")
    assert "您已放回这个问题" in first[1] and "您已放回这个问题" in second[1]
    assert _state(app, world["question"]) == ("open", None, 1)
    with app.app_context():
        colleague = db.session.get(
            type(db.session.get(Question, world["question"]).asker), world["ids"]["colleague"]
        )
        assert sum("重新等待" in body for body in _sms_to(colleague)) == 1
    waiting = asker.get(page).get_data(as_text=True)
    assert "等待专家答复" in waiting and "放回" not in waiting
    due = due_before.split("答复期限")[1][:80]
    assert due in waiting
    # The expert's own page now says it is no longer theirs, with no form.
    mine = holder.get(page).get_data(as_text=True)
    assert "您已于" in mine and "放回这个问题" in mine and "发送答复" not in mine
    assert holder.post(f"{page}/take", data={"csrf_token": token}).status_code == 409


def test_a_colleague_takes_a_late_question_over_and_the_first_expert_s_answer_is_kept(app):
    world = _world(app)
    page = f"/consultation/{world['question']}"
    holder = _client(app, world, "holder")
    holder_token = csrf_token(holder, page)  # the answer form open on the first expert's desk
    colleague = _client(app, world, "colleague")
    offered = colleague.get(page).get_data(as_text=True)
    assert "接手答复" in offered and "李律师于" in offered
    assert english_words(visible_text(offered)) == {}
    queue = colleague.get("/consultation/queue").get_data(as_text=True)
    assert "楼上漏水谁来赔" in queue and "您可以接手" in queue
    token = csrf_token(colleague, page)
    form = {"holder": world["ids"]["holder"], "csrf_token": token}
    first, second = (_tapped(colleague, f"{page}/take-over", form) for _ in range(2))
    assert first[0] == second[0]
    assert "这个问题现在由您答复" in first[1] and "这个问题现在由您答复" in second[1]
    assert _state(app, world["question"]) == ("taken", world["ids"]["colleague"], 1)

    sent = holder.post(
        f"{page}/answer", data={"answer": "我写好的答复", "csrf_token": holder_token}
    )
    assert sent.status_code == 409
    text = sent.get_data(as_text=True)
    assert "另一位专家接手了它" in text and "我写好的答复" in text and "您的答复没有发送" in text
    assert english_words(visible_text(text)) == {}
    assert _state(app, world["question"]) == ("taken", world["ids"]["colleague"], 1)
    with app.app_context():
        first_expert = db.session.get(
            type(db.session.get(Question, world["question"]).asker), world["ids"]["holder"]
        )
        assert sum("另一位专家接手" in body for body in _sms_to(first_expert)) == 1


def test_two_colleagues_at_once_one_takes_it_over(app):
    world = _world(app)
    with app.app_context():
        third = _expert(real_name="赵律师")
        db.session.commit()
        world["phones"]["third"] = third.phone
    page = f"/consultation/{world['question']}"
    clients = [_client(app, world, who) for who in ("colleague", "third")]
    forms = [{"holder": world["ids"]["holder"], "csrf_token": csrf_token(c, page)} for c in clients]
    answers = at_once(
        *(
            lambda c=c, f=f: c.post(f"{page}/take-over", data=f)
            for c, f in zip(clients, forms, strict=True)
        )
    )
    assert [a.status_code for a in answers] == [302, 302], answers
    status, expert, records = _state(app, world["question"])
    assert status == "taken" and records == 1 and expert != world["ids"]["holder"]
    said = [c.get(a.location).get_data(as_text=True) for c, a in zip(clients, answers, strict=True)]
    assert sum("另一位专家刚刚接手了这个问题" in s for s in said) == 1


def test_an_administrator_and_a_colleague_at_once_free_it_once(app):
    world = _world(app)
    page = f"/consultation/{world['question']}"
    admin, colleague = _client(app, world, "admin"), _client(app, world, "colleague")
    shown = admin.get(page).get_data(as_text=True)
    assert "放回，交由其他专家答复" in shown and english_words(visible_text(shown)) == {}
    holder = world["ids"]["holder"]
    answers = at_once(
        lambda: admin.post(
            f"{page}/put-back", data={"holder": holder, "csrf_token": csrf_token(admin, page)}
        ),
        lambda: colleague.post(
            f"{page}/take-over",
            data={"holder": holder, "csrf_token": csrf_token(colleague, page)},
        ),
    )
    assert [a.status_code for a in answers] == [302, 302], answers
    status, expert, records = _state(app, world["question"])
    # Either the colleague took it over (and the administrator is told so), or it went
    # back to the pool and the colleague took it from there: one record, the colleague's.
    assert records == 1 and (status, expert) == ("taken", world["ids"]["colleague"])


def test_the_administrator_s_put_back_sent_twice_is_done_once(app):
    world = _world(app)
    page = f"/consultation/{world['question']}"
    admin = _client(app, world, "admin")
    form = {"holder": world["ids"]["holder"], "note": "", "csrf_token": csrf_token(admin, page)}
    first, second = (_tapped(admin, f"{page}/put-back", form) for _ in range(2))
    assert first[0] == second[0]
    assert "这个问题已放回本地区专家库" in first[1] and "这个问题已放回本地区专家库" in second[1]
    assert _state(app, world["question"]) == ("open", None, 1)
    record = admin.get(page).get_data(as_text=True)
    assert "转交记录" in record and "李律师" in record
    # A question not late yet offers no put-back, and refuses one with the time it has.
    fresh = _world(app, late=False)
    fresh_page = f"/consultation/{fresh['question']}"
    assert "放回，交由其他专家答复" not in admin.get(fresh_page).get_data(as_text=True)
    early = admin.post(
        f"{fresh_page}/put-back",
        data={"holder": fresh["ids"]["holder"], "csrf_token": csrf_token(admin, fresh_page)},
    )
    assert early.status_code == 302
    assert "可在" in admin.get(early.location).get_data(as_text=True)
    assert _state(app, fresh["question"])[:2] == ("taken", fresh["ids"]["holder"])


def test_taking_over_a_question_put_back_meanwhile_says_only_that_it_is_theirs(app):
    """The colleague's page offered the take-over; the administrator put the question back
    before the tap: the colleague simply takes it, and nobody is said to be told."""
    world = _world(app)
    page = f"/consultation/{world['question']}"
    colleague = _client(app, world, "colleague")
    form = {"holder": world["ids"]["holder"], "csrf_token": csrf_token(colleague, page)}
    with app.app_context():
        question = db.session.get(Question, world["question"])
        admin = db.session.get(type(question.asker), world["ids"]["admin"])
        ops.put_back(question, admin, world["ids"]["holder"])
        db.session.commit()
    _, shown = _tapped(colleague, f"{page}/take-over", form)
    assert "这个问题现在由您答复。" in shown and "已通知原来领取它的专家" not in shown
    assert _state(app, world["question"])[:2] == ("taken", world["ids"]["colleague"])


def test_who_may_put_back_is_who_is_told_when_it_is_late(app):
    """may_put_back asks the user alone; it answers as the list the worker tells does
    (routing.region_admins), for every role, an administrator whose account was closed,
    and one with no institution."""
    world = _world(app)
    with app.app_context():
        question = db.session.get(Question, world["question"])
        closed = make_user(
            Role.institution_admin, institution_id=make_institution(region_code="320102").id
        )
        closed.active = False
        homeless = make_user(Role.institution_admin)
        db.session.flush()
        told = ops.region_admins(question.region_code)
        people = [db.session.get(User, i) for i in world["ids"].values()] + [closed, homeless]
        for user in people:
            assert ops.may_put_back(user, question) == (user in told), user.id
        db.session.rollback()


def test_an_expert_who_gave_it_back_for_a_conflict_no_longer_reads_it(app):
    """A conflict of interest (the expert knows the person who asked, or the other side):
    from then on the question and its answer are not shown to them (they were, as to the
    whole pool); they are told why. The colleague who takes it reads and answers it as
    before; an expert who gave a question back for another reason still sees its page."""
    world = _world(app, late=False)
    holder = _client(app, world, "holder")
    page = f"/consultation/{world['question']}"
    token = csrf_token(holder, page)
    form = {"reason": "conflict", "csrf_token": token}
    first, second = (_tapped(holder, f"{page}/give-back", form) for _ in range(2))
    assert first[0] == second[0] and first[0].endswith("/consultation/queue")
    assert "您已放回这个问题" in first[1] and "您已放回这个问题" in second[1]
    assert _state(app, world["question"]) == ("open", None, 1)

    colleague = _client(app, world, "colleague")
    assert "楼上卫生间漏水" in colleague.get(page).get_data(as_text=True)
    with app.app_context():
        question = db.session.get(Question, world["question"])
        expert = db.session.get(User, world["ids"]["colleague"])
        ops.take(question, expert)
        ops.answer(question, expert, "可先找物业协商，协商不成可申请人民调解。")
        db.session.commit()
    for url in (page, f"{page}/files/1"):
        shown = holder.get(url)
        text = shown.get_data(as_text=True)
        assert shown.status_code == 410, (url, shown.status_code)
        assert "利益冲突" in text and "楼上卫生间漏水" not in text and "物业协商" not in text
        assert english_words(visible_text(text)) == {}
