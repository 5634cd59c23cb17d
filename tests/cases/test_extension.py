"""Art 24: the 30-day period is extended only with every party's consent; art 25 (6)."""

from datetime import timedelta

import pytest

from mediation.cases import extension, workflow
from mediation.cases.states import CaseStatus, TerminationReason
from tests.conftest import login, post_form
from tests.factories import PASSWORD, make_mediating_case


@pytest.fixture
def case(app_ctx):
    return make_mediating_case()


def test_the_period_is_extended_only_when_every_party_agrees(case):
    applicant, other_side = case.party_users()
    due = case.mediation_due_at
    with pytest.raises(workflow.NotPermittedError):
        extension.propose(case, by=applicant, days=15)  # only the mediator proposes
    extension.propose(case, by=case.mediator, days=15)
    assert extension.consent(case, by=applicant) is False
    assert case.mediation_due_at == due
    assert extension.consent(case, by=other_side) is True
    assert case.mediation_due_at >= due + timedelta(days=15)
    assert extension.pending(case) is None


def test_an_unextended_period_ends_the_case(case):
    due = case.mediation_due_at
    assert extension.end_expired(now=due - timedelta(hours=1)) == 0
    assert extension.end_expired(now=due + timedelta(minutes=1)) == 1
    assert (case.status, case.termination_reason) == (
        CaseStatus.terminated,
        TerminationReason.deadline_expired,
    )
    assert extension.end_expired(now=due + timedelta(days=1)) == 0


def test_parties_agree_from_the_case_page(app, case):
    from mediation.extensions import db

    extension.propose(case, by=case.mediator, days=10)
    db.session.commit()
    client = app.test_client()
    login(client, case.party_users()[0].phone, PASSWORD)
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "延长调解期限10日" in page
    post_form(client, f"/cases/{case.id}/extension/consent", {}, form_page=f"/cases/{case.id}")
    assert "已同意：1/2" in client.get(f"/cases/{case.id}").get_data(as_text=True)
