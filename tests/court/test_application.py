"""Judicial confirmation through the operations the portal and the API call: the joint
application, the 30 days, the competent court, acceptance, the ruling, and one court never
seeing another's applications."""

from __future__ import annotations

from datetime import timedelta

import pytest

from agreements.verify import verify_pdf
from mediation.agreements import signing
from mediation.cases.states import CaseStatus
from mediation.cases.workflow import NotPermittedError
from mediation.core.forms import FieldError
from mediation.court import application as applying
from mediation.court import operations as court_ops
from mediation.court.models import ApplicationStatus
from mediation.journal import operations as journal

from .conftest import apply_jointly, in_force


def test_from_a_signed_agreement_to_a_confirmed_ruling(app_ctx):
    world = in_force()
    assert [c.id for c in applying.competent_courts(world.case)] == [world.court.id]
    application = apply_jointly(world)
    assert application.status == ApplicationStatus.submitted
    assert world.case.status == CaseStatus.confirmation_requested
    assert application.acceptance_due_at > application.submitted_at
    report = verify_pdf(
        applying.document_path(application).read_bytes(),
        trust_roots=signing.authority().trust_roots,
    )
    assert report.ok and len(report.signatures) == 2  # one PAdES signature per party

    assert court_ops.applications_of(world.court) == [application]
    court_ops.accept(application, by=world.clerk)
    assert application.status == ApplicationStatus.accepted
    assert "调确字" in application.court_case_number
    assert application.ruling_due_at - application.accepted_at >= timedelta(days=15)
    with pytest.raises(NotPermittedError):
        court_ops.rule(application, True, None, "", by=world.clerk)  # a judge rules
    court_ops.rule(application, True, None, "", by=world.judge)
    assert application.status == ApplicationStatus.confirmed
    assert world.case.status == CaseStatus.confirmed
    decision = court_ops.decision_file(application).read_bytes()
    checked = verify_pdf(decision, trust_roots=signing.authority().trust_roots)
    assert checked.ok and checked.signatures[0].signer == world.court.name
    assert journal.verify_chain(world.case.id).ok


def test_an_application_after_30_days_is_refused(app_ctx):
    world = in_force()
    late = world.case.signed_at + timedelta(days=32)
    with pytest.raises(NotPermittedError) as refused:
        applying.start(world.case, world.court, by=world.case.party_users()[0], now=late)
    assert "三十日" in str(refused.value)  # the 30 days, in the parties' language


def test_only_a_competent_court_and_only_it_sees_the_application(app_ctx):
    world = in_force()
    with pytest.raises(FieldError):
        applying.start(world.case, world.other_court, by=world.case.party_users()[0])
    application = apply_jointly(world)
    assert court_ops.applications_of(world.other_court) == []
    assert court_ops.application_of(world.other_court, application.id) is None
    with pytest.raises(NotPermittedError):
        court_ops.accept(application, by=world.other_judge)


def test_refused_or_withdrawn_the_agreement_may_go_to_court_again(app_ctx):
    world = in_force()
    application = apply_jointly(world)
    with pytest.raises(FieldError):
        court_ops.refuse(application, "no such ground", "", by=world.clerk)
    court_ops.refuse(application, "no_jurisdiction", "", by=world.clerk)
    assert world.case.status == CaseStatus.signed
    second = apply_jointly(world)
    court_ops.accept(second, by=world.clerk)
    applying.withdraw(second, by=world.case.party_users()[1])
    assert second.status == ApplicationStatus.withdrawn and world.case.status == CaseStatus.signed
    with pytest.raises(NotPermittedError):
        court_ops.rule(second, True, None, "", by=world.judge)


def test_a_rejection_names_its_ground(app_ctx):
    world = in_force()
    application = apply_jointly(world)
    court_ops.accept(application, by=world.clerk)
    court_ops.request_materials(application, "请补充房产证明", 5, by=world.clerk)
    with pytest.raises(FieldError):
        court_ops.rule(application, False, None, "", by=world.judge)
    court_ops.rule(application, False, "unclear", "履行期限不明", by=world.judge)
    assert application.status == ApplicationStatus.rejected
    assert world.case.status == CaseStatus.rejected
