"""Judicial confirmation through the operations the portal and the API call: the joint
application, the 30 days, the competent court, acceptance, the ruling, and one court never
seeing another's applications."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from agreements.verify import verify_pdf
from mediation.agreements import credentials
from mediation.cases import clocks, workflow
from mediation.cases.states import CaseStatus
from mediation.cases.workflow import NotPermittedError
from mediation.core.forms import FieldError
from mediation.court import application as applying
from mediation.court import examination, materials, ruling, steps
from mediation.court.models import ApplicationStatus
from mediation.journal import operations as journal
from tests.minutes.conftest import messages_to

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
        trust_roots=credentials.authority().trust_roots,
    )
    # one PAdES signature per party, each closed by a document timestamp (B-LTA)
    assert (
        report.ok and [s.kind for s in report.signatures] == ["signature", "document timestamp"] * 2
    )

    assert steps.applications_of(world.court) == [application]
    examination.accept(application, by=world.clerk)
    assert application.status == ApplicationStatus.accepted
    # The current form: the province's character, the court's division, 民特 (SPC provisions
    # on case numbers); the court's first case of the year.
    assert re.fullmatch(r"（\d{4}）苏0102民特1号", application.court_case_number)
    assert application.ruling_due_at - application.accepted_at >= timedelta(days=15)
    with pytest.raises(NotPermittedError):
        ruling.rule(application, True, None, "", by=world.clerk)  # a judge rules
    ruling.rule(application, True, None, "", by=world.judge)
    assert application.status == ApplicationStatus.confirmed
    for party in world.case.party_users():  # every step is told to the parties
        told = " ".join(messages_to(party.phone))
        assert application.court_case_number in told  # accepted, under this number
        assert "第二百零六条" in told  # confirmed, and what enforcement needs (CPL art 206)
    assert world.case.status == CaseStatus.confirmed
    decision = ruling.decision_file(application).read_bytes()
    checked = verify_pdf(decision, trust_roots=credentials.authority().trust_roots)
    assert checked.ok and checked.signatures[0].signer == world.court.name
    assert journal.verify_chain(world.case.id).ok


def test_an_application_after_30_days_is_refused(app_ctx):
    world = in_force()
    # Just after the period's end: 30 days, moved on past a weekend or holiday (Civil Code
    # art 203), so not always 32 days after the signature.
    late = applying.window_closes(world.case) + timedelta(minutes=1)
    with pytest.raises(NotPermittedError) as refused:
        applying.start(world.case, world.court, by=world.case.party_users()[0], now=late)
    assert "三十日" in str(refused.value)  # the 30 days, in the parties' language


def test_only_a_competent_court_and_only_it_sees_the_application(app_ctx):
    world = in_force()
    with pytest.raises(FieldError):
        applying.start(world.case, world.other_court, by=world.case.party_users()[0])
    application = apply_jointly(world)
    assert steps.applications_of(world.other_court) == []
    assert steps.application_of(world.other_court, application.id) is None
    with pytest.raises(NotPermittedError):
        examination.accept(application, by=world.other_judge)


def test_refused_or_withdrawn_the_agreement_may_go_to_court_again(app_ctx):
    world = in_force()
    application = apply_jointly(world)
    with pytest.raises(FieldError):
        examination.refuse(application, "no such ground", "", by=world.clerk)
    examination.refuse(application, "no_jurisdiction", "", by=world.clerk)
    assert world.case.status == CaseStatus.signed
    second = apply_jointly(world)
    examination.accept(second, by=world.clerk)
    applying.withdraw(second, by=world.case.party_users()[1])
    assert second.status == ApplicationStatus.withdrawn and world.case.status == CaseStatus.signed
    with pytest.raises(NotPermittedError):
        ruling.rule(second, True, None, "", by=world.judge)


def test_a_rejection_names_its_ground(app_ctx):
    world = in_force()
    application = apply_jointly(world)
    examination.accept(application, by=world.clerk)
    examination.request_materials(application, "请补充房产证明", 5, by=world.clerk)
    with pytest.raises(FieldError):
        ruling.rule(application, False, None, "", by=world.judge)
    ruling.rule(application, False, "unclear", "履行期限不明", by=world.judge)
    assert application.status == ApplicationStatus.rejected
    assert world.case.status == CaseStatus.rejected


def test_a_court_where_a_party_lives_is_competent_and_one_elsewhere_is_not(app_ctx):
    from mediation.accounts.models import CourtLevel
    from tests.factories import make_court

    world = in_force()
    home = world.case.party_users()[0].id_number[:6]  # the household registration's division
    court_at_home = make_court(region_code=home, level=CourtLevel.basic)
    intermediate = make_court(region_code=home[:4] + "00", level=CourtLevel.intermediate)
    competent = {c.id for c in applying.competent_courts(world.case)}
    assert {world.court.id, court_at_home.id} <= competent
    assert world.other_court.id not in competent
    assert intermediate.id not in competent  # the sums agreed are far below its threshold


def respondent_with_agent(world, *, confirmed: bool):
    """The applicant, the respondent and an agent acting for the respondent."""
    from mediation.cases.models import CaseParty
    from mediation.core.db import utcnow
    from mediation.extensions import db
    from tests.factories import make_user

    applicant, respondent = world.case.party_users()
    agent = make_user()
    db.session.add(
        CaseParty(
            case_id=world.case.id,
            user_id=agent.id,
            side="respondent",
            is_agent=True,
            represents_id=respondent.id,
            agency_confirmed_at=utcnow() if confirmed else None,
            agency_confirmed_how="principal" if confirmed else None,
        )
    )
    db.session.flush()
    db.session.refresh(world.case)
    return applicant, respondent, agent


def test_an_agent_needs_the_power_of_attorney_before_the_application_goes(app_ctx):
    from tests.agreements.conftest import drawing, last_code_to

    world = in_force()
    # The party confirmed the agency (cases/agency.py); the power of attorney is what the
    # court needs besides (SPC provisions art 3).
    applicant, respondent, agent = respondent_with_agent(world, confirmed=True)
    application = applying.start(world.case, world.court, by=applicant)
    assert [s.user_id for s in application.signatures] == [applicant.id, agent.id]
    for signer in (applicant, agent):
        applying.send_code(application, signer)
        sign = lambda who=signer: applying.sign(  # noqa: E731
            application,
            who,
            code=last_code_to(who),
            shown_sha256=application.document_sha256,
            drawing=drawing(),
        )
        if signer is agent:
            pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
            with pytest.raises(FieldError) as needed:
                sign()
            assert needed.value.field == "power_of_attorney"
            # The agent's own upload is no power of attorney: the party gives it.
            materials.add_material(application, "power_of_attorney", "委托书.pdf", pdf, by=agent)
            with pytest.raises(FieldError):
                sign()
            materials.add_material(
                application, "power_of_attorney", "委托书.pdf", pdf, by=respondent
            )
        sign()
    assert application.status == ApplicationStatus.submitted


def test_a_confirmation_with_a_ground_is_refused_and_the_extension_counts_from_acceptance(app_ctx):
    world = in_force()
    application = apply_jointly(world)
    examination.accept(application, by=world.clerk)
    with pytest.raises(FieldError):
        ruling.rule(application, True, "mandatory_law", "违法", by=world.judge)
    assert application.status == ApplicationStatus.accepted
    examination.extend(application, "案情复杂", by=world.judge)
    assert application.ruling_due_at == clocks.period_end(
        application.accepted_at, 25, workflow.zone()
    )
    with pytest.raises(NotPermittedError):
        examination.extend(application, "再延", by=world.judge)  # once


def test_an_application_withdrawn_while_being_signed_never_reaches_the_court(app_ctx):
    world = in_force()
    applicant = world.case.party_users()[0]
    application = applying.start(world.case, world.court, by=applicant)
    applying.withdraw(application, by=applicant)
    assert steps.applications_of(world.court) == []
    assert steps.application_of(world.court, application.id) is None


def test_the_ruling_names_the_agreement_and_the_judge_in_local_dates(app_ctx, tmp_path):
    import shutil
    import subprocess

    world = in_force()
    application = apply_jointly(world)
    examination.accept(application, by=world.clerk)
    ruling.rule(application, True, None, "", by=world.judge)
    path = ruling.decision_file(application)
    text = subprocess.run(
        [shutil.which("pdftotext"), str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "民事裁定书" in text and application.agreement.short_code in text
    assert world.judge.real_name in text and application.court_case_number in text
    assert applying.local_day(application.decided_at) in text


def test_an_agent_the_party_never_confirmed_cannot_sign_in_their_name(app_ctx):
    """Issue #15 item 4: anyone can name a phone as their principal; until the party
    confirms, the agent's turn to sign is refused (and no code is sent)."""
    from mediation.cases.agency import AgencyError
    from tests.agreements.conftest import drawing, last_code_to

    world = in_force()
    applicant, _respondent, agent = respondent_with_agent(world, confirmed=False)
    application = applying.start(world.case, world.court, by=applicant)
    applying.send_code(application, applicant)
    applying.sign(
        application,
        applicant,
        code=last_code_to(applicant),
        shown_sha256=application.document_sha256,
        drawing=drawing(),
    )
    with pytest.raises(AgencyError):
        applying.send_code(application, agent)
    with pytest.raises(AgencyError):
        applying.sign(
            application,
            agent,
            code="123456",
            shown_sha256=application.document_sha256,
            drawing=drawing(),
        )
