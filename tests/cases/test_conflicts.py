"""Art 13 disclosure of a conflict of interest, art 14 request for another mediator."""

import pytest
from sqlalchemy import select

from mediation.accounts.models import Role
from mediation.cases import conflicts, workflow
from mediation.core.forms import FieldError
from mediation.extensions import db
from mediation.journal.models import JournalEntry
from mediation.notify.models import OutboxMessage
from tests.factories import make_case, make_institution, make_mediator, make_user


@pytest.fixture
def case(app_ctx):
    institution = make_institution()
    case = make_case(make_user(), make_user(), mediator=make_mediator(institution))
    case.other_mediator = make_mediator(institution)  # whom the institution could choose
    case.admin = make_user(Role.institution_admin, institution_id=institution.id)
    return case


def actions(case):
    # In the journal's order: without one, PostgreSQL may return the rows in any order.
    return db.session.scalars(
        select(JournalEntry.action)
        .where(JournalEntry.case_id == case.id)
        .order_by(JournalEntry.seq)
    ).all()


def admin_texts(case):
    return db.session.scalars(
        select(OutboxMessage.body).where(OutboxMessage.recipient == case.admin.phone)
    ).all()


def test_everyone_accepting_the_disclosure_lets_the_mediator_continue(case):
    applicant, other_side = case.party_users()
    conflicts.disclose(case, by=case.mediator, text="我与申请人是同一小区业主委员会成员")
    conflicts.answer_disclosure(case, by=applicant, accept=True)
    assert conflicts.open_disclosure(case) is not None
    conflicts.answer_disclosure(case, by=other_side, accept=True)
    assert conflicts.open_disclosure(case) is None
    assert actions(case)[-3:] == ["conflict.disclosed", "conflict.accepted", "conflict.accepted"]


def test_an_objection_goes_to_the_institution(case):
    conflicts.disclose(case, by=case.mediator, text="与被申请人系远亲")
    conflicts.answer_disclosure(case, by=case.party_users()[1], accept=False)
    assert conflicts.open_disclosure(case) is None
    assert any(case.number in text and "不接受" in text for text in admin_texts(case))


def test_a_party_asks_for_another_mediator(case):
    with pytest.raises(workflow.NotPermittedError):
        conflicts.request_change(case, by=make_user(), reason="x")
    asking, other = case.party_users()
    assert conflicts.change_asked_at(case, asking) is None
    conflicts.request_change(case, by=asking, reason="调解员偏向对方")
    assert actions(case)[-1] == "mediator.change_requested"
    assert any("另行指定" in text or "更换" in text for text in admin_texts(case))
    # Their page says the request waits (not the form again); the other party's does not.
    assert conflicts.change_asked_at(case, asking) is not None
    assert conflicts.change_asked_at(case, other) is None
    from mediation.cases import assignment

    assignment.reassign_by_institution(case, mediator=case.other_mediator, by=case.admin)
    assert conflicts.change_asked_at(case, asking) is None  # granted: nothing waits


def test_asking_for_another_mediator_when_there_is_none_says_so(case):
    """Art 14: a request nobody can grant is refused with the reason, not silently filed."""
    case.other_mediator.active = False
    db.session.flush()
    with pytest.raises(FieldError, match="没有其他可以承办"):
        conflicts.request_change(case, by=case.party_users()[0], reason="调解员偏向对方")
    assert "mediator.change_requested" not in actions(case)
    assert not admin_texts(case)


def test_asking_for_another_mediator_before_there_is_one_says_so(case):
    case.mediator = None
    db.session.flush()
    with pytest.raises(FieldError, match="尚未分派调解员"):
        conflicts.request_change(case, by=case.party_users()[0], reason="想换人")


def test_only_the_mediator_discloses(case):
    with pytest.raises(workflow.NotPermittedError):
        conflicts.disclose(case, by=case.party_users()[0], text="x")
