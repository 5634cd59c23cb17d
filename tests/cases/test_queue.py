"""The assignment queue: a case the automatic pick cannot place goes at once to the
institution of its region, or to the platform, whose administrators are told and give it
to a mediator (SPC online mediation rules arts 10 and 12)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from mediation.accounts.models import Role
from mediation.cases import assignment, workflow
from mediation.cases.models import Case
from mediation.cases.states import Action, CaseStatus
from mediation.extensions import db
from mediation.notify.models import OutboxMessage
from tests.conftest import login, post_form
from tests.factories import PASSWORD, make_case, make_institution, make_mediator, make_user


def texts_to(user) -> list[str]:
    return list(
        db.session.scalars(select(OutboxMessage.body).where(OutboxMessage.recipient == user.phone))
    )


def tenancy_case(region_code: str | None = "320000") -> Case:
    """Filed, with nobody picked yet: no mediator takes tenancy disputes."""
    case = make_case(make_user(), make_user(), submit=False)
    case.category, case.region_code = "tenancy", region_code
    workflow.transition(case, Action.submit, by=case.parties[0].user)
    return case


@pytest.fixture
def world(app_ctx):
    """Two institutions in Jiangsu and Beijing, each with a neighbourhood mediator and an
    administrator, and the platform's administrator."""
    nanjing = make_institution(region_code="320102")
    beijing = make_institution(region_code="110101")
    return {
        "nanjing": nanjing,
        "beijing": beijing,
        "nanjing_mediator": make_mediator(nanjing),
        "beijing_mediator": make_mediator(beijing),
        "nanjing_admin": make_user(
            Role.institution_admin, institution_id=nanjing.id, email="admin@nanjing.example"
        ),
        "beijing_admin": make_user(Role.institution_admin, institution_id=beijing.id),
        "platform_admin": make_user(Role.platform_admin),
    }


def test_a_case_nobody_takes_goes_to_its_regions_institution_at_once(world):
    case = tenancy_case()
    assert not assignment.assign_automatically(case, by=None)
    assert case.institution_id == world["nanjing"].id and case.mediator_id is None
    assert assignment.in_queue(case)
    assert assignment.queued_cases(world["nanjing_admin"]) == [case]
    assert assignment.queued_cases(world["beijing_admin"]) == []
    assert assignment.queued_cases(world["platform_admin"]) == [case]
    # Told at once, by text message and e-mail, with where to act.
    (text,) = texts_to(world["nanjing_admin"])
    assert case.number in text and "/cases/queue" in text and "房屋租赁" in text
    assert db.session.scalar(
        select(OutboxMessage.id).where(OutboxMessage.recipient == "admin@nanjing.example")
    )
    assert texts_to(world["beijing_admin"]) == [] and texts_to(world["platform_admin"]) == []
    # Art 10: somebody gives it to a mediator within three working days.
    assert case.acceptance_due_at is not None


def test_the_institution_the_applicant_chose_is_told_so_not_that_matching_failed(world):
    """Art 10: the applicant chose the institution; its administrators are not told that no
    mediator takes this kind of dispute."""
    case = tenancy_case()
    case.institution = world["beijing"]
    assignment.queue(case, by=case.parties[0].user, how="chosen")
    (text,) = texts_to(world["beijing_admin"])
    assert f"申请人选择由{world['beijing'].name}调解案件{case.number}（房屋租赁）" in text, text
    assert "尚无调解员" not in text and "/cases/queue" in text
    assert assignment.waiting_because(case) == "chosen"
    assert texts_to(world["nanjing_admin"]) == []


def test_each_queued_case_says_why_it_waits(app):
    """The queue's page gives each case its own reason: chosen by the applicant, or no
    mediator could be picked, or the mediator declined; never "matching failed" for all."""
    with app.app_context():
        institution = make_institution(region_code="320102")
        make_mediator(institution)  # takes neighbourhood disputes only
        admin = make_user(Role.institution_admin, institution_id=institution.id)
        chosen = tenancy_case()
        chosen.institution = institution
        assignment.queue(chosen, by=chosen.parties[0].user, how="chosen")
        unmatched = tenancy_case()
        assignment.assign_automatically(unmatched, by=None)
        declined = make_case(make_user(), make_user(), submit=False)
        workflow.transition(declined, Action.submit, by=declined.parties[0].user)
        assignment.assign_automatically(declined, by=None)
        assignment.decline(declined, by=declined.mediator, reason="回避")
        db.session.commit()
        ids = chosen.id, unmatched.id, declined.id
        name, phone = institution.name, admin.phone
    page = _client(app, phone).get("/cases/queue").get_data(as_text=True)
    why = {
        case_id: re.search(rf'id="case-{case_id}".*?class="why-waiting">(.*?)</dd>', page, re.S)
        .group(1)
        .strip()
        for case_id in ids
    }
    assert why[ids[0]] == f"申请人选择了{name}。", why
    assert why[ids[1]].startswith("未能自动匹配调解员"), why
    assert why[ids[2]] == "调解员已不予接受。", why
    assert "以下案件未能自动匹配调解员" not in page


