"""A change made from a stale copy of a case fails instead of undoing another change."""

from datetime import timedelta

import pytest
from sqlalchemy.orm.exc import StaleDataError

from mediation.cases import respondent
from mediation.cases.models import Case
from mediation.cases.states import CaseStatus, TerminationReason
from mediation.extensions import db
from tests.factories import make_case, make_institution, make_mediator, make_user


def test_the_respondent_cannot_revive_a_case_the_worker_just_ended(app):
    with app.app_context():
        case = make_case(make_user(), make_user(), mediator=make_mediator(make_institution()))
        db.session.commit()
        case_id, due = case.id, case.respondent_due_at
    with app.app_context():  # the respondent's request: the page was loaded before...
        stale = db.session.get(Case, case_id)
        other_side = stale.party_users()[1]
        with app.app_context():  # ...the worker ended the unanswered case
            assert respondent.remind_and_expire(now=due + timedelta(minutes=1)) == (0, 1)
            db.session.commit()
        with pytest.raises(StaleDataError):  # at the first write: nothing is undone
            respondent.answer(
                stale,
                by=other_side,
                agree=True,
                consent=True,
                service_address="南京",
                service_confirmed=True,
            )
            db.session.commit()
        db.session.rollback()
    with app.app_context():
        case = db.session.get(Case, case_id)
        assert (case.status, case.termination_reason) == (
            CaseStatus.terminated,
            TerminationReason.unreachable,
        )


def test_two_parties_consenting_at_once_do_not_lose_a_consent(app):
    from mediation.cases import extension

    with app.app_context():
        case = make_case(make_user(), make_user(), mediator=make_mediator(make_institution()))
        respondent.answer(
            case,
            by=case.party_users()[1],
            agree=True,
            consent=True,
            service_address="南京",
            service_confirmed=True,
        )
        extension.propose(case, by=case.mediator, days=10)
        db.session.commit()
        case_id = case.id
    with app.app_context():  # the applicant's request reads the proposal...
        first = db.session.get(Case, case_id)
        read = extension.pending(first)  # held, as within one request
        with app.app_context():  # ...while the respondent's request consents and commits
            other = db.session.get(Case, case_id)
            extension.consent(other, by=other.party_users()[1])
            db.session.commit()
        with pytest.raises(StaleDataError):
            extension.consent(first, by=first.party_users()[0])
            db.session.commit()
        db.session.rollback()
        assert read.id
    with app.app_context():  # trying again (as the page asks) counts both
        case = db.session.get(Case, case_id)
        assert extension.consent(case, by=case.party_users()[0]) is True
        db.session.commit()
