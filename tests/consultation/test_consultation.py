"""Consultation (issue #20, item 1): a question goes to the region's expert pool, is
answered in writing within the stated time or escalated by the worker, and becomes a case
with one action. Runs on SQLite and PostgreSQL (the ``app`` fixture's databases)."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm.attributes import set_committed_value

from mediation import worker
from mediation.accounts import operations as accounts
from mediation.accounts.models import Role, User
from mediation.cases import statistics
from mediation.cases.clocks import working_days_after
from mediation.cases.models import Evidence
from mediation.consultation import operations as ops
from mediation.consultation.models import Question
from mediation.core.forms import FieldError
from mediation.extensions import db
from mediation.journal.models import JournalEntry
from mediation.notify.models import OutboxMessage
from tests.agreements.conftest import drawing
from tests.conftest import csrf_token, login, post_form
from tests.core.test_no_english import english_words, visible_text
from tests.factories import PASSWORD, make_institution, make_user, valid_id_number

JIANGSU, ZHEJIANG = "320000", "330000"
# A Friday in the past (so that "late" does not depend on today): two working days later
# is the next Tuesday's end (cases.clocks).
FRIDAY = datetime(2025, 12, 5, 2, 0, tzinfo=UTC)


def _expert(region=JIANGSU, cats=("neighbourhood",), **fields):
    user = make_user(Role.expert, **fields)
    ops.make_expert(
        user, kind="lawyer", region_code=region, categories_=list(cats), languages=[], hours=""
    )
    return user


def _sms_to(user) -> list[str]:
    return list(
        db.session.scalars(select(OutboxMessage.body).where(OutboxMessage.recipient == user.phone))
    )


def _ask(asker, **fields):
    values = {
        "category": "neighbourhood",
        "region_code": JIANGSU,
        "subject": "楼上漏水谁来赔",
        "text": "楼上卫生间漏水三个月，物业不管。",
        "now": FRIDAY,
    } | fields
    return ops.ask(asker, **values)


def test_a_question_goes_to_its_pool_and_the_answer_to_the_asker(app_ctx):
    asker = make_user()
    lawyer, everything = _expert(), _expert(cats=())
    elsewhere, other_kind = _expert(region=ZHEJIANG), _expert(cats=("labour",))
    question = _ask(asker, files=[("收据.png", drawing())])
    zone = ZoneInfo("Asia/Shanghai")
    assert question.due_at == working_days_after(FRIDAY, 2, zone)
    assert question.due_at.astimezone(zone).date().isoformat() == "2025-12-09"
    assert ops.pool(question) == [lawyer, everything]
    assert len(_sms_to(lawyer)) == 1 and _sms_to(elsewhere) == _sms_to(other_kind) == []
    assert [q.id for q in ops.queue(lawyer)] == [question.id] and ops.queue(elsewhere) == []
    assert question.attachments[0].sha256 and question.attachments[0].content_type == "image/png"

    ops.take(question, lawyer)
    assert ops.queue(everything) == []  # taken: not waiting for the others any more
    # Another expert who read it open a moment earlier does not take it over.
    set_committed_value(question, "status", "open")
    with pytest.raises(FieldError):
        ops.take(question, everything)
    assert question.status == "taken" and question.expert_id == lawyer.id
    ops.answer(question, lawyer, "可以先找物业协调，再申请人民调解。")
    assert question.status == "answered"
    assert "已有回复" in _sms_to(asker)[-1]


def test_late_questions_are_escalated_once_by_the_worker(app, app_ctx):
    assert worker.late_questions in worker.JOBS
    institution = make_institution(region_code="320102")
    admin = make_user(Role.institution_admin, institution_id=institution.id)
    platform = make_user(Role.platform_admin)
    far_admin = make_user(
        Role.institution_admin, institution_id=make_institution(region_code="330102").id
    )
    expert = _expert()
    asker = make_user()
    late, answered = _ask(asker), _ask(asker, subject="另一个问题")
    ops.answer(answered, expert, "答复", now=FRIDAY + timedelta(hours=3))
    before = {u.id: len(_sms_to(u)) for u in (admin, platform, far_admin, expert)}

    assert ops.escalate_late(now=late.due_at - timedelta(seconds=1)) == 0
    assert ops.escalate_late(now=late.due_at + timedelta(seconds=1)) == 1
    assert late.escalated_at is not None and late.escalated_to == 3
    assert answered.escalated_at is None
    told = {u.id: len(_sms_to(u)) - before[u.id] for u in (admin, platform, far_admin, expert)}
    assert told == {admin.id: 1, platform.id: 1, far_admin.id: 0, expert.id: 1}
    # Once only, and the worker's job does the same through its own transaction.
    db.session.commit()
    assert worker.late_questions(app) == "0 late questions escalated"
    figures = statistics.figures()
    assert figures.others["consultations"] == 2
    assert figures.others["consultations_answered"] == 1
    assert figures.others["consultations_late"] == 1


def test_a_question_becomes_a_draft_case_with_its_text_files_and_history(app_ctx):
    asker, expert = make_user(), _expert()
    question = _ask(asker, files=[("收据.png", drawing())])
    ops.answer(question, expert, "建议申请调解。")
    case = ops.to_case(question, asker)
    assert ops.to_case(question, asker) is case  # once only
    assert (case.status, case.title, case.facts) == ("draft", question.subject, question.text)
    assert case.region_code == JIANGSU and case.party_users() == [asker]
    files = db.session.scalars(select(Evidence).where(Evidence.case_id == case.id)).all()
    assert [f.sha256 for f in files] == [question.attachments[0].sha256]
    actions = db.session.scalars(
        select(JournalEntry.action).where(JournalEntry.case_id == case.id).order_by("seq")
    ).all()
    assert actions == [
        "case.opened",
        "consultation.asked",
        "consultation.answered",
        "evidence.added",
        "consultation.converted",
    ]
    assert statistics.figures().others["consultations_converted"] == 1


def test_only_the_asker_the_pool_and_the_region_s_admins_see_a_question(app, client):
    with app.app_context():
        asker, stranger = make_user(), make_user()
        expert, far_expert = _expert(), _expert(region=ZHEJIANG)
        admin = make_user(
            Role.institution_admin, institution_id=make_institution(region_code="320102").id
        )
        question = _ask(asker, files=[("收据.png", drawing())])
        qid, fid = question.id, question.attachments[0].id
        phones = {
            "asker": asker.phone,
            "stranger": stranger.phone,
            "expert": expert.phone,
            "far": far_expert.phone,
            "admin": admin.phone,
        }
        db.session.commit()
    seen = {}
    for who, phone in phones.items():
        c = app.test_client()
        assert login(c, phone, PASSWORD).status_code == 302
        seen[who] = (
            c.get(f"/consultation/{qid}").status_code,
            c.get(f"/consultation/{qid}/files/{fid}").status_code,
        )
        if who == "expert":
            answered = post_form(
                c,
                f"/consultation/{qid}/answer",
                {"answer": "可以申请人民调解。"},
                form_page=f"/consultation/{qid}",
            )
            assert answered.status_code == 302
        if who == "stranger":
            token = csrf_token(c, "/consultation/ask")
            refused = c.post(f"/consultation/{qid}/case", data={"csrf_token": token})
            assert refused.status_code == 404
    assert seen == {
        "asker": (200, 200),
        "stranger": (404, 404),
        "expert": (200, 200),
        "far": (404, 404),
        "admin": (200, 200),
    }
    # The asker reads the answer with the institutions' statement, in plain Chinese.
    assert login(client, phones["asker"], PASSWORD).status_code == 302
    page = client.get(f"/consultation/{qid}").get_data(as_text=True)
    assert "可以申请人民调解。" in page and "仅供参考" in page and "不是平台" in page
    assert english_words(visible_text(page)) == {}
    made = post_form(client, f"/consultation/{qid}/case", {}, form_page=f"/consultation/{qid}")
    assert made.status_code == 302 and "/intake/dispute" in made.location


def test_someone_without_an_account_proves_the_phone_then_asks(app, client):
    page = post_form(client, "/consultation/start", {"phone": "13877770031"})
    assert page.status_code == 302 and page.location.endswith("/consultation/start/confirm")
    wrong = post_form(
        client, "/consultation/start/confirm", {"code": "000000", "real_name": "王五"}
    )
    assert wrong.status_code == 422 and "验证码" in wrong.get_data(as_text=True)
    from tests.conftest import code_sent_to

    code = code_sent_to(app, "+8613877770031")
    done = post_form(client, "/consultation/start/confirm", {"code": code, "real_name": "王五"})
    assert done.status_code == 302 and done.location.endswith("/consultation/ask")
    form = client.get("/consultation/ask").get_data(as_text=True)
    assert "省份" in form and english_words(visible_text(form)) == {}


def test_hostile_questions_are_refused_with_a_reason_and_asking_is_rate_limited(app, client):
    with app.app_context():
        phone = make_user().phone
        db.session.commit()
    assert login(client, phone, PASSWORD).status_code == 302
    token = csrf_token(client, "/consultation/ask")
    # Six questions an hour from one address here: a script's ten thousand get 429.
    app.config["CONSULTATION_ASK_LIMIT"] = "6 per hour"
    fields = {"category": "neighbourhood", "region_code": JIANGSU, "subject": "问题"}

    def ask(text="请问", files=()):
        data = {**fields, "text": text, "csrf_token": token}
        data["files"] = [(io.BytesIO(body), name) for name, body in files]
        return client.post("/consultation/ask", data=data, content_type="multipart/form-data")

    cases = [
        (ask(text="字" * 5001), "5000"),
        (ask(files=[("a.exe", b"MZ" + b"\0" * 100)]), "PDF"),
        (ask(files=[("empty.png", b"")]), "empty.png"),
        (ask(files=[(f"{n}.png", drawing()) for n in range(6)]), "5"),
        (ask(files=[("big.pdf", b"%PDF-1.4\n" + b"0" * (20 * 2**20))]), "20 MB"),
    ]
    for response, message in cases:
        assert response.status_code == 422, (message, response.get_data(as_text=True)[-3000:])
        assert message in response.get_data(as_text=True)
    try:
        statuses = [ask().status_code for _ in range(3)]  # a sixth, then two more
    finally:
        app.config["CONSULTATION_ASK_LIMIT"] = "10 per hour"
    # Every POST of the address counts, refused or not: the sixth is the last one.
    assert statuses == [302, 429, 429]
    with app.app_context():
        assert db.session.scalar(select(db.func.count(Question.id))) == 1


def test_an_administrator_adds_an_expert_to_the_province_s_pool(app, client):
    with app.app_context():
        institution = make_institution(region_code="320102")
        admin = make_user(Role.institution_admin, institution_id=institution.id)
        mediator = make_user(Role.mediator, institution_id=institution.id)
        phone, mediator_phone = admin.phone, mediator.phone
        db.session.commit()
    assert login(client, phone, PASSWORD).status_code == 302
    assert "咨询专家" in client.get("/institution/").get_data(as_text=True)
    form = client.get("/consultation/experts/new").get_data(as_text=True)
    assert 'value="330000"' not in form  # another province is not theirs to staff
    new = {"kind": "lawyer", "region_code": JIANGSU, "hours": "工作日", "languages": "普通话"}
    for who in (
        {"phone": "13877770051", "real_name": "赵律师", "id_number": valid_id_number(9051)},
        {
            "phone": mediator_phone,
            "real_name": "调解员",
            "id_number": valid_id_number(9052),
        },
    ):
        response = post_form(client, "/consultation/experts/new", {**new, **who})
        problems = re.findall(r'id="([^"]+)-error" class="field-error"', response.text)
        assert response.status_code == 302, problems
    listed = client.get("/consultation/experts").get_data(as_text=True)
    assert "赵律师" in listed and "律师" in listed
    # The profile as given: the languages the expert answers in, beside the hours.
    assert "<td>普通话</td>" in listed and "<td>工作日</td>" in listed
    with app.app_context():
        both = db.session.scalars(
            select(User).where(User.phone.in_(["+8613877770051", mediator_phone]))
        ).all()
        assert all(u.has_role(Role.expert) for u in both) and len(both) == 2
        assert any(u.has_role(Role.mediator) for u in both)  # kept the mediator's role


def test_an_expert_of_another_province_or_an_unproven_number_is_not_taken_over(app_ctx):
    shanghai = make_user(Role.mediator)
    ops.make_expert(
        shanghai, kind="lawyer", region_code="310000", categories_=[], languages=[], hours=""
    )
    # A Jiangsu institution's administrator may not move Shanghai's expert.
    with pytest.raises(FieldError) as refused:
        ops.make_expert(
            shanghai,
            kind="lawyer",
            region_code="320000",
            categories_=[],
            languages=[],
            hours="",
            admin_province="320000",
        )
    assert refused.value.field == "phone"
    # A number somebody named in a dispute, never proven by its owner.
    named = accounts.party_with_phone("+8613877779911", real_name="某人")
    with pytest.raises(FieldError):
        ops.make_expert(
            named, kind="lawyer", region_code="320000", categories_=[], languages=[], hours=""
        )
    assert not named.has_role(Role.expert)


def test_an_asker_without_a_party_account_is_not_offered_a_case(app, client):
    """Filing is for a party's account (cases.intake_views): an expert who asked a question
    themselves is told so, not given a draft whose page then refuses them."""
    with app.app_context():
        asker = _expert(region=ZHEJIANG)  # not in the question's pool: an asker only
        assert not asker.has_role(Role.party)
        qid, phone = _ask(asker).id, asker.phone
        db.session.commit()
    assert login(client, phone, PASSWORD).status_code == 302
    page = client.get(f"/consultation/{qid}").get_data(as_text=True)
    assert f"/consultation/{qid}/case" not in page and "当事人本人的账号" in page
    token = csrf_token(client, f"/consultation/{qid}")
    assert client.post(f"/consultation/{qid}/case", data={"csrf_token": token}).status_code == 403
    with app.app_context():
        assert db.session.get(Question, qid).case_id is None