def test_with_no_institution_near_the_platform_decides(world):
    case = tenancy_case(region_code="440000")  # Guangdong: no institution there
    assignment.assign_automatically(case, by=None)
    assert case.institution_id is None and assignment.in_queue(case)
    assert assignment.queued_cases(world["platform_admin"]) == [case]
    assert assignment.queued_cases(world["nanjing_admin"]) == []
    assert any(case.number in text for text in texts_to(world["platform_admin"]))
    # The platform gives it to any institution's mediator; the institution follows.
    assignment.give(case, mediator=world["beijing_mediator"], by=world["platform_admin"])
    assert case.institution_id == world["beijing"].id
    assert case.mediator_id == world["beijing_mediator"].id


def test_giving_a_queued_case_tells_the_mediator_and_the_applicant(world):
    case = tenancy_case()
    assignment.assign_automatically(case, by=None)
    mediator = world["nanjing_mediator"]  # takes neighbourhood disputes only: no matter
    assignment.give(case, mediator=mediator, by=world["nanjing_admin"])
    assert case.mediator_id == mediator.id and not assignment.in_queue(case)
    assert case.status == CaseStatus.submitted and case.acceptance_due_at is not None
    assert any(case.number in text for text in texts_to(mediator))
    applicant = case.party_users()[0]
    assert any(mediator.real_name in text for text in texts_to(applicant))
    # Accepting tells the applicant too (and asks the respondent, art 15).
    told = len(texts_to(applicant))
    assignment.accept(case, by=mediator)
    assert case.status == CaseStatus.awaiting_respondent
    accepted = texts_to(applicant)[told:]
    assert len(accepted) == 1 and mediator.real_name in accepted[0] and "受理" in accepted[0]


def test_an_institution_gives_only_its_cases_to_its_mediators(world):
    case = tenancy_case()
    assignment.assign_automatically(case, by=None)
    with pytest.raises(workflow.NotPermittedError):
        assignment.give(case, mediator=world["beijing_mediator"], by=world["nanjing_admin"])
    with pytest.raises(workflow.NotPermittedError):
        assignment.give(case, mediator=world["beijing_mediator"], by=world["beijing_admin"])
    with pytest.raises(workflow.NotPermittedError):
        assignment.give(case, mediator=world["nanjing_mediator"], by=case.party_users()[0])
    assignment.give(case, mediator=world["nanjing_mediator"], by=world["nanjing_admin"])
    with pytest.raises(workflow.TransitionError):  # no longer waiting
        assignment.give(case, mediator=world["nanjing_mediator"], by=world["platform_admin"])


def test_a_decline_with_nobody_else_puts_the_case_back_in_the_queue(world):
    case = tenancy_case()
    assignment.assign_automatically(case, by=None)
    mediator = world["nanjing_mediator"]
    assignment.give(case, mediator=mediator, by=world["nanjing_admin"])
    before = len(texts_to(world["nanjing_admin"]))
    assignment.decline(case, by=mediator, reason="不熟悉租赁纠纷")
    assert case.status == CaseStatus.declined and assignment.in_queue(case)
    assert len(texts_to(world["nanjing_admin"])) == before + 1
    other = make_mediator(world["nanjing"])
    assignment.give(case, mediator=other, by=world["nanjing_admin"])
    assert case.status == CaseStatus.submitted and case.mediator_id == other.id


def test_an_institution_cannot_accept_without_a_mediator(world):
    case = tenancy_case()
    assignment.assign_automatically(case, by=None)
    with pytest.raises(workflow.TransitionError):
        assignment.accept(case, by=world["nanjing_admin"])


# -- over HTTP: who reaches the queue and the action ----------------------------------------


def _queued(app) -> tuple[int, dict]:
    with app.app_context():
        nanjing = make_institution(region_code="320102")
        beijing = make_institution(region_code="110101")
        people = {
            "mediator": make_mediator(nanjing, real_name="王调解"),
            "admin": make_user(Role.institution_admin, institution_id=nanjing.id),
            "other_admin": make_user(Role.institution_admin, institution_id=beijing.id),
            "platform": make_user(Role.platform_admin),
        }
        make_mediator(beijing)
        case = tenancy_case()
        assignment.assign_automatically(case, by=None)
        people["applicant"] = case.party_users()[0]
        db.session.commit()
        return case.id, {k: (u.phone, u.id) for k, u in people.items()}


def _client(app, phone):
    client = app.test_client()
    assert login(client, phone, PASSWORD).status_code == 302
    return client


