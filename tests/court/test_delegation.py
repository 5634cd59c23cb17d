"""Court-delegated mediation (诉前委派调解, issue #20 item 3): a court's dispute enters the
normal flow filed and assigned, and the result goes back by itself — an agreement to be
confirmed by that court, a failure, or a return when the court's deadline passes. On both
databases (the app fixture)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from mediation.accounts.models import Role
from mediation.cases import assignment, clocks, rechoice, respondent, workflow
from mediation.cases.models import Case, Side
from mediation.cases.states import Action, CaseStatus, TerminationReason
from mediation.core.forms import FieldError
from mediation.court import application, delegation
from mediation.court.models import Delegation, DelegationStatus
from mediation.extensions import db
from mediation.journal.models import JournalEntry
from mediation.notify.models import OutboxMessage
from tests.factories import make_court, make_institution, make_mediator, make_user, valid_id_number


def dispute(reference="（2026）苏0102民诉前调1号", **fields):
    return delegation.DelegationInput(
        reference=reference,
        category="neighbourhood",
        title="楼上漏水致损",
        facts="楼上卫生间漏水，浸坏楼下吊顶。",
        applicants=[delegation.PartyInput("李建国", "13911112222", address="南京市玄武区1号")],
        respondents=[delegation.PartyInput("王小明", "13933334444")],
        claims=[delegation.ClaimInput("赔偿修复费用", Decimal("8000"))],
        **fields,
    )


@pytest.fixture
def world(app_ctx):
    court = make_court(name="南京市玄武区人民法院")
    institution = make_institution()
    mediator = make_mediator(institution)
    return court, institution, mediator


def test_a_delegated_dispute_is_filed_assigned_and_the_applicant_told(world):
    court, institution, _ = world
    made = delegation.delegate(court, dispute(institution_id=institution.id))
    case = made.case
    assert case.status == CaseStatus.submitted and case.institution_id == institution.id
    assert case.region_code == court.region_code and case.claims[0].amount == Decimal("8000")
    assert made.status == DelegationStatus.mediating
    # SPC rules art 24: 30 days, to the end of the last day (Civil Code arts 201, 203).
    assert made.deadline_at == clocks.period_end(made.delegated_at, 30, workflow.zone())
    applicant = next(p for p in case.parties if p.side == Side.applicant)
    assert applicant.consented_at is not None and applicant.service_address == "南京市玄武区1号"
    assert applicant.named_name == "李建国"
    text = db.session.scalar(
        select(OutboxMessage.body).where(OutboxMessage.recipient == "+8613911112222")
    )
    assert "南京市玄武区人民法院" in text and "/join/" in text and case.number in text
    kinds = list(
        db.session.scalars(
            select(JournalEntry.action)
            .where(JournalEntry.case_id == case.id)
            .order_by(JournalEntry.seq)
        )
    )
    assert kinds[:3] == ["case.opened", "delegation.received", "case.submit"]


@pytest.mark.parametrize(
    "reference", ["（2026）苏0102民诉前调1号", "(2026)苏0102民诉前调1号", "2026苏0102民诉前调1号"]
)
def test_the_applicants_text_shows_the_courts_reference_once_as_typed(world, reference):
    """A reference has its own brackets: the message never wraps it in more (it read
    "（（2026）苏0102民诉前调1号）")."""
    court, institution, _ = world
    delegation.delegate(court, dispute(reference=reference, institution_id=institution.id))
    text = db.session.scalar(
        select(OutboxMessage.body).where(OutboxMessage.recipient == "+8613911112222")
    )
    assert text.count(reference) == 1 and f"法院案号{reference}。" in text, text
    assert "（（" not in text and "）（" not in text and "号）" not in text, text


def test_the_institution_the_court_chose_is_told_so_not_that_matching_failed(world):
    """SPC online mediation rules art 11: the court chose the institution; its
    administrators learn who chose it and give it to one of its mediators (art 12)."""
    court, institution, _ = world
    admin = make_user(Role.institution_admin, institution_id=institution.id)
    made = delegation.delegate(court, dispute(institution_id=institution.id))
    (text,) = db.session.scalars(
        select(OutboxMessage.body).where(OutboxMessage.recipient == admin.phone)
    )
    assert (
        f"南京市玄武区人民法院已将案件{made.case.number}（邻里纠纷）委派{institution.name}"
        "进行诉前调解，法院案号（2026）苏0102民诉前调1号。" in text
    ), text
    assert "尚无调解员" not in text and "没有调解员受理" not in text
    assert "/cases/queue" in text
    assert assignment.waiting_because(made.case) == "chosen"


def test_hostile_or_wrong_input_is_refused_with_the_field_named(world):
    court, _, _ = world
    delegation.delegate(court, dispute())
    for data, field in (
        (dispute(), "reference"),  # the same reference twice
        (dispute(reference=""), "reference"),
        (dispute(reference="x" * 61), "reference"),
        (dispute(reference="新", days=0), "days"),
        (dispute(reference="新", days=91), "days"),
        (dispute(reference="新", institution_id=10**6), "institution_id"),
    ):
        with pytest.raises(FieldError) as raised:
            delegation.delegate(court, data)
        assert raised.value.field == field
    bad_phone = dispute(reference="新")
    bad_phone.respondents = [delegation.PartyInput("王小明", "12345")]
    with pytest.raises(FieldError) as raised:
        delegation.delegate(court, bad_phone)
    assert raised.value.field == "respondents"
    same = dispute(reference="新")
    same.respondents = [delegation.PartyInput("李建国", "13911112222")]
    with pytest.raises(FieldError):
        delegation.delegate(court, same)


def give(case, mediator):
    """The institution's administrator gives the queued case to its mediator."""
    admin = make_user(Role.institution_admin, institution_id=mediator.institution_id)
    assignment.give(case, mediator=mediator, by=admin)


