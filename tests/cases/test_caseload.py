"""The mediator's caseload: filters, sorting, counts, overdue cases."""

from datetime import timedelta

import pytest

from mediation.cases import workflow
from mediation.cases.caseload import CaseloadFilter, caseload_for
from mediation.cases.states import Action, CaseStatus, TerminationReason
from mediation.core.db import utcnow
from mediation.extensions import db
from tests.conftest import login
from tests.factories import PASSWORD, make_case, make_institution, make_mediator, make_user


@pytest.fixture
def desk(app_ctx):
    mediator = make_mediator(make_institution())
    other = make_mediator(mediator.institution)
    wang = make_user(real_name="王大爷")
    cases = [make_case(make_user(), make_user(), mediator=mediator) for _ in range(4)]
    cases.append(make_case(wang, make_user(), mediator=mediator))
    make_case(make_user(), make_user(), mediator=other)  # someone else's
    # One in mediation, one ended, one overdue.
    workflow.transition(cases[0], Action.respondent_agrees, by=cases[0].parties[1].user)
    workflow.transition(
        cases[1], Action.terminate, by=mediator, reason=TerminationReason.too_far_apart
    )
    cases[2].respondent_due_at = utcnow() - timedelta(days=2)
    db.session.commit()
    return mediator, cases


def numbers(result):
    return [c.number for c in result.cases]


def test_active_cases_only_and_counts_per_status(desk):
    mediator, cases = desk
    result = caseload_for(mediator, CaseloadFilter())
    assert result.total == 4  # the terminated one is not on the desk
    assert cases[1].number not in numbers(result)
    assert result.counts == {
        CaseStatus.awaiting_respondent: 3,
        CaseStatus.in_mediation: 1,
        CaseStatus.terminated: 1,
    }


def test_filters(desk):
    mediator, cases = desk
    assert numbers(caseload_for(mediator, CaseloadFilter(party="王大"))) == [cases[4].number]
    overdue = caseload_for(mediator, CaseloadFilter(due_within_days=0))
    assert numbers(overdue) == [cases[2].number]
    ended = caseload_for(mediator, CaseloadFilter(status=CaseStatus.terminated))
    assert numbers(ended) == [cases[1].number]
    assert caseload_for(mediator, CaseloadFilter(category="labour")).total == 0


def test_sorted_by_the_next_deadline_first(desk):
    mediator, cases = desk
    assert numbers(caseload_for(mediator, CaseloadFilter(sort="deadline")))[0] == cases[2].number


def test_the_page_highlights_overdue_cases(app, desk):
    mediator, cases = desk
    client = app.test_client()
    login(client, mediator.phone, PASSWORD)
    page = client.get("/cases/caseload").get_data(as_text=True)
    assert 'class="overdue"' in page and "已逾期2天" in page
    assert cases[2].number in page and cases[1].number not in page
    filtered = client.get("/cases/caseload?party=王大").get_data(as_text=True)
    assert cases[4].number in filtered and cases[2].number not in filtered


def test_a_signed_case_is_not_overdue_on_its_old_mediation_clock(desk):
    mediator, cases = desk
    case = cases[0]  # in mediation
    workflow.transition(case, Action.draft_agreement, by=mediator)
    workflow.transition(case, Action.all_signed, by=None)
    case.mediation_due_at = utcnow() - timedelta(days=1)  # the old clock, no longer running
    db.session.commit()
    overdue = caseload_for(mediator, CaseloadFilter(due_within_days=0))
    assert case.number not in numbers(overdue)


def test_a_percent_sign_in_the_name_filter_matches_nothing_special(desk):
    mediator, _ = desk
    assert caseload_for(mediator, CaseloadFilter(party="%")).total == 0