def test_the_queue_is_for_its_institution_and_the_platform_only(app):
    case_id, people = _queued(app)
    own = _client(app, people["admin"][0])
    page = own.get("/cases/queue").get_data(as_text=True)
    assert f"/cases/{case_id}" in page and "王调解" in page
    assert own.get(f"/cases/{case_id}").status_code == 200
    # Another institution's administrator: not listed, not reachable, no action.
    other = _client(app, people["other_admin"][0])
    assert f"/cases/{case_id}" not in other.get("/cases/queue").get_data(as_text=True)
    assert other.get(f"/cases/{case_id}").status_code == 404
    denied = post_form(
        other,
        f"/cases/{case_id}/give",
        {"mediator_id": people["mediator"][1]},
        form_page="/cases/queue",
    )
    assert denied.status_code == 404
    # A party reaches neither the queue nor the action.
    party = _client(app, people["applicant"][0])
    assert party.get("/cases/queue").status_code == 403
    token_page = "/cases/" + str(case_id)
    assert (
        post_form(
            party,
            f"/cases/{case_id}/give",
            {"mediator_id": people["mediator"][1]},
            form_page=token_page,
        ).status_code
        == 403
    )
    # The platform's administrator sees it too, and the case page leads to the queue.
    platform = _client(app, people["platform"][0])
    assert f"/cases/{case_id}" in platform.get("/cases/queue").get_data(as_text=True)
    assert "/cases/queue#case-" in platform.get(f"/cases/{case_id}").get_data(as_text=True)
    # The institution's administrator gives it.
    done = post_form(
        own,
        f"/cases/{case_id}/give",
        {"mediator_id": people["mediator"][1]},
        form_page="/cases/queue",
    )
    assert done.status_code == 302
    with app.app_context():
        assert db.session.get(Case, case_id).mediator_id == people["mediator"][1]
    assert f"/cases/{case_id}" not in own.get("/cases/queue").get_data(as_text=True)


def test_a_mediator_who_lets_the_period_pass_sends_the_case_back_to_the_queue(world):
    """Art 12 second paragraph: unconfirmed in time, the case is given again; with nobody
    else to pick it waits in the queue (not with the silent mediator), and the institution
    is told again."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    filed = datetime(2026, 3, 2, 10, tzinfo=ZoneInfo("Asia/Shanghai"))  # a Monday
    case = make_case(make_user(), make_user(), submit=False)
    case.category, case.region_code = "tenancy", "320000"
    workflow.transition(case, Action.submit, by=case.parties[0].user, now=filed)
    assignment.assign_automatically(case, by=None, now=filed)
    assignment.give(case, mediator=world["nanjing_mediator"], by=world["nanjing_admin"], now=filed)
    told = len(texts_to(world["nanjing_admin"]))
    later = case.acceptance_due_at + timedelta(minutes=1)
    assert assignment.reassign_overdue(now=later) == []
    assert assignment.in_queue(case) and case.mediator_id is None
    assert case.institution_id == world["nanjing"].id
    assert len(texts_to(world["nanjing_admin"])) == told + 1
    assert case.acceptance_due_at > later  # looked at again, not dropped


def test_the_case_page_offers_no_acceptance_before_there_is_a_mediator(world):
    from mediation.cases.operations import available_steps

    case = tenancy_case()
    assignment.assign_automatically(case, by=None)
    assert Action.accept not in available_steps(world["nanjing_admin"], case)
    assignment.give(case, mediator=world["nanjing_mediator"], by=world["nanjing_admin"])
    assert Action.accept in available_steps(world["nanjing_mediator"], case)


@pytest.mark.parametrize("region", ["320000", "440000"])  # an institution's queue; the platform's
def test_a_queued_case_past_its_date_tells_nobody_again_until_a_mediator_is_free(world, region):
    """The worker's daily look at a queued case neither tells its managers again nor writes
    "acceptance overdue" for the parties to read; a mediator who has become free takes it."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from mediation.journal.models import JournalEntry

    filed = datetime(2026, 3, 2, 10, tzinfo=ZoneInfo("Asia/Shanghai"))  # a Monday
    case = make_case(make_user(), make_user(), submit=False)
    case.category, case.region_code = "tenancy", region
    workflow.transition(case, Action.submit, by=case.parties[0].user, now=filed)
    assignment.assign_automatically(case, by=None, now=filed)
    managers = [world["nanjing_admin"] if region == "320000" else world["platform_admin"]]
    told = [len(texts_to(m)) for m in managers]
    assert told == [1]
    later = case.acceptance_due_at
    for _ in range(3):  # three more days, the worker looking each one
        later += timedelta(days=1)
        assert assignment.reassign_overdue(now=later) == []
    assert [len(texts_to(m)) for m in managers] == told
    actions = db.session.scalars(
        select(JournalEntry.action).where(JournalEntry.case_id == case.id)
    ).all()
    assert "case.acceptance_overdue" not in actions and actions.count("case.queued") == 1
    assert assignment.in_queue(case)
    # A mediator who takes tenancy disputes joins the institution: the next look gives it.
    newcomer = make_mediator(world["nanjing"])
    newcomer.mediator_profile.categories = ["tenancy"]
    db.session.flush()
    later = case.acceptance_due_at + timedelta(minutes=1)
    assert assignment.reassign_overdue(now=later) == [case]
    assert case.mediator_id == newcomer.id and not assignment.in_queue(case)
