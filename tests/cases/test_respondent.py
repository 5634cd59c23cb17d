"""The respondent is invited on acceptance, reminded once, and an unanswered case ends."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from mediation.cases import respondent
from mediation.cases.states import CaseStatus, TerminationReason
from mediation.core.forms import FieldError
from mediation.extensions import db
from mediation.notify.models import OutboxMessage
from tests.factories import make_case, make_institution, make_mediator, make_user


@pytest.fixture
def case(app_ctx):
    mediator = make_mediator(make_institution())
    return make_case(make_user(), make_user(password=None), mediator=mediator)


def texts_to(user):
    return list(
        db.session.scalars(select(OutboxMessage.body).where(OutboxMessage.recipient == user.phone))
    )


def test_acceptance_invites_the_respondent_with_a_personal_link(case):
    other_side = case.party_users()[1]
    [text] = texts_to(other_side)
    assert case.number in text and "/join/" in text


def test_refusal_ends_the_case_and_tells_the_applicant(case):
    other_side, applicant = case.party_users()[1], case.party_users()[0]
    respondent.answer(case, by=other_side, agree=False, note="不想调解")
    assert (case.status, case.termination_reason) == (
        CaseStatus.terminated,
        TerminationReason.party_unwilling,
    )
    assert any("不同意调解" in t for t in texts_to(applicant))


def test_agreeing_needs_consent_and_a_service_address(case):
    other_side = case.party_users()[1]
    with pytest.raises(FieldError):
        respondent.answer(
            case,
            by=other_side,
            agree=True,
            consent=False,
            service_address="地址",
            service_confirmed=True,
        )
    respondent.answer(
        case,
        by=other_side,
        agree=True,
        consent=True,
        service_address="南京市鼓楼区1号",
        service_confirmed=True,
    )
    assert case.status == CaseStatus.in_mediation
    row = case.parties[1]
    assert row.consented_at and row.service_address == "南京市鼓楼区1号"


def test_one_reminder_then_the_unanswered_case_ends_as_unreachable(case):
    other_side, applicant = case.party_users()[1], case.party_users()[0]
    due = case.respondent_due_at
    assert respondent.remind_and_expire(now=due - timedelta(days=3)) == (0, 0)
    assert respondent.remind_and_expire(now=due - timedelta(hours=36)) == (1, 0)
    assert respondent.remind_and_expire(now=due - timedelta(hours=6)) == (0, 0)  # once only
    assert len(texts_to(other_side)) == 2  # the invitation and one reminder
    reminder = texts_to(other_side)[-1]
    local_due = due.astimezone(ZoneInfo("Asia/Shanghai"))
    # The actual date, not "tomorrow", written as every day is (core.i18n.format_day).
    assert f"{local_due.year}年{local_due.month}月{local_due.day}日" in reminder
    assert respondent.remind_and_expire(now=due + timedelta(minutes=1)) == (0, 1)
    assert (case.status, case.termination_reason) == (
        CaseStatus.terminated,
        TerminationReason.unreachable,
    )
    assert any("未在期限内答复" in t for t in texts_to(applicant))
    assert respondent.remind_and_expire(now=due + timedelta(days=1)) == (0, 0)


def test_a_respondent_with_an_e_mail_address_is_also_invited_by_e_mail(app_ctx):
    mediator = make_mediator(make_institution())
    other_side = make_user(email="lisi@example.cn")
    case = make_case(make_user(), other_side, mediator=mediator)
    mail = db.session.scalar(
        select(OutboxMessage).where(OutboxMessage.recipient == "lisi@example.cn")
    )
    assert mail.channel == "email" and case.number in mail.subject and "/join/" in mail.body
