"""A question taken by an expert and never answered is freed (handover.py): the expert gives
it back (放回), or once it is late a colleague of the pool takes it over or the region's
administrator puts it back in the pool. Who is told, what is recorded, who may no longer
answer it. Runs on SQLite and PostgreSQL (the ``app`` fixture's databases)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from mediation.accounts.models import Role
from mediation.consultation import operations as ops
from mediation.consultation.models import Handover
from mediation.core.forms import FieldError
from mediation.extensions import db
from mediation.journal.models import JournalEntry
from tests.consultation.test_consultation import FRIDAY, ZHEJIANG, _ask, _expert, _sms_to
from tests.factories import make_institution, make_user

# The question asked on FRIDAY is due at the end of the next Tuesday (China time).
HOUR = timedelta(hours=1)


def _taken(**expert_fields):
    asker, holder, colleague = make_user(), _expert(**expert_fields), _expert()
    question = _ask(asker)
    ops.take(question, holder, now=FRIDAY + HOUR)
    return question, asker, holder, colleague


def _admin(region_code="320102"):
    return make_user(
        Role.institution_admin, institution_id=make_institution(region_code=region_code).id
    )


def test_the_expert_gives_a_question_back_and_the_pool_is_told_as_when_it_was_asked(app_ctx):
    question, asker, holder, colleague = _taken()
    due, asker_told = question.due_at, len(_sms_to(asker))
    colleague_told = len(_sms_to(colleague))
    ops.give_back(question, holder, "conflict", "  对方是我的  客户 ", now=FRIDAY + 2 * HOUR)

    assert (question.status, question.expert_id, question.taken_at) == ("open", None, None)
    assert question.due_at == due  # the asker keeps the time they were given
    (record,) = question.handovers
    assert (record.kind, record.expert_id, record.by_id) == ("given_back", holder.id, holder.id)
    assert (record.reason, record.note) == ("conflict", "对方是我的 客户")
    assert record.taken_at == FRIDAY + HOUR
    # The pool is told it waits again; the asker, nothing; the expert is not told of it.
    assert len(_sms_to(colleague)) == colleague_told + 1
    assert "重新等待本地区专家答复" in _sms_to(colleague)[-1]
    assert len(_sms_to(asker)) == asker_told
    assert not any("重新等待" in body for body in _sms_to(holder))
    # They do not take it again; a colleague does, and answers.
    assert ops.queue(holder) == [] and [q.id for q in ops.queue(colleague)] == [question.id]
    with pytest.raises(ops.FreedError):
        ops.take(question, holder)
    with pytest.raises(ops.FreedError):
        ops.answer(question, holder, "我还是答一下")
    ops.answer(question, colleague, "可以申请调解。")
    assert (question.status, question.expert_id) == ("answered", colleague.id)


def test_giving_back_needs_a_reason_and_only_the_expert_who_holds_it_gives_it_back(app_ctx):
    question, _asker, holder, colleague = _taken()
    for reason, note, field in (
        ("", "", "reason"),
        ("bored", "", "reason"),
        ("other", "   ", "note"),
        ("other", "字" * 201, "note"),
    ):
        with pytest.raises(FieldError) as refused:
            ops.give_back(question, holder, reason, note)
        assert refused.value.field == field
    with pytest.raises(ops.NotAllowedError):
        ops.give_back(question, colleague, "time")
    assert question.status == "taken" and question.handovers == []


def test_a_late_question_is_taken_over_by_a_colleague_and_its_expert_told(app_ctx):
    question, asker, holder, colleague = _taken()
    third = _expert()
    far = _expert(region=ZHEJIANG)
    before_due = question.due_at - HOUR
    assert not ops.may_take_over(colleague, question, now=before_due)
    with pytest.raises(FieldError) as early:
        ops.take_over(question, colleague, holder.id, now=before_due)
    assert "可在" in early.value.message
    late = question.due_at + HOUR
    assert ops.may_take_over(colleague, question, now=late)
    assert not ops.may_take_over(far, question, now=late)
    with pytest.raises(ops.NotAllowedError):
        ops.take_over(question, far, holder.id, now=late)
    asker_told = len(_sms_to(asker))

    record = ops.take_over(question, colleague, holder.id, now=late)
    assert (question.status, question.expert_id, question.taken_at) == ("taken", colleague.id, late)
    assert (record.kind, record.expert_id, record.by_id, record.reason) == (
        "taken_over",
        holder.id,
        colleague.id,
        "late",
    )
    assert "现已由本地区另一位专家接手" in _sms_to(holder)[-1]
    assert len(_sms_to(asker)) == asker_told
    # The first expert no longer answers it, and is told why in their page's words.
    with pytest.raises(ops.FreedError):
        ops.answer(question, holder, "我写好了")
    with app_ctx.test_request_context():
        assert "另一位专家接手了它" in ops.freed_notice(holder, question)
    # The colleague who took it over late has until the end of the next working day: a
    # third expert does not take it from them at once (nor the first one ever).
    assert not ops.may_take_over(third, question, now=late + HOUR)
    with pytest.raises(FieldError):
        ops.take_over(question, third, colleague.id, now=late + HOUR)
    assert ops.may_take_over(third, question, now=late + timedelta(days=2))
    assert not ops.may_take_over(holder, question, now=late + timedelta(days=2))
    # Shown to the others of the pool in their queue while they may take it over.
    assert question.id not in [q.id for q in ops.queue(third, now=late + HOUR)]
    assert question.id in [q.id for q in ops.queue(third, now=late + timedelta(days=2))]


def test_a_late_question_is_put_back_by_the_region_s_administrator(app_ctx):
    question, asker, holder, colleague = _taken()
    admin, platform, far_admin = _admin(), make_user(Role.platform_admin), _admin("330102")
    late = question.due_at + HOUR
    assert ops.may_put_back(admin, question) and ops.may_put_back(platform, question)
    assert not ops.may_put_back(far_admin, question) and not ops.may_put_back(colleague, question)
    with pytest.raises(ops.NotAllowedError):
        ops.put_back(question, far_admin, holder.id, now=late)
    with pytest.raises(FieldError):
        ops.put_back(question, admin, holder.id, now=question.due_at - HOUR)
    with pytest.raises(FieldError):  # the page showed another expert holding it
        ops.put_back(question, admin, colleague.id, now=late)
    asker_told, colleague_told = len(_sms_to(asker)), len(_sms_to(colleague))

    record = ops.put_back(question, admin, holder.id, "两天没有回复", now=late)
    assert (question.status, question.expert_id) == ("open", None)
    assert (record.kind, record.by_id, record.reason, record.note) == (
        "put_back",
        admin.id,
        "late",
        "两天没有回复",
    )
    assert "本地区管理员已将它放回" in _sms_to(holder)[-1]
    assert len(_sms_to(colleague)) == colleague_told + 1
    assert "答复期限" in _sms_to(colleague)[-1]  # the time stated has passed
    assert len(_sms_to(asker)) == asker_told
    with pytest.raises(FieldError):  # already waiting
        ops.put_back(question, platform, holder.id, now=late)
    assert ops.waiting_in_region("320000") == [question]
    assert ops.waiting_in_region("330000") == []
    assert ops.handed_over_in_region("320000") == [record]
    assert ops.handed_over_in_region("330000") == []


def test_the_same_step_sent_twice_is_done_once(app_ctx):
    """The second request finds what the first did (the question's row lock, then the
    newest record) and is answered as the first: nothing recorded or sent twice."""
    question, _asker, holder, colleague = _taken()
    ops.give_back(question, holder, "time", now=FRIDAY + 2 * HOUR)
    told = len(_sms_to(colleague))
    with pytest.raises(ops.HandedOverAlreadyError):
        ops.give_back(question, holder, "time", now=FRIDAY + 2 * HOUR + timedelta(seconds=3))
    assert len(question.handovers) == 1 and len(_sms_to(colleague)) == told

    ops.take(question, colleague, now=FRIDAY + 3 * HOUR)
    third = _expert()
    late = question.due_at + HOUR
    ops.take_over(question, third, colleague.id, now=late)
    with pytest.raises(ops.HandedOverAlreadyError):
        ops.take_over(question, third, colleague.id, now=late + timedelta(seconds=2))
    assert len(question.handovers) == 2 and question.expert_id == third.id

    admin = _admin()
    later = late + timedelta(days=3)
    ops.put_back(question, admin, third.id, now=later)
    with pytest.raises(ops.HandedOverAlreadyError):
        ops.put_back(question, admin, third.id, now=later + timedelta(seconds=2))
    assert len(question.handovers) == 3 and question.status == "open"


def test_a_question_turned_into_a_case_records_that_it_went_to_another_expert(app_ctx):
    """The case's timeline notes each time the question went to another expert (not why,
    which is for the region's staff), whether before the case was made or after."""
    question, asker, holder, colleague = _taken()
    ops.give_back(question, holder, "field", now=FRIDAY + 2 * HOUR)
    case = ops.to_case(question, asker)
    ops.take(question, colleague, now=FRIDAY + 3 * HOUR)
    ops.take_over(question, _expert(), colleague.id, now=question.due_at + HOUR)
    entries = db.session.scalars(
        select(JournalEntry).where(JournalEntry.case_id == case.id).order_by(JournalEntry.seq)
    ).all()
    handed = [e for e in entries if e.action == "consultation.handed_over"]
    assert len(handed) == 2 and all(set(e.payload) <= {"question_id", "at"} for e in handed)
    assert handed[0].actor_id == holder.id
    assert db.session.scalar(select(db.func.count(Handover.id))) == 2


def test_taking_a_question_again_keeps_the_time_it_was_taken(app_ctx):
    """A second tap on 由我来答复 kept the question but moved its time taken to the tap:
    counted from there, a colleague could not take it over when it was late."""
    question, _asker, holder, _colleague = _taken()
    ops.take(question, holder, now=FRIDAY + 5 * HOUR)
    db.session.refresh(question)
    assert question.taken_at == FRIDAY + HOUR
