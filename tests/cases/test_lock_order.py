"""The worker's deadline jobs and a person's step on the same case at once. Each job
claimed the case's row and then asked for the case's turn (its journal), while the person's
step held the turn and went on to write the case: on PostgreSQL a deadlock, and one of the
two failed (a server error page, or a job that failed its round). The jobs take the turn
first now (core/locks.py: the order of locks): the person's step goes through, and the job
finds the case moved on and leaves it."""

from __future__ import annotations

from datetime import timedelta

from mediation.accounts.models import User
from mediation.cases import assignment, extension, reminders, respondent
from mediation.cases.models import Case
from mediation.cases.states import CaseStatus
from mediation.extensions import db
from tests.booking.race import race_at_the_turn
from tests.factories import (
    make_case,
    make_institution,
    make_mediating_case,
    make_mediator,
    make_user,
)


def awaiting_acceptance(app) -> tuple[int, int]:
    with app.app_context():
        mediator = make_mediator(make_institution())
        case = make_case(make_user(), make_user())
        assignment.assign(
            case, institution=mediator.institution, mediator=mediator, how="chosen", by=None
        )
        db.session.commit()
        return case.id, mediator.id


def accepting(ids: tuple[int, int]):
    case_id, mediator_id = ids
    return lambda: assignment.accept(
        db.session.get(Case, case_id), by=db.session.get(User, mediator_id)
    )


def test_accepted_as_the_worker_finds_the_acceptance_overdue(app, tmp_path, monkeypatch):
    ids = awaiting_acceptance(app)
    with app.app_context():
        late = db.session.get(Case, ids[0]).acceptance_due_at + timedelta(minutes=1)
    out = race_at_the_turn(
        app, tmp_path, monkeypatch, accepting(ids), lambda: assignment.reassign_overdue(late)
    )
    assert out == {"step": "done", "job": "done"}, out
    with app.app_context():
        case = db.session.get(Case, ids[0])
        assert (case.status, case.mediator_id) == (CaseStatus.awaiting_respondent, ids[1])


def test_accepted_as_the_worker_reminds_the_mediator(app, tmp_path, monkeypatch):
    ids = awaiting_acceptance(app)
    with app.app_context():
        soon = db.session.get(Case, ids[0]).acceptance_due_at - timedelta(hours=2)
    out = race_at_the_turn(
        app, tmp_path, monkeypatch, accepting(ids), lambda: reminders.send_due(soon)
    )
    assert out == {"step": "done", "job": "done"}, out
    with app.app_context():
        case = db.session.get(Case, ids[0])
        assert (case.status, case.acceptance_reminded_at) == (CaseStatus.awaiting_respondent, None)


def test_the_respondent_agrees_as_the_deadline_ends_the_case(app, tmp_path, monkeypatch):
    with app.app_context():
        case = make_case(make_user(), make_user(), mediator=make_mediator(make_institution()))
        db.session.commit()
        case_id, respondent_id = case.id, case.party_users()[1].id
        late = case.respondent_due_at + timedelta(minutes=1)

    def agree() -> None:
        respondent.answer(
            db.session.get(Case, case_id),
            by=db.session.get(User, respondent_id),
            agree=True,
            consent=True,
            service_address="南京市玄武区",
            service_confirmed=True,
        )

    out = race_at_the_turn(
        app, tmp_path, monkeypatch, agree, lambda: respondent.remind_and_expire(late)
    )
    assert out == {"step": "done", "job": "done"}, out
    with app.app_context():
        assert db.session.get(Case, case_id).status == CaseStatus.in_mediation


def test_the_last_party_consents_to_an_extension_as_the_period_ends(app, tmp_path, monkeypatch):
    with app.app_context():
        case = make_mediating_case()
        applicant, other_side = case.party_users()
        extension.propose(case, by=case.mediator, days=15)
        extension.consent(case, by=applicant)
        db.session.commit()
        case_id, last_id, due = case.id, other_side.id, case.mediation_due_at

    def consent() -> None:
        extension.consent(db.session.get(Case, case_id), by=db.session.get(User, last_id))

    late = due + timedelta(minutes=1)
    out = race_at_the_turn(app, tmp_path, monkeypatch, consent, lambda: extension.end_expired(late))
    assert out == {"step": "done", "job": "done"}, out
    with app.app_context():
        case = db.session.get(Case, case_id)
        assert case.status == CaseStatus.in_mediation
        assert case.mediation_due_at >= due + timedelta(days=15)
