"""Reminders before the art 12 and art 24 deadlines, each sent once."""

from datetime import timedelta

from sqlalchemy import select

from mediation.cases import assignment, extension, reminders, respondent
from mediation.extensions import db
from mediation.notify.models import OutboxMessage
from tests.factories import make_case, make_institution, make_mediator, make_user


def texts_to(user):
    return list(
        db.session.scalars(select(OutboxMessage.body).where(OutboxMessage.recipient == user.phone))
    )


def test_the_mediator_is_reminded_once_before_the_acceptance_deadline(app_ctx):
    mediator = make_mediator(make_institution())
    case = make_case(make_user(), make_user())
    assignment.assign(
        case, institution=mediator.institution, mediator=mediator, how="chosen", by=None
    )
    due = case.acceptance_due_at
    assert reminders.send_due(now=due - timedelta(days=2)) == 0
    assert reminders.send_due(now=due - timedelta(hours=20)) == 1
    assert reminders.send_due(now=due - timedelta(hours=2)) == 0
    assert sum("等待您" in t for t in texts_to(mediator)) == 1


def test_everyone_is_told_before_the_mediation_period_ends_and_again_after_an_extension(app_ctx):
    mediator = make_mediator(make_institution())
    case = make_case(make_user(), make_user(), mediator=mediator)
    applicant, other_side = case.party_users()
    respondent.answer(
        case,
        by=other_side,
        agree=True,
        consent=True,
        service_address="南京",
        service_confirmed=True,
    )
    due = case.mediation_due_at
    assert reminders.send_due(now=due - timedelta(days=2)) == 1
    assert reminders.send_due(now=due - timedelta(days=1)) == 0
    assert any("调解期限" in t for t in texts_to(applicant))
    extension.propose(case, by=mediator, days=10)
    extension.consent(case, by=applicant)
    extension.consent(case, by=other_side)
    assert reminders.send_due(now=case.mediation_due_at - timedelta(days=2)) == 1
