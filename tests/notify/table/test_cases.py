"""The notification table walked for the case itself (``mediation/notify/table/cases.py``):
filing, assignment, the respondent's answer, a mediator declined, chosen again or changed,
the clocks and the end; and governance's early warnings. How a walk goes:
tests/notify/table/walk.py."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mediation.accounts.models import Role
from mediation.cases import assignment, conflicts, extension, intake, rechoice, respondent, workflow
from mediation.cases import reminders as case_reminders
from mediation.cases.models import CaseParty, Side
from mediation.cases.states import Action, TerminationReason
from mediation.core.db import utcnow
from mediation.court import delegation
from mediation.extensions import db
from tests.court.test_delegation import dispute
from tests.factories import make_case, make_court, make_institution, make_mediator, make_user
from tests.notify.table.walk import Scenarios, mailable, mediating, parties_of

scenario = Scenarios()


# -- cases ----------------------------------------------------------------------------------


def _draft_by_agent():
    institution = make_institution()
    mediator = make_mediator(institution)
    agent, respondent_user = make_user(), make_user()
    mailable(mediator, agent, respondent_user)
    case = intake.save_dispute(
        None,
        applicant=agent,
        category="neighbourhood",
        title="楼上漏水",
        facts="卫生间顶部渗水。",
        region_code="320102",
        claims=[intake.ClaimInput(text="赔偿维修费", amount=None)],
    )
    principal = intake.set_principal(
        case, agent=agent, real_name="张老伯", phone="13877770002", id_number=None
    )
    mailable(principal)
    intake.set_respondent(
        case, by=agent, real_name=respondent_user.real_name, phone=respondent_user.phone
    )
    intake.add_evidence(
        case,
        by=agent,
        filename="授权委托书.pdf",
        data=b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n",
        shared=False,
        kind="power_of_attorney",
    )
    return case, agent, principal, mediator


@scenario("case filed in a party's name by an agent", "case assigned to a mediator")
def _filed_by_agent():
    case, agent, principal, mediator = _draft_by_agent()
    act = lambda: intake.submit(  # noqa: E731
        case, by=agent, consent=True, service_address="南京市玄武区", service_confirmed=True
    )
    return act, {"principal": [principal], "mediator": [mediator]}


@scenario("case assigned to a mediator")
def _assigned():
    mediator = make_mediator(make_institution())
    applicant, other = make_user(), make_user()
    mailable(mediator, applicant, other)
    case = make_case(applicant, other)
    return lambda: assignment.assign_automatically(case, by=applicant), {"mediator": [mediator]}


@scenario("case needs assigning")
def _needs_assigning():
    """Nobody in the case's region takes its category: its institution's admins are told."""
    institution = make_institution(region_code="320102")
    mediator = make_mediator(institution)
    mediator.mediator_profile.categories = ["tenancy"]  # not this case's category
    admin = make_user(Role.institution_admin, institution_id=institution.id)
    platform = make_user(Role.platform_admin)
    applicant, other = make_user(), make_user()
    mailable(admin, platform, applicant, other)
    case = make_case(applicant, other)
    case.region_code = "320102"
    return lambda: assignment.assign_automatically(case, by=applicant), {
        "institution admins": [admin]
    }


@scenario("case filed with the institution chosen")
def _institution_chosen():
    """The applicant chose an institution (art 10): its admins are told, nobody else."""
    institution = make_institution(region_code="320102")
    make_mediator(institution)
    admin = make_user(Role.institution_admin, institution_id=institution.id)
    platform = make_user(Role.platform_admin)
    applicant, other = make_user(), make_user()
    mailable(admin, platform, applicant, other)
    case = make_case(applicant, other)
    case.institution = institution
    return lambda: assignment.queue(case, by=applicant, how="chosen"), {
        "institution admins": [admin]
    }


@scenario("case needs assigning, no institution fits")
def _needs_assigning_by_the_platform():
    """No institution of the region has mediators: the platform's administrators are told."""
    institution = make_institution(region_code="320102")
    admin = make_user(Role.institution_admin, institution_id=institution.id)
    platform = make_user(Role.platform_admin)
    applicant, other = make_user(), make_user()
    mailable(admin, platform, applicant, other)
    case = make_case(applicant, other)
    return lambda: assignment.assign_automatically(case, by=applicant), {
        "platform admins": [platform]
    }


@scenario("acceptance deadline a day away")
def _acceptance_soon():
    mediator = make_mediator(make_institution())
    applicant, other = make_user(), make_user()
    mailable(mediator, applicant, other)
    case = make_case(applicant, other)
    assignment.assign(case, institution=mediator.institution, mediator=mediator, how="x", by=None)
    when = case.acceptance_due_at - timedelta(hours=12)
    return lambda: case_reminders.send_due(now=when), {"mediator": [mediator]}


@scenario("case accepted")
def _accepted():
    mediator = make_mediator(make_institution())
    applicant, other = make_user(), make_user()
    mailable(mediator, applicant, other)
    case = make_case(applicant, other)
    assignment.assign(case, institution=mediator.institution, mediator=mediator, how="x", by=None)
    return lambda: assignment.accept(case, by=mediator), {
        "applicants": [applicant],
        "respondents": [other],
    }