def _accept_and_mediate(case, mediator):
    give(case, mediator)
    assignment.accept(case, by=mediator)
    respondent.answer(
        case,
        by=case.party_users(Side.respondent)[0],
        agree=True,
        consent=True,
        service_address="南京市玄武区2号",
        service_confirmed=True,
        id_number=valid_id_number(77),
    )


def test_an_agreement_goes_to_the_delegating_court(world):
    court, institution, mediator = world
    elsewhere = make_court(name="苏州市姑苏区人民法院", region_code="320508")
    made = delegation.delegate(court, dispute(institution_id=institution.id))
    case = made.case
    _accept_and_mediate(case, mediator)
    workflow.transition(case, Action.draft_agreement, by=mediator)
    workflow.transition(case, Action.all_signed, by=None)
    assert made.status == DelegationStatus.agreement and made.ended_at is not None
    # CPL art 205 (1): the court that delegated, and only it, whatever else would be.
    assert application.competent_courts(case) == [court]
    assert elsewhere.region_code != court.region_code
    # Once ended, the deadline no longer matters.
    assert delegation.return_expired(made.deadline_at + timedelta(days=1)) == 0


def test_a_refusal_is_a_failure_the_court_learns_of(world):
    court, institution, mediator = world
    made = delegation.delegate(court, dispute(institution_id=institution.id))
    case = made.case
    give(case, mediator)
    assignment.accept(case, by=mediator)
    respondent.answer(case, by=case.party_users(Side.respondent)[0], agree=False)
    assert case.status == CaseStatus.terminated and made.status == DelegationStatus.failed


def test_the_courts_deadline_returns_the_dispute(world):
    court, institution, mediator = world
    made = delegation.delegate(court, dispute(days=10, institution_id=institution.id))
    settled = delegation.delegate(court, dispute(reference="二号", days=10))
    case = made.case
    _accept_and_mediate(case, mediator)
    assert delegation.return_expired(made.deadline_at - timedelta(seconds=1)) == 0
    # An agreement in force when the deadline passes is not undone.
    settled.case.status = CaseStatus.signed
    later = max(made.deadline_at, settled.deadline_at) + timedelta(seconds=1)
    assert delegation.return_expired(later) == 2
    assert made.status == DelegationStatus.returned
    assert case.status == CaseStatus.terminated
    assert case.termination_reason == TerminationReason.deadline_expired  # art 25 (6)
    assert settled.status == DelegationStatus.agreement
    # Idempotent: the worker's next round finds nothing, and a second worker that read the
    # rows before the first one ended them ends nothing twice.
    assert delegation.return_expired(later + timedelta(days=10)) == 0
    assert not delegation._end(made, DelegationStatus.failed, later)
    assert made.status == DelegationStatus.returned


def test_an_existing_verified_account_is_used_not_duplicated(world):
    court, _, _ = world
    owner = make_user(phone="+8613911112222", real_name="李建国")
    made = delegation.delegate(court, dispute())
    assert made.case.party_users(Side.applicant)[0].id == owner.id


