"""The case state machine: the happy path, every way to end, and what is refused."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from mediation.accounts.models import Role
from mediation.cases import workflow
from mediation.cases.states import TRANSITIONS, Action, CaseStatus, TerminationReason
from mediation.extensions import db
from mediation.journal.models import JournalEntry
from mediation.journal.operations import verify_chain
from mediation.notify.models import OutboxMessage
from tests.factories import (
    make_case,
    make_institution,
    make_mediating_case,
    make_mediator,
    make_user,
)


@pytest.fixture
def people(app_ctx):
    institution = make_institution()
    return {
        "applicant": make_user(),
        "respondent": make_user(),
        "mediator": make_mediator(institution),
        "admin": make_user(Role.institution_admin, institution_id=institution.id),
        "judge": make_user(Role.judge),
        "stranger": make_user(),
    }


def accepted_case(people):
    return make_case(people["applicant"], people["respondent"], mediator=people["mediator"])


def journal_actions(case) -> list[str]:
    return list(
        db.session.scalars(
            select(JournalEntry.action)
            .where(JournalEntry.case_id == case.id)
            .order_by(JournalEntry.seq)
        )
    )


def test_the_happy_path_to_judicial_confirmation(people):
    case = accepted_case(people)
    assert case.status == CaseStatus.awaiting_respondent
    assert case.accepted_at and case.mediation_due_at and case.respondent_due_at
    assert case.mediation_due_at - case.accepted_at >= timedelta(days=30)
    steps = [
        (Action.respondent_agrees, people["respondent"], CaseStatus.in_mediation),
        (Action.draft_agreement, people["mediator"], CaseStatus.agreement_drafted),
        (Action.all_signed, None, CaseStatus.signed),
        (Action.request_confirmation, people["applicant"], CaseStatus.confirmation_requested),
        (Action.confirm, people["judge"], CaseStatus.confirmed),
    ]
    for action, by, expected in steps:
        workflow.transition(case, action, by=by)
        assert case.status == expected
    assert case.signed_at and case.closed_at
    assert journal_actions(case) == [
        "case.opened",
        "case.submit",
        "case.assigned",
        "case.accept",
        "respondent.invited",
        "case.respondent_agrees",
        "case.draft_agreement",
        "case.all_signed",
        "case.request_confirmation",
        "case.confirm",
    ]
    assert verify_chain(case.id).ok


@pytest.mark.parametrize(
    "reason", [r for r in TerminationReason if r != TerminationReason.agreement_reached]
)
def test_the_mediator_ends_mediation_with_each_reason_of_art_25(people, reason):
    case = accepted_case(people)
    workflow.transition(case, Action.respondent_agrees, by=people["respondent"])
    workflow.transition(case, Action.terminate, by=people["mediator"], reason=reason, note="记录")
    assert (case.status, case.termination_reason) == (CaseStatus.terminated, reason)
    assert case.closed_at is not None
    entry = db.session.scalar(
        select(JournalEntry)
        .where(JournalEntry.case_id == case.id)
        .order_by(JournalEntry.seq.desc())
    )
    assert entry.action == "case.terminate" and entry.payload["reason"] == reason


def test_the_respondents_refusal_ends_the_case(people):
    case = accepted_case(people)
    workflow.transition(case, Action.respondent_refuses, by=people["respondent"])
    assert case.status == CaseStatus.terminated
    assert case.termination_reason == TerminationReason.party_unwilling
    with pytest.raises(workflow.TransitionError):
        workflow.transition(case, Action.draft_agreement, by=people["mediator"])


def test_the_applicant_may_withdraw_but_not_end_it_otherwise(people):
    case = accepted_case(people)
    with pytest.raises(workflow.NotPermittedError):
        workflow.transition(
            case, Action.terminate, by=people["applicant"], reason=TerminationReason.too_far_apart
        )
    workflow.transition(
        case, Action.terminate, by=people["applicant"], reason=TerminationReason.withdrawn
    )
    assert case.termination_reason == TerminationReason.withdrawn


def test_an_illegal_step_is_refused_clearly_and_changes_nothing(people):
    case = accepted_case(people)
    before = db.session.scalar(select(func.count()).where(JournalEntry.case_id == case.id))
    with pytest.raises(workflow.TransitionError) as error:
        workflow.transition(case, Action.confirm, by=people["judge"])
    assert "待被申请人同意" in str(error.value) and "确认" in str(error.value)
    assert case.status == CaseStatus.awaiting_respondent
    assert db.session.scalar(select(func.count()).where(JournalEntry.case_id == case.id)) == before


def test_only_the_right_people_take_each_step(people):
    case = accepted_case(people)
    for outsider in ("stranger", "applicant", "mediator"):
        with pytest.raises(workflow.NotPermittedError):
            workflow.transition(case, Action.respondent_agrees, by=people[outsider])
    with pytest.raises(workflow.NotPermittedError):
        workflow.transition(
            case, Action.terminate, by=people["stranger"], reason=TerminationReason.other
        )


def test_declining_needs_a_reason_and_leads_to_reassignment(people):
    case = make_case(people["applicant"], people["respondent"])
    from mediation.cases import assignment

    assignment.assign(
        case,
        institution=people["mediator"].institution,
        mediator=people["mediator"],
        how="chosen",
        by=people["applicant"],
    )
    with pytest.raises(workflow.TransitionError):
        workflow.transition(case, Action.decline, by=people["mediator"])
    workflow.transition(case, Action.decline, by=people["mediator"], note="超出擅长领域")
    assert case.status == CaseStatus.declined and case.acceptance_due_at is None
    workflow.transition(case, Action.reassign, by=None)
    assert case.status == CaseStatus.submitted and case.acceptance_due_at is not None


def test_judicial_confirmation_is_refused_after_30_days(people):
    case = accepted_case(people)
    workflow.transition(case, Action.respondent_agrees, by=people["respondent"])
    workflow.transition(case, Action.draft_agreement, by=people["mediator"])
    workflow.transition(case, Action.all_signed, by=None)
    late = case.signed_at + timedelta(days=45)
    with pytest.raises(workflow.TransitionError, match="三十日"):
        workflow.transition(case, Action.request_confirmation, by=people["applicant"], now=late)
    # A signed agreement can no longer be ended by termination.
    with pytest.raises(workflow.TransitionError):
        workflow.transition(
            case, Action.terminate, by=people["mediator"], reason=TerminationReason.other
        )


def test_every_state_but_the_final_ones_has_a_way_out():
    sources = {t.source for t in TRANSITIONS}
    assert sources == set(CaseStatus) - {
        CaseStatus.confirmed,
        CaseStatus.rejected,
        CaseStatus.terminated,
    }


def test_before_acceptance_staff_accept_or_decline_but_do_not_end_the_case(people):
    case = make_case(people["applicant"], people["respondent"])
    from mediation.cases import assignment

    assignment.assign(
        case,
        institution=people["mediator"].institution,
        mediator=people["mediator"],
        how="chosen",
        by=people["applicant"],
    )
    with pytest.raises(workflow.NotPermittedError):
        workflow.transition(
            case, Action.terminate, by=people["mediator"], reason=TerminationReason.other
        )
    workflow.transition(
        case, Action.terminate, by=people["applicant"], reason=TerminationReason.withdrawn
    )
    assert case.status == CaseStatus.terminated


def test_a_respondent_who_has_not_agreed_answers_yes_or_no_and_ends_nothing_else(people):
    """PML art 17 and SPC online mediation rules art 15: the respondent asked answers; a no
    ends it (respondent_refuses). Ending mediation as such (art 25, PML art 23 (2)) is for
    one who is in it: not offered, and refused, before they agreed. The others may still
    end it: the applicant withdraws, the mediator records that a party cannot be reached."""
    from mediation.cases import operations as ops

    case = accepted_case(people)
    assert ops.available_steps(people["respondent"], case) == [
        Action.respondent_agrees,
        Action.respondent_refuses,
    ]
    with pytest.raises(workflow.NotPermittedError):
        workflow.transition(
            case,
            Action.terminate,
            by=people["respondent"],
            reason=TerminationReason.party_unwilling,
        )
    assert case.status == CaseStatus.awaiting_respondent
    assert Action.terminate in ops.available_steps(people["applicant"], case)
    assert Action.terminate in ops.available_steps(people["mediator"], case)
    # Once they agreed, ending is theirs too.
    workflow.transition(case, Action.respondent_agrees, by=people["respondent"])
    assert ops.available_steps(people["respondent"], case) == [Action.terminate]


def test_the_respondent_may_stop_mediation_but_only_for_a_partys_reason(people):
    case = accepted_case(people)
    workflow.transition(case, Action.respondent_agrees, by=people["respondent"])
    with pytest.raises(workflow.NotPermittedError):
        workflow.transition(
            case,
            Action.terminate,
            by=people["respondent"],
            reason=TerminationReason.deadline_expired,
        )
    workflow.transition(
        case, Action.terminate, by=people["respondent"], reason=TerminationReason.party_unwilling
    )
    assert case.termination_reason == TerminationReason.party_unwilling


def test_identity_relations_cannot_go_to_judicial_confirmation(people):
    case = accepted_case(people)
    case.category = "identity_relations"
    workflow.transition(case, Action.respondent_agrees, by=people["respondent"])
    workflow.transition(case, Action.draft_agreement, by=people["mediator"])
    workflow.transition(case, Action.all_signed, by=None)
    with pytest.raises(workflow.TransitionError, match="不能申请司法确认"):
        workflow.transition(case, Action.request_confirmation, by=people["applicant"])


def test_the_mediator_ending_it_tells_every_party_why_and_what_they_may_still_do(people):
    """SPC online mediation rules art 25 (the reason) and People's Mediation Law art 26 (the
    parties may still turn to arbitration, an administrative authority or a court); the
    mediator who pressed the button is not told."""
    case = make_mediating_case(people["mediator"])
    first = db.session.scalar(select(func.coalesce(func.max(OutboxMessage.id), 0)))
    workflow.transition(
        case, Action.terminate, by=people["mediator"], reason=TerminationReason.too_far_apart
    )
    db.session.flush()
    sent = dict(
        db.session.execute(
            select(OutboxMessage.recipient, OutboxMessage.body).where(
                OutboxMessage.id > first, OutboxMessage.channel == "sms"
            )
        ).all()
    )
    assert set(sent) == {u.phone for u in case.party_users()}
    for body in sent.values():
        assert case.number in body and "调解已终止" in body
        assert "当事人分歧较大且难以达成调解协议" in body
        assert "仲裁、行政、司法" in body