def _awaiting_respondent():
    mediator = make_mediator(make_institution())
    applicant, other = make_user(), make_user()
    mailable(mediator, applicant, other)
    case = make_case(applicant, other, mediator=mediator)
    return case, applicant, other, mediator


@scenario("respondent reminded")
def _respondent_reminded():
    case, _applicant, other, _mediator = _awaiting_respondent()
    when = case.respondent_due_at - timedelta(days=1)
    return lambda: respondent.remind_and_expire(now=when), {"respondents": [other]}


@scenario("respondent agrees")
def _respondent_agrees():
    case, applicant, other, mediator = _awaiting_respondent()
    act = lambda: respondent.answer(  # noqa: E731
        case, by=other, agree=True, consent=True, service_address="南京", service_confirmed=True
    )
    return act, {"applicants": [applicant], "mediator": [mediator]}


@scenario("respondent refuses")
def _respondent_refuses():
    case, applicant, other, mediator = _awaiting_respondent()
    act = lambda: respondent.answer(case, by=other, agree=False, note="不同意")  # noqa: E731
    return act, {"applicants": [applicant], "mediator": [mediator]}


@scenario("respondent did not answer in time")
def _respondent_silent():
    case, applicant, _other, mediator = _awaiting_respondent()
    case.respondent_reminded_at = utcnow()  # reminded already: only the expiry is left
    db.session.flush()
    when = case.respondent_due_at + timedelta(minutes=1)
    return lambda: respondent.remind_and_expire(now=when), {
        "applicants": [applicant],
        "mediator": [mediator],
    }


def _given(how: str):
    """A case given to a mediator ``how`` ("automatic", or "chosen" by the applicant by
    name), who has a free colleague."""
    institution = make_institution()
    first, second = make_mediator(institution), make_mediator(institution)
    applicant, other = make_user(), make_user()
    mailable(first, second, applicant, other)
    case = make_case(applicant, other)
    assignment.assign(case, institution=institution, mediator=first, how=how, by=applicant)
    return case, first, second, applicant


@scenario("mediator declines and another takes the case")
def _declined():
    case, first, second, applicant = _given("automatic")
    return lambda: assignment.decline(case, by=first, reason="回避"), {
        "new mediator": [second],
        "applicants": [applicant],
    }


@scenario(
    "mediator chosen by name declines or lets its days pass",
    "mediator declines and another takes the case",
)
def _chosen_mediator_declined():
    case, first, second, applicant = _given("chosen")
    return lambda: assignment.decline(case, by=first, reason="回避"), {
        "new mediator": [second],
        "applicants": [applicant],
    }


@scenario("applicant chooses another mediator")
def _applicant_chooses_a_mediator():
    case, first, second, applicant = _given("chosen")
    assignment.decline(case, by=first, reason="回避")  # the platform gave it to ``second``
    chosen = make_mediator(make_institution())
    mailable(chosen)
    act = lambda: rechoice.choose_again(case, None, mediator=chosen, by=applicant)  # noqa: E731
    return act, {
        "new mediator": [chosen],
        "applicants": [applicant],
        "withdrawn mediator": [second],
    }


@scenario("institution chosen declines or lets its days pass")
def _choice_lapsed():
    institution = make_institution()  # none of its mediators is free for the case
    applicant, other = make_user(), make_user()
    mailable(applicant, other)
    case = make_case(applicant, other)
    case.institution = institution
    assignment.queue(case, by=applicant, how="chosen")
    when = case.acceptance_due_at + timedelta(minutes=1)
    return lambda: assignment.reassign_overdue(now=when), {"applicants": [applicant]}


def _delegated_to_a_declining_institution():
    court, institution = make_court(), make_institution()
    staff = [
        make_user(Role.court_clerk, court_id=court.id),
        make_user(Role.judge, court_id=court.id),
    ]
    admin = make_user(Role.institution_admin, institution_id=institution.id)
    made = delegation.delegate(court, dispute(institution_id=institution.id))
    applicants = made.case.party_users(Side.applicant)
    mailable(*staff, admin, *applicants)
    return made, staff, admin, applicants


@scenario("institution a court chose declines or lets its days pass")
def _court_choice_declined():
    made, staff, admin, applicants = _delegated_to_a_declining_institution()
    act = lambda: assignment.decline(made.case, by=admin, reason="不属于本会调解范围")  # noqa: E731
    return act, {"applicants": applicants, "delegating court": staff}


def _colleague_waiting(case, institution):
    """The institution chosen gave the case to one of its mediators, who let the days pass
    (the choice lapses); the platform gave it to a colleague, who has yet to answer."""
    admin = make_user(Role.institution_admin, institution_id=institution.id)
    first, colleague = make_mediator(institution), make_mediator(institution)
    assignment.give(case, mediator=first, by=admin)
    assignment.reassign_overdue(now=case.acceptance_due_at + timedelta(minutes=1))
    assert case.mediator == colleague
    mailable(colleague)
    return colleague