def test_the_worker_returns_an_expired_delegation(world, app):
    """The worker's deadline job (worker.case_deadlines) returns it, in its own transaction,
    once: the court's period ran out in the past, whatever today is."""
    from mediation import worker

    court, institution, _ = world
    delegated_at = datetime(2025, 12, 5, 2, 0, tzinfo=UTC)  # a Friday, long past
    made = delegation.delegate(
        court, dispute(days=10, institution_id=institution.id), now=delegated_at
    )
    made_id, case_id = made.id, made.case_id
    db.session.commit()
    assert "1 delegations returned to their courts" in worker.case_deadlines(app)
    assert "0 delegations returned to their courts" in worker.case_deadlines(app)
    db.session.expire_all()
    returned = db.session.get(Delegation, made_id)
    assert returned.status == DelegationStatus.returned and returned.ended_at is not None
    case = db.session.get(Case, case_id)
    assert (case.status, case.termination_reason) == (
        CaseStatus.terminated,
        TerminationReason.deadline_expired,  # SPC online mediation rules art 25 (6)
    )
    actions = db.session.scalars(
        select(JournalEntry.action).where(JournalEntry.case_id == case_id)
    ).all()
    assert "delegation.result" in actions


# -- art 12 para 2: the institution the court chose does not take the dispute on ---------


def _texts_to(user) -> list[str]:
    return list(
        db.session.scalars(
            select(OutboxMessage.body)
            .where(OutboxMessage.recipient == user.phone)
            .order_by(OutboxMessage.id)
        )
    )


def test_the_court_is_told_when_its_institution_declines_and_designates_another(world):
    """SPC online mediation rules art 12 para 2: "调解组织或者调解员不予接受…人民法院…可以重新
    指定". The court learns of the decline at once, and the institution it designates next has
    the case and its own three working days; the one that declined no longer holds it."""
    court, declining, _ = world
    clerk = make_user(Role.court_clerk, court_id=court.id)
    judge = make_user(Role.judge, court_id=court.id)
    make_user(Role.court_clerk, court_id=make_court(name="另一人民法院").id)
    declining_admin = make_user(Role.institution_admin, institution_id=declining.id)
    made = delegation.delegate(court, dispute(institution_id=declining.id))
    case = made.case
    assignment.decline(case, by=declining_admin, reason="不属于本会调解范围")
    assert made.choice_lapsed_at is not None and delegation.may_designate_again(made)
    for person in (clerk, judge):
        (text,) = _texts_to(person)
        assert declining.name in text and "（2026）苏0102民诉前调1号" in text, text
        assert case.number in text and "/court/delegations" in text, text
    chosen = make_institution()
    chosen_admin = make_user(Role.institution_admin, institution_id=chosen.id)
    delegation.designate_again(made, chosen.id, by=clerk)
    assert case.institution_id == chosen.id and case.mediator is None
    assert case.status == CaseStatus.submitted and case.acceptance_due_at is not None
    assert made.choice_lapsed_at is None and not delegation.may_designate_again(made)
    assert assignment.waiting_because(case) == "chosen"
    (queued,) = _texts_to(chosen_admin)
    assert "南京市玄武区人民法院" in queued and chosen.name in queued, queued
    applicant = case.party_users(Side.applicant)[0]
    assert any(chosen.name in t and case.number in t for t in _texts_to(applicant))
    again = db.session.scalar(
        select(JournalEntry).where(
            JournalEntry.case_id == case.id, JournalEntry.action == "case.chosen_again"
        )
    )
    assert again.actor_id == clerk.id and again.payload["to"] == chosen.id
    # Only after a lapse: the new institution has its three days first.
    with pytest.raises(workflow.TransitionError):
        delegation.designate_again(made, None, by=clerk)


def test_days_passing_tell_the_court_once_and_it_may_leave_the_choice_to_the_platform(world):
    """Nobody of the chosen institution took the dispute on within 3 working days: the
    court is told once, however often the worker looks again, and may let the platform pick."""
    court, elsewhere, free = world  # ``free`` mediates for another institution
    clerk = make_user(Role.court_clerk, court_id=court.id)
    empty = make_institution()  # no mediators at all
    made = delegation.delegate(court, dispute(institution_id=empty.id))
    case = made.case
    due = case.acceptance_due_at
    assignment.reassign_overdue(now=due + timedelta(minutes=1))
    assignment.reassign_overdue(now=due + timedelta(days=3))
    assert len(_texts_to(clerk)) == 1 and made.choice_lapsed_at is not None
    assert case.institution_id == empty.id  # the platform did not move it by itself
    delegation.designate_again(made, None, by=None)  # the court's system, through the API
    assert case.mediator == free and case.institution_id == elsewhere.id
    reassigned = db.session.scalar(
        select(JournalEntry).where(
            JournalEntry.case_id == case.id, JournalEntry.action == "case.reassign"
        )
    )
    assert reassigned.payload["as"] == ["court"]


