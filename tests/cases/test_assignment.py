"""Assignment: the automatic pick, acceptance within 3 working days, reassignment."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from mediation.accounts.models import MediatorProfile, Role
from mediation.cases import assignment, lapse, matching, rechoice, workflow
from mediation.cases.models import CaseAssignment
from mediation.cases.states import Action, CaseStatus, TerminationReason
from mediation.extensions import db
from mediation.journal.models import JournalEntry
from mediation.notify.models import OutboxMessage
from tests.factories import make_case, make_institution, make_mediator, make_user

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(month, day, hour=10):
    return datetime(2026, month, day, hour, tzinfo=SHANGHAI)


@pytest.fixture
def roster(app_ctx):
    nanjing = make_institution(region_code="320102")
    suzhou = make_institution(region_code="320505")
    return {
        "near": make_mediator(nanjing),
        "near_busy": make_mediator(nanjing),
        "far": make_mediator(suzhou),
        "labour_only": make_mediator(nanjing),
    }


def filed_case(now=None):
    case = make_case(make_user(), make_user(), submit=False)
    case.region_code = "320102"
    workflow.transition(case, Action.submit, by=case.parties[0].user, now=now)
    return case


def test_the_pick_prefers_category_then_nearness_then_the_lighter_load(roster):
    roster["labour_only"].mediator_profile.categories = ["labour"]
    for _ in range(2):
        busy_case = filed_case()
        assignment.assign(
            busy_case,
            institution=roster["near_busy"].institution,
            mediator=roster["near_busy"],
            how="chosen",
            by=None,
        )
    near_load = filed_case()  # one case for "near": still lighter than "near_busy"
    assignment.assign(
        near_load,
        institution=roster["near"].institution,
        mediator=roster["near"],
        how="chosen",
        by=None,
    )
    case = filed_case()
    assert matching.pick(case).mediator == roster["near"]
    case.region_code = "320505"
    assert matching.pick(case).mediator == roster["far"]


def test_a_declined_case_goes_to_the_next_mediator_and_the_applicant_is_told(roster):
    case = filed_case()
    assert assignment.assign_automatically(case, by=None)
    first = case.mediator
    assignment.decline(case, by=first, reason="与申请人系亲属（第十三条）")
    assert case.status == CaseStatus.submitted
    assert case.mediator is not None and case.mediator != first
    outcomes = db.session.scalars(
        select(CaseAssignment.outcome)
        .where(CaseAssignment.case_id == case.id)
        .order_by(CaseAssignment.id)
    ).all()
    assert outcomes == ["declined", "pending"]
    applicant_phone = case.parties[0].user.phone
    texts = db.session.scalars(
        select(OutboxMessage.body).where(OutboxMessage.recipient == applicant_phone)
    )
    assert any(case.number in text for text in texts)


def test_a_case_not_accepted_in_3_working_days_over_national_day_is_flagged_and_reassigned(roster):
    case = filed_case(now=at(9, 30))
    assignment.assign_automatically(case, by=None, now=at(9, 30))
    first = case.mediator
    # Due at the end of Saturday 10 October (1-7 October off, 8, 9 and 10 worked).
    assert case.acceptance_due_at.astimezone(SHANGHAI).date().isoformat() == "2026-10-10"
    assert assignment.reassign_overdue(now=at(10, 9)) == []
    assert assignment.reassign_overdue(now=at(10, 11)) == [case]
    assert case.mediator != first and case.status == CaseStatus.submitted
    expired = db.session.scalar(
        select(CaseAssignment).where(
            CaseAssignment.case_id == case.id, CaseAssignment.mediator_id == first.id
        )
    )
    assert expired.outcome == "expired"
    actions = db.session.scalars(
        select(JournalEntry.action)
        .where(JournalEntry.case_id == case.id)
        .order_by(JournalEntry.seq)
    ).all()
    assert actions[-3:] == ["case.acceptance_overdue", "case.assigned", "case.reassign"]
    # The new mediator has 3 working days again: 12, 13, 14 October.
    assert case.acceptance_due_at.astimezone(SHANGHAI).date().isoformat() == "2026-10-14"
    assert assignment.reassign_overdue(now=at(10, 12)) == []  # flagged once, not twice


def test_with_nobody_left_the_case_waits_flagged(roster):
    for mediator in roster.values():
        mediator.mediator_profile.categories = ["labour"]
    solo = make_mediator(make_institution())
    case = filed_case()
    assignment.assign(case, institution=solo.institution, mediator=solo, how="chosen", by=None)
    assignment.decline(case, by=solo, reason="案件过多")
    assert case.status == CaseStatus.declined
    actions = db.session.scalars(
        select(JournalEntry.action)
        .where(JournalEntry.case_id == case.id)
        .order_by(JournalEntry.seq.desc())
    ).all()
    # Flagged, and at once in the queue of the institution whose mediator declined.
    assert actions[0] == "case.queued" and "case.no_mediator_available" in actions[:3]
    assert assignment.in_queue(case) and case.institution_id == solo.institution_id


def test_a_party_never_mediates_their_own_case(roster):
    case = filed_case()
    for mediator in roster.values():
        mediator.mediator_profile.categories = ["labour"]
    insider = make_mediator(make_institution())
    from mediation.cases.models import CaseParty

    case.parties.append(CaseParty(user=insider, side="respondent"))
    db.session.flush()
    assert matching.pick(case) is None
    assert isinstance(insider.mediator_profile, MediatorProfile)


def test_the_worker_reassigns_overdue_cases(app, roster, runner):
    case = filed_case(now=at(9, 30))
    assignment.assign_automatically(case, by=None, now=at(9, 30))
    db.session.commit()
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0
    assert "1 overdue cases reassigned" in result.output


def test_a_case_nobody_could_take_is_tried_again_later(roster):
    for mediator in roster.values():
        mediator.mediator_profile.categories = ["labour"]
    case = filed_case(now=at(9, 30))
    assert not assignment.assign_automatically(case, by=None, now=at(9, 30))
    assert assignment.reassign_overdue(now=at(10, 11)) == []  # still nobody
    assert case.acceptance_due_at > at(10, 11)  # looked at again later, not dropped
    roster["near"].mediator_profile.categories = ["neighbourhood"]
    later = case.acceptance_due_at + timedelta(minutes=1)
    assert assignment.reassign_overdue(now=later) == [case]
    assert case.mediator == roster["near"]


def test_the_institution_gives_the_new_mediator_a_fresh_deadline(roster):
    case = filed_case(now=at(9, 30))
    assignment.assign(
        case,
        institution=roster["near"].institution,
        mediator=roster["near"],
        how="chosen",
        by=None,
        now=at(9, 30),
    )
    admin = make_user(Role.institution_admin, institution_id=roster["near"].institution_id)
    assignment.reassign_by_institution(case, mediator=roster["near_busy"], by=admin)
    latest = assignment.current(case)
    assert case.acceptance_due_at == latest.due_at and latest.mediator_id == roster["near_busy"].id


def applicant_texts(case) -> list[str]:
    return list(
        db.session.scalars(
            select(OutboxMessage.body).where(OutboxMessage.recipient == case.parties[0].user.phone)
        )
    )


def test_an_institution_chosen_keeps_the_case_and_the_applicant_may_choose_again(roster):
    """SPC online mediation rules art 12 para 2: when the institution chosen (by the applicant
    or a delegating court, art 10) lets its three working days pass, the court or the parties
    may choose again; the platform does not give the case to a nearer institution itself."""
    chosen = make_institution(region_code="320106")
    make_mediator(chosen).mediator_profile.categories = ["labour"]  # none takes this kind
    case = filed_case(now=at(9, 30))
    case.institution = chosen
    assignment.queue(case, by=case.parties[0].user, now=at(9, 30), how="chosen")
    # "near" (another institution, same city, free) would be the automatic pick.
    assert assignment.reassign_overdue(now=at(10, 11)) == []
    assert case.institution_id == chosen.id and case.mediator is None
    assert assignment.in_queue(case)
    assert not lapse.lapsed(case).refused  # its days passed: waiting may still help
    lapsed = [t for t in applicant_texts(case) if "在案件页面另选调解组织" in t]
    assert len(lapsed) == 1 and chosen.name in lapsed[0] and case.number in lapsed[0]
    # Looked at again a working day later: still theirs, and not told twice.
    later = case.acceptance_due_at + timedelta(minutes=1)
    assert assignment.reassign_overdue(now=later) == []
    assert case.institution_id == chosen.id
    assert len([t for t in applicant_texts(case) if "另选调解组织" in t]) == 1
    # One of the chosen institution's own mediators who becomes free takes it.
    own = make_mediator(chosen)
    assert assignment.reassign_overdue(now=case.acceptance_due_at + timedelta(minutes=1)) == [case]
    assert case.mediator == own


def test_a_chosen_mediator_who_declines_is_followed_by_one_of_the_same_institution(roster):
    """Art 12 para 2 ("调解员不予接受…当事人可以重新选定"): the applicants are told they may
    choose again, naming the mediator they chose; meanwhile the platform gives the case to
    another mediator of that institution."""
    chosen = make_institution(region_code="320505")  # Suzhou, the dispute is in Nanjing
    declining, colleague = make_mediator(chosen), make_mediator(chosen)
    case = filed_case()
    assignment.assign(
        case, institution=chosen, mediator=declining, how="chosen", by=case.parties[0].user
    )
    assignment.decline(case, by=declining, reason="案件过多")
    # Not "near" of the Nanjing institution, though nearer and as free.
    assert case.mediator == colleague and case.institution_id == chosen.id
    told = [t for t in applicant_texts(case) if "另选调解员" in t]
    assert len(told) == 1 and declining.real_name in told[0], told
    assert lapse.lapsed(case).mediator_id == declining.id
    # The colleague lets the days pass too: the applicants are not told again.
    assignment.reassign_overdue(now=case.acceptance_due_at + timedelta(minutes=1))
    assert len([t for t in applicant_texts(case) if "另选调解员" in t]) == 1


def test_a_chosen_mediator_who_lets_the_days_pass_lets_the_choice_lapse(roster):
    chosen = make_institution(region_code="320505")
    silent, colleague = make_mediator(chosen), make_mediator(chosen)
    case = filed_case(now=at(9, 30))
    assignment.assign(
        case, institution=chosen, mediator=silent, how="chosen", by=None, now=at(9, 30)
    )
    assert assignment.reassign_overdue(now=at(10, 11)) == [case]
    assert case.mediator == colleague
    told = [t for t in applicant_texts(case) if "另选调解员" in t]
    assert len(told) == 1 and silent.real_name in told[0], told


def test_an_institution_that_declines_for_its_chosen_mediator_refuses_the_choice(roster):
    """The administrator, not the mediator chosen, declines: the institution refused, and the
    applicants are told so (not that the mediator did)."""
    chosen = make_institution(region_code="320505")
    named = make_mediator(chosen)
    make_mediator(chosen)  # free: not given the case either
    admin = make_user(Role.institution_admin, institution_id=chosen.id)
    case = filed_case()
    assignment.assign(case, institution=chosen, mediator=named, how="chosen", by=None)
    assignment.decline(case, by=admin, reason="不属于本会调解范围")
    assert case.status == CaseStatus.declined and case.acceptance_due_at is None
    assert lapse.lapsed(case).mediator_id is None
    assert lapse.lapsed(case).refused  # the case page does not suggest waiting for it
    told = [t for t in applicant_texts(case) if "未受理" in t]
    assert len(told) == 1 and chosen.name in told[0] and named.real_name not in told[0]
    with pytest.raises(workflow.TransitionError):  # the institution that refused
        rechoice.choose_again(case, chosen, by=case.parties[0].user)


def test_the_applicant_chooses_another_mediator_after_the_chosen_one_declines(roster):
    """The applicant chooses a mediator by name again, as when filing (art 10): the one
    the platform gave the case to meanwhile is told they need not answer; the new one has
    three working days; the one who declined cannot be chosen again."""
    chosen = make_institution(region_code="320505")
    declining, colleague = make_mediator(chosen), make_mediator(chosen)
    case = filed_case(now=at(9, 30))
    applicant = case.parties[0].user
    assignment.assign(
        case, institution=chosen, mediator=declining, how="chosen", by=applicant, now=at(9, 30)
    )
    assignment.decline(case, by=declining, reason="案件过多", now=at(9, 30, 11))
    assert case.mediator == colleague
    with pytest.raises(workflow.TransitionError):
        rechoice.choose_again(case, None, mediator=declining, by=applicant, now=at(9, 30, 12))
    with pytest.raises(workflow.TransitionError):  # a party may not mediate (art 13)
        rechoice.choose_again(
            case, None, mediator=case.parties[1].user, by=applicant, now=at(9, 30, 12)
        )
    with pytest.raises(workflow.NotPermittedError):
        rechoice.choose_again(
            case, None, mediator=roster["far"], by=case.parties[1].user, now=at(9, 30, 12)
        )
    rechoice.choose_again(case, None, mediator=roster["far"], by=applicant, now=at(9, 30, 13))
    assert case.mediator == roster["far"] and case.status == CaseStatus.submitted
    assert case.institution_id == roster["far"].institution_id
    assert matching.chosen_institution_id(case) == roster["far"].institution_id
    assert matching.last_choice(case).mediator_id == roster["far"].id
    assert case.acceptance_due_at > at(9, 30, 13) and lapse.lapsed(case) is None
    withdrawn = db.session.scalars(
        select(OutboxMessage.body).where(OutboxMessage.recipient == colleague.phone)
    ).all()
    assert any("无需答复" in t for t in withdrawn), withdrawn
    assert not [
        t
        for t in db.session.scalars(
            select(OutboxMessage.body).where(OutboxMessage.recipient == declining.phone)
        )
        if "无需答复" in t
    ]
    assert any(roster["far"].real_name in t for t in applicant_texts(case))


def test_after_a_mediator_declines_the_applicant_may_choose_their_institution(roster):
    """The mediator declined, not the institution: choosing that institution itself is a new
    choice, whose administrators give it to one of its mediators."""
    chosen = make_institution(region_code="320505")
    declining = make_mediator(chosen)
    case = filed_case()
    applicant = case.parties[0].user
    assignment.assign(case, institution=chosen, mediator=declining, how="chosen", by=applicant)
    assignment.decline(case, by=declining, reason="案件过多")  # nobody else there: queued
    assert case.status == CaseStatus.declined and lapse.lapsed(case) is not None
    rechoice.choose_again(case, chosen, by=applicant)
    assert case.institution_id == chosen.id and case.mediator is None
    assert assignment.in_queue(case) and case.status == CaseStatus.submitted


def test_an_automatic_pick_that_lapses_may_go_to_another_institution(roster):
    case = filed_case(now=at(9, 30))
    assignment.assign_automatically(case, by=None, now=at(9, 30))
    first = case.mediator
    roster["near_busy"].mediator_profile.categories = ["labour"]
    roster["labour_only"].mediator_profile.categories = ["labour"]
    assert assignment.reassign_overdue(now=at(10, 11)) == [case]
    assert case.mediator == roster["far"] and case.institution_id != first.institution_id
    assert not [t for t in applicant_texts(case) if "另选调解组织" in t]


def test_an_institution_chosen_that_declines_leaves_the_choice_to_the_applicant(roster):
    """The institution itself (its administrator, not a mediator) declines a case it was
    chosen for (art 12): nobody else is picked, no clock runs, and the applicants are told
    at once that they may choose again."""
    from mediation.accounts.models import Role

    chosen = make_institution(region_code="320106")
    make_mediator(chosen)  # free, and of this kind: not given the case either
    admin = make_user(Role.institution_admin, institution_id=chosen.id)
    case = filed_case(now=at(9, 30))
    case.institution = chosen
    assignment.queue(case, by=case.parties[0].user, now=at(9, 30), how="chosen")
    assignment.decline(case, by=admin, reason="不属于本会章程规定的调解范围", now=at(9, 30))
    assert case.status == CaseStatus.declined and case.mediator is None
    assert case.institution_id == chosen.id and case.acceptance_due_at is None
    told = [t for t in applicant_texts(case) if "另选调解组织" in t]
    assert len(told) == 1 and "未受理" in told[0]
    assert assignment.reassign_overdue(now=at(10, 30)) == []  # the worker leaves it be
    # The applicant may end it for that reason (art 25 (8)) and apply again.
    workflow.transition(
        case, Action.terminate, by=case.parties[0].user, reason=TerminationReason.other
    )
    assert case.status == CaseStatus.terminated


def test_a_delegated_case_the_institution_did_not_take_points_to_the_court(app_ctx):
    from mediation.court import delegation as delegating
    from tests.court.test_delegation import dispute
    from tests.factories import make_court

    chosen = make_institution()
    make_mediator(chosen).mediator_profile.categories = ["labour"]  # none free for it
    case = delegating.delegate(make_court(), dispute(institution_id=chosen.id)).case
    assert assignment.reassign_overdue(now=case.acceptance_due_at + timedelta(minutes=1)) == []
    told = [t for t in applicant_texts(case) if "未受理" in t]
    assert len(told) == 1 and "请求法院另行指定" in told[0] and "另选调解组织" not in told[0]


def test_the_applicant_chooses_another_institution_after_a_decline(roster):
    """Art 12 para 2 ("当事人可以…选定"): the applicant who chose the institution chooses
    another, which has its own three working days; the one that declined no longer holds
    the case. Nobody else chooses for the applicant."""
    chosen = make_institution(region_code="320106")
    admin = make_user(Role.institution_admin, institution_id=chosen.id)
    case = filed_case(now=at(9, 30))
    applicant, respondent = case.parties[0].user, case.parties[1].user
    case.institution = chosen
    assignment.queue(case, by=applicant, now=at(9, 30), how="chosen")
    other = make_institution(region_code="320102")
    other_admin = make_user(Role.institution_admin, institution_id=other.id)
    # Before any lapse, the institution has its three working days.
    with pytest.raises(workflow.TransitionError):
        rechoice.choose_again(case, other, by=applicant, now=at(9, 30, 11))
    assignment.decline(case, by=admin, reason="不属于本会章程规定的调解范围", now=at(9, 30, 12))
    for stranger in (respondent, admin, make_user()):
        with pytest.raises(workflow.NotPermittedError):
            rechoice.choose_again(case, other, by=stranger, now=at(9, 30, 13))
    with pytest.raises(workflow.TransitionError):  # the one that declined
        rechoice.choose_again(case, chosen, by=applicant, now=at(9, 30, 13))
    rechoice.choose_again(case, other, by=applicant, now=at(9, 30, 14))
    assert case.status == CaseStatus.submitted and case.institution_id == other.id
    assert case.acceptance_due_at is not None and assignment.in_queue(case)
    assert matching.chosen_institution_id(case) == other.id
    texts = applicant_texts(case)
    assert any(other.name in t and "个工作日内决定是否受理" in t for t in texts), texts
    told = db.session.scalars(
        select(OutboxMessage.body).where(OutboxMessage.recipient == other_admin.phone)
    ).all()
    assert len(told) == 1 and "申请人选择由" in told[0], told


def test_leaving_it_to_the_platform_picks_the_nearest_free_mediator(roster):
    chosen = make_institution(region_code="320106")
    case = filed_case(now=at(9, 30))
    case.institution = chosen
    assignment.queue(case, by=case.parties[0].user, now=at(9, 30), how="chosen")
    assignment.reassign_overdue(now=case.acceptance_due_at + timedelta(minutes=1))
    rechoice.choose_again(case, None, by=case.parties[0].user)
    assert case.mediator == roster["near"] and case.status == CaseStatus.submitted
    assert any("调解员" in t for t in applicant_texts(case))


def test_leaving_it_to_the_platform_never_gives_it_back_to_the_institution_that_declined(
    roster,
):
    """The institution that declined has the nearest free mediator of the case's kind: the
    platform's pick, left to it after the decline, goes elsewhere, and the earlier choice no
    longer binds later picks."""
    refusing = roster["near"].institution  # Nanjing, the dispute's city
    admin = make_user(Role.institution_admin, institution_id=refusing.id)
    case = filed_case(now=at(9, 30))
    case.institution = refusing
    assignment.queue(case, by=case.parties[0].user, now=at(9, 30), how="chosen")
    assignment.decline(case, by=admin, reason="本会调解员均需回避", now=at(9, 30, 12))
    rechoice.choose_again(case, None, by=case.parties[0].user, now=at(9, 30, 13))
    assert case.mediator == roster["far"] and case.institution_id != refusing.id
    assert matching.chosen_institution_id(case) is None


def test_an_institution_that_refuses_after_its_chosen_mediator_declined_is_a_new_lapse(roster):
    """The mediator chosen by name declined and a colleague was given the case; then the
    institution's administrator declines it for the institution. That is a refusal of its
    own (art 12 para 2): the applicants are told again, and neither the institution nor any
    of its mediators is offered or taken when they choose again."""
    chosen = make_institution(region_code="320505")
    named, colleague = make_mediator(chosen), make_mediator(chosen)
    admin = make_user(Role.institution_admin, institution_id=chosen.id)
    case = filed_case()
    applicant = case.parties[0].user
    assignment.assign(case, institution=chosen, mediator=named, how="chosen", by=applicant)
    assignment.decline(case, by=named, reason="回避")
    assert case.mediator == colleague and rechoice.meanwhile(case, lapse.lapsed(case)) == colleague
    assignment.decline(case, by=admin, reason="不属于本会调解范围")
    found = lapse.lapsed(case)
    assert found.mediator_id is None and found.institution_id == chosen.id
    told = [t for t in applicant_texts(case) if "未受理" in t]
    assert len(told) == 2 and chosen.name in told[1], told
    assert rechoice.meanwhile(case, found) is None  # declined: nobody answers any more
    out = rechoice.left_out(case, found)
    assert out.institution == chosen.id and {named.id, colleague.id} <= out.mediators
    for choice in ({"institution": chosen}, {"institution": None, "mediator": colleague}):
        with pytest.raises(workflow.TransitionError):
            rechoice.choose_again(case, by=applicant, **choice)
    rechoice.choose_again(case, None, by=applicant)  # the platform: never back to it
    assert case.mediator == roster["near"] and case.institution_id != chosen.id


def test_choosing_a_mediator_again_needs_one_who_takes_the_kind(roster):
    chosen = make_institution(region_code="320505")
    declining = make_mediator(chosen)
    case = filed_case()
    applicant = case.parties[0].user
    assignment.assign(case, institution=chosen, mediator=declining, how="chosen", by=applicant)
    assignment.decline(case, by=declining, reason="案件过多")
    roster["far"].mediator_profile.categories = ["labour"]
    with pytest.raises(workflow.TransitionError):
        rechoice.choose_again(case, None, mediator=roster["far"], by=applicant)