@scenario("applicant chooses another institution")
def _applicant_chooses_again():
    lapsing, chosen = make_institution(), make_institution()
    applicant, other = make_user(), make_user()
    case = make_case(applicant, other)
    case.institution = lapsing
    assignment.queue(case, by=applicant, how="chosen")
    colleague = _colleague_waiting(case, lapsing)
    admins = [make_user(Role.institution_admin, institution_id=chosen.id)]
    mailable(applicant, other, *admins)
    act = lambda: rechoice.choose_again(case, chosen, by=applicant)  # noqa: E731
    return act, {
        "institution admins": admins,
        "applicants": [applicant],
        "withdrawn mediator": [colleague],
    }


@scenario("court designates another institution")
def _court_designates_again():
    made, staff, _admin, applicants = _delegated_to_a_declining_institution()
    colleague = _colleague_waiting(made.case, made.case.institution)
    chosen = make_institution()
    admins = [make_user(Role.institution_admin, institution_id=chosen.id)]
    mailable(*admins)
    act = lambda: delegation.designate_again(made, chosen.id, by=staff[0])  # noqa: E731
    return act, {
        "institution admins": admins,
        "applicants": applicants,
        "withdrawn mediator": [colleague],
    }


@scenario("institution gives the case to another mediator")
def _reassigned():
    case = mediating()
    admin = make_user(Role.institution_admin, institution_id=case.institution_id)
    other = make_mediator(case.institution)
    mailable(admin, other)
    act = lambda: assignment.reassign_by_institution(case, mediator=other, by=admin)  # noqa: E731
    return act, {"new mediator": [other]}


def _admins(case):
    admin = make_user(Role.institution_admin, institution_id=case.institution_id)
    mailable(admin)
    return [admin]


@scenario("mediator discloses a conflict of interest")
def _disclosed():
    case = mediating()
    admins = _admins(case)
    act = lambda: conflicts.disclose(case, by=case.mediator, text="与申请人系同学")  # noqa: E731
    return act, {"institution admins": admins}


@scenario("party objects to the mediator after a disclosure")
def _objected():
    case = mediating()
    admins = _admins(case)
    conflicts.disclose(case, by=case.mediator, text="与申请人系同学")
    act = lambda: conflicts.answer_disclosure(case, by=case.party_users()[1], accept=False)  # noqa: E731
    return act, {"institution admins": admins}


@scenario("party asks for another mediator")
def _change_asked():
    case = mediating()
    make_mediator(case.institution)  # someone the case could go to instead
    admins = _admins(case)
    act = lambda: conflicts.request_change(case, by=case.party_users()[0], reason="不信任")  # noqa: E731
    return act, {"institution admins": admins}


@scenario("agent takes a step in a party's name", "party asks for another mediator")
def _agent_acts():
    case = mediating()
    make_mediator(case.institution)  # someone the case could go to instead
    admins = _admins(case)
    principal = case.party_users()[1]
    agent = make_user()
    mailable(agent)
    case.parties.append(
        CaseParty(
            user=agent,
            side="respondent",
            is_agent=True,
            represents=principal,
            agency_confirmed_at=utcnow(),
            agency_confirmed_how="mediator",
        )
    )
    db.session.flush()
    act = lambda: conflicts.request_change(case, by=agent, reason="当事人要求")  # noqa: E731
    return act, {"principal": [principal], "institution admins": admins}


@scenario("mediation period ends in 3 days")
def _period_ends():
    case = mediating()
    when = case.mediation_due_at - timedelta(days=2)
    return lambda: case_reminders.send_due(now=when), {
        "mediator": [case.mediator],
        "parties": parties_of(case),
    }


@scenario("case ended by the mediator or a party")
def _ended():
    """The applicant withdraws: the others are told, the applicant saw it on the page."""
    case = mediating()
    applicant = case.party_users(Side.applicant)[0]
    act = lambda: workflow.transition(  # noqa: E731
        case, Action.terminate, by=applicant, reason=TerminationReason.withdrawn
    )
    others = [u for u in parties_of(case) if u.id != applicant.id]
    return act, {"parties": others, "mediator": [case.mediator]}


@scenario("mediation period over without an extension")
def _period_over():
    case = mediating()
    later = case.mediation_due_at + timedelta(seconds=1)
    return lambda: extension.end_expired(now=later), {
        "parties": parties_of(case),
        "mediator": [case.mediator],
    }


# -- governance ---------------------------------------------------------------------------


@scenario("early warning raised")
def _warning():
    from mediation.governance import warnings

    staff, elsewhere = make_user(Role.governance), make_user(Role.governance)
    staff.area_code, elsewhere.area_code = "3201", "3301"
    now = utcnow()
    for hours in range(6):  # more than five of one category in one street this week
        case = make_case(make_user(), make_user())
        case.area_code, case.created_at = "320102001", now - timedelta(hours=hours)
    db.session.flush()
    return lambda: warnings.raise_due(now), {"region staff": [staff]}


@pytest.mark.parametrize("event", scenario.events())
def test_each_step_tells_exactly_whom_the_table_lists(app_ctx, event):
    scenario.walk(event)