def test_a_second_lapse_tells_the_court_again(world):
    court, first, _ = world
    clerk = make_user(Role.court_clerk, court_id=court.id)
    made = delegation.delegate(court, dispute(institution_id=first.id))
    admin = make_user(Role.institution_admin, institution_id=first.id)
    assignment.decline(made.case, by=admin, reason="不属于本会调解范围")
    second = make_institution()
    delegation.designate_again(made, second.id, by=clerk)
    assignment.decline(
        made.case,
        by=make_user(Role.institution_admin, institution_id=second.id),
        reason="本会调解员均需回避",
    )
    texts = _texts_to(clerk)
    assert len(texts) == 2 and second.name in texts[1], texts
    assert delegation.may_designate_again(made)


def test_designating_again_refuses_what_art_12_does_not_allow(world):
    court, first, _ = world
    clerk = make_user(Role.court_clerk, court_id=court.id)
    made = delegation.delegate(court, dispute(institution_id=first.id))
    with pytest.raises(workflow.TransitionError):  # nothing lapsed yet
        delegation.designate_again(made, make_institution().id, by=clerk)
    admin = make_user(Role.institution_admin, institution_id=first.id)
    assignment.decline(made.case, by=admin, reason="不属于本会调解范围")
    with pytest.raises(workflow.TransitionError):  # the one that declined
        delegation.designate_again(made, first.id, by=clerk)
    with pytest.raises(FieldError) as raised:
        delegation.designate_again(made, 10**6, by=clerk)
    assert raised.value.field == "institution_id"
    assert made.case.institution_id == first.id and delegation.may_designate_again(made)
    # The applicant ended it meanwhile (art 25): nothing is left to designate.
    workflow.transition(
        made.case,
        Action.terminate,
        by=made.case.party_users(Side.applicant)[0],
        reason=TerminationReason.withdrawn,
    )
    assert made.status == DelegationStatus.failed
    with pytest.raises(workflow.TransitionError):
        delegation.designate_again(made, make_institution().id, by=clerk)


def test_days_passing_tell_the_court_even_while_the_institution_has_mediators(world):
    """Art 12 para 2 ("超过规定期限未予确认的"): three working days without acceptance are a
    lapse whether or not the institution has mediators; the platform may still give the case
    to one of them, and the court may still designate another institution."""
    court, institution, mediator = world  # the institution has a free mediator
    clerk = make_user(Role.court_clerk, court_id=court.id)
    made = delegation.delegate(court, dispute(institution_id=institution.id))
    case = made.case
    assignment.reassign_overdue(now=case.acceptance_due_at + timedelta(minutes=1))
    assert case.mediator == mediator and case.institution_id == institution.id
    assert len(_texts_to(clerk)) == 1 and delegation.may_designate_again(made)
    chosen = make_institution()
    delegation.designate_again(made, chosen.id, by=clerk)
    assert case.mediator is None and case.institution_id == chosen.id


def test_a_clerk_who_is_a_party_cannot_choose_for_the_court(world):
    """A clerk's account has a court role, but not the delegating court's: a clerk of another
    court who is a party reaches the case page, yet only the delegating court designates
    (``designate_again``, whose edges check the court); its applicants ask the court."""
    from mediation.accounts.models import UserRole

    court, first, _ = world
    made = delegation.delegate(court, dispute(institution_id=first.id))
    admin = make_user(Role.institution_admin, institution_id=first.id)
    assignment.decline(made.case, by=admin, reason="不属于本会调解范围")
    party = made.case.party_users(Side.respondent)[0]
    party.court_id = make_court(name="另一人民法院").id
    db.session.add(UserRole(user_id=party.id, role=Role.court_clerk))
    db.session.flush()
    db.session.refresh(party)
    for who in (party, made.case.party_users(Side.applicant)[0]):
        with pytest.raises(workflow.NotPermittedError):
            rechoice.choose_again(made.case, make_institution(), by=who)
    assert made.case.institution_id == first.id and delegation.may_designate_again(made)
