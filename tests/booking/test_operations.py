"""Booking, offering and choosing times, moving and cancelling, with notices and journal."""

from datetime import time
from unittest import mock

import pytest
from sqlalchemy import select

from mediation.booking import cleanup, offers
from mediation.booking import operations as booking
from mediation.booking.models import JoinsFrom, MediationSession, SessionStatus
from mediation.cases.models import Side
from mediation.cases.workflow import NotPermittedError
from mediation.core.forms import FieldError
from mediation.extensions import db
from mediation.journal.models import JournalEntry
from mediation.notify.models import OutboxMessage
from tests.booking.conftest import NOW, at
from tests.factories import add_weekly_hours, make_mediating_case, make_user


def kinds(case) -> list[str]:
    return db.session.scalars(
        select(JournalEntry.action)
        .where(JournalEntry.case_id == case.id)
        .order_by(JournalEntry.seq)
    ).all()


def test_booking_invites_everyone_with_a_calendar_attachment(case):
    applicant, respondent = case.party_users()
    respondent.email = "respondent@example.org"
    session = booking.book(
        case, by=case.mediator, start=at(24, "09:00"), at_site={respondent.id}, now=NOW
    )
    assert session.status == SessionStatus.scheduled
    assert {p.user_id for p in session.participants} == {
        case.mediator_id,
        applicant.id,
        respondent.id,
    }
    assert {p.user_id: p.joins_from for p in session.participants}[respondent.id] == JoinsFrom.site
    assert kinds(case)[-1] == "session.booked"
    sms = db.session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "sms")).all()
    assert {m.recipient for m in sms} >= {applicant.phone, respondent.phone}
    to_respondent = next(m for m in sms if m.recipient == respondent.phone and "/s/" in m.body)
    assert "2026年11月24日" in to_respondent.body and "/s/" in to_respondent.body
    assert case.institution.address in to_respondent.body  # joins from the office
    mail = db.session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "email")).all()[
        -1
    ]
    assert mail.recipient == "respondent@example.org"
    assert mail.attachments[0]["params"]["method"] == "REQUEST"


def test_only_the_cases_mediator_books_and_only_while_mediating(case):
    with pytest.raises(NotPermittedError):
        booking.book(case, by=case.party_users()[0], start=at(24, "09:00"), now=NOW)
    other = make_mediating_case()
    with pytest.raises(NotPermittedError):
        booking.book(case, by=other.mediator, start=at(24, "09:00"), now=NOW)


def test_a_time_outside_the_hours_or_already_taken_is_refused_with_the_reason(case):
    with pytest.raises(booking.SlotUnavailableError) as refused:
        booking.book(case, by=case.mediator, start=at(24, "18:00"), now=NOW)
    assert refused.value.why == "hours" and "工作时间" in refused.value.message
    booking.book(case, by=case.mediator, start=at(24, "09:00"), now=NOW)
    with pytest.raises(booking.SlotUnavailableError) as refused:
        booking.book(case, by=case.mediator, start=at(24, "09:30"), now=NOW)
    assert refused.value.why == "taken"


def test_separate_sessions_need_every_partys_consent(case):
    applicant, respondent = case.party_users()
    with pytest.raises(FieldError, match="第十六条"):
        booking.book(case, by=case.mediator, start=at(24, "09:00"), side=Side.applicant, now=NOW)
    booking.consent_to_separate_sessions(case, applicant, True)
    booking.consent_to_separate_sessions(case, respondent, True)
    session = booking.book(
        case, by=case.mediator, start=at(24, "09:00"), side=Side.applicant, now=NOW
    )
    assert {p.user_id for p in session.participants} == {case.mediator_id, applicant.id}


def test_offered_times_are_held_until_every_party_chose_the_same_one(case):
    applicant, respondent = case.party_users()
    offered = offers.offer(
        case, by=case.mediator, starts=[at(24, "09:00"), at(25, "10:00"), at(26, "14:00")], now=NOW
    )
    assert [s.status for s in offered] == [SessionStatus.offered] * 3
    # The held times are busy: nobody else can take them meanwhile.
    other = make_mediating_case(case.mediator)
    with pytest.raises(booking.SlotUnavailableError):
        booking.book(other, by=case.mediator, start=at(25, "10:00"), now=NOW)
    assert offers.choose(applicant, offered[0], {offered[1].id, offered[2].id}, now=NOW) is None
    fixed = offers.choose(respondent, offered[0], {offered[0].id, offered[2].id}, now=NOW)
    assert fixed is offered[2]
    assert [s.status for s in offered] == [
        SessionStatus.cancelled,
        SessionStatus.cancelled,
        SessionStatus.scheduled,
    ]
    assert kinds(case)[-1] == "session.fixed"
    with pytest.raises(NotPermittedError):  # nothing left to choose
        offers.choose(applicant, offered[0], {offered[0].id}, now=NOW)


def test_rescheduling_keeps_the_uid_raises_the_sequence_and_frees_the_old_time(case):
    session = booking.book(case, by=case.mediator, start=at(24, "09:00"), now=NOW)
    uid, sequence = session.uid, session.sequence
    with pytest.raises(FieldError, match="原因"):
        booking.reschedule(session, by=case.mediator, start=at(25, "09:00"), reason=" ", now=NOW)
    booking.reschedule(session, by=case.mediator, start=at(25, "09:00"), reason="病假", now=NOW)
    assert (session.uid, session.sequence) == (uid, sequence + 1)
    assert session.start_at == at(25, "09:00")
    # The old time can be booked again; moving onto a taken time is refused.
    other = booking.book(case, by=case.mediator, start=at(24, "09:00"), now=NOW)
    with pytest.raises(booking.SlotUnavailableError):
        booking.reschedule(other, by=case.mediator, start=at(25, "09:30"), reason="x", now=NOW)
    assert kinds(case).count("session.rescheduled") == 1


def test_cancelling_frees_the_slot_and_tells_everyone_with_the_reason(case):
    session = booking.book(case, by=case.mediator, start=at(24, "09:00"), now=NOW)
    booking.cancel(session, by=case.mediator, reason="调解员回避", now=NOW)
    assert session.status == SessionStatus.cancelled
    texts = db.session.scalars(
        select(OutboxMessage.body).where(OutboxMessage.body.contains("调解员回避"))
    ).all()
    assert len(texts) == 3  # the mediator and both parties
    booking.book(case, by=case.mediator, start=at(24, "09:00"), now=NOW)


def test_the_worker_cancels_stale_offers_and_sessions_of_ended_cases(case):
    from mediation.cases import workflow
    from mediation.cases.states import Action, TerminationReason

    offered = offers.offer(
        case, by=case.mediator, starts=[at(24, "09:00"), at(25, "09:00")], now=NOW
    )
    # The first time began unchosen: only it goes; the second can still be chosen.
    assert cleanup.end_stale(now=at(24, "09:01")) == 1
    assert [s.status for s in offered] == [SessionStatus.cancelled, SessionStatus.offered]
    assert cleanup.end_stale(now=at(24, "10:00")) == 0
    assert cleanup.end_stale(now=at(25, "09:01")) == 1
    assert offered[1].status == SessionStatus.cancelled
    withdrawn = db.session.scalars(
        select(OutboxMessage.body).where(OutboxMessage.body.contains("撤回"))
    ).all()
    assert len(withdrawn) == 3  # everyone told once, when no time was left
    session = booking.book(case, by=case.mediator, start=at(26, "09:00"), now=NOW)
    workflow.transition(
        case, Action.terminate, by=case.mediator, reason=TerminationReason.too_far_apart
    )
    assert cleanup.end_stale(now=NOW) == 1
    assert session.status == SessionStatus.cancelled


def test_a_stranger_cannot_choose_times(case):
    offered = offers.offer(
        case, by=case.mediator, starts=[at(24, "09:00"), at(25, "09:00")], now=NOW
    )
    with pytest.raises(NotPermittedError):
        offers.choose(make_user(), offered[0], {offered[0].id}, now=NOW)
    assert db.session.get(MediationSession, offered[0].id).status == SessionStatus.offered


def test_a_new_mediator_means_the_old_ones_sessions_are_cancelled(case):
    from mediation.accounts.models import Role
    from mediation.booking import links
    from mediation.cases import assignment
    from tests.factories import make_mediator

    session = booking.book(case, by=case.mediator, start=at(24, "09:00"), now=NOW)
    old = next(p for p in session.participants if p.role == "mediator")
    admin = make_user(Role.institution_admin, institution_id=case.institution_id)
    new = make_mediator(case.institution)
    add_weekly_hours(new)
    with mock.patch("mediation.booking.cleanup.utcnow", return_value=NOW):  # a fixed date
        assignment.reassign_by_institution(case, mediator=new, by=admin)
    assert session.status == SessionStatus.cancelled
    assert links.check(links.token_for(old), None, now=NOW).refusal == links.Refusal.cancelled
    assert booking.book(case, by=new, start=at(24, "09:00"), now=NOW).mediator_id == new.id


def test_a_time_that_began_or_a_case_that_ended_cannot_be_chosen(case):
    from mediation.cases import workflow
    from mediation.cases.states import Action, TerminationReason

    applicant, respondent = case.party_users()
    offered = offers.offer(
        case, by=case.mediator, starts=[at(24, "09:00"), at(25, "09:00")], now=NOW
    )
    offers.choose(applicant, offered[0], {offered[0].id}, now=NOW)
    with pytest.raises(FieldError):  # the first time has begun: it is no longer offered
        offers.choose(respondent, offered[0], {offered[0].id}, now=at(24, "09:30"))
    workflow.transition(
        case, Action.terminate, by=case.mediator, reason=TerminationReason.too_far_apart
    )
    with pytest.raises(NotPermittedError):
        offers.choose(respondent, offered[0], {offered[1].id}, now=NOW)
    assert {s.status for s in offered} == {SessionStatus.offered}  # the worker cancels them


def test_withdrawing_consent_cancels_the_separate_sessions_to_come(app_ctx):
    from tests.booking.conftest import ahead

    case = make_mediating_case()
    add_weekly_hours(case.mediator)
    applicant, respondent = case.party_users()
    for party in (applicant, respondent):
        booking.consent_to_separate_sessions(case, party, True)
    separate = booking.book(case, by=case.mediator, start=ahead(1, "09:00"), side=Side.applicant)
    together = booking.book(case, by=case.mediator, start=ahead(2, "09:00"))
    booking.consent_to_separate_sessions(case, respondent, False)
    assert separate.status == SessionStatus.cancelled
    assert together.status == SessionStatus.scheduled
    assert "第十六条" in separate.cancel_reason


def test_the_mediator_invites_a_relative_and_an_expert_art_20(case):
    session = booking.book(case, by=case.mediator, start=at(24, "09:00"), now=NOW)
    relative = booking.invite_guest(
        session,
        by=case.mediator,
        real_name="张小明",
        phone="13912345678",
        relation="relative",
        side=Side.applicant,
    )
    expert = booking.invite_guest(
        session,
        by=case.mediator,
        real_name="李工程师",
        phone="13912345679",
        relation="expert",
        side=Side.respondent,  # ignored: an expert comes with no side
    )
    assert (relative.role, relative.side, expert.side) == ("guest", "applicant", None)
    assert db.session.scalar(
        select(OutboxMessage.body).where(OutboxMessage.recipient == "+8613912345678")
    )
    with pytest.raises(booking.GuestInvitedAlreadyError):  # once is enough
        booking.invite_guest(
            session,
            by=case.mediator,
            real_name="张小明",
            phone="13912345678",
            relation="relative",
            side=Side.applicant,
        )
    with pytest.raises(FieldError):  # and in one capacity
        booking.invite_guest(
            session,
            by=case.mediator,
            real_name="张小明",
            phone="13912345678",
            relation="neighbour",
            side=Side.applicant,
        )
    with pytest.raises(NotPermittedError):
        booking.invite_guest(
            session,
            by=case.party_users()[0],
            real_name="王五",
            phone="13912345670",
            relation="relative",
            side=Side.applicant,
        )
    assert "session.guest_invited" in kinds(case)


def test_a_session_in_public_reception_hours_is_marked_so(app_ctx):
    from mediation.booking import availability

    case = make_mediating_case()
    availability.add_rule(case.mediator_id, 4, time(9), time(12), reception=True, place="调解室")
    availability.add_rule(case.mediator_id, 4, time(14), time(17), reception=False, place="")
    # Friday 27 November 2026.
    inside = booking.book(case, by=case.mediator, start=at(27, "09:00"), now=NOW)
    outside = booking.book(case, by=case.mediator, start=at(27, "14:00"), now=NOW)
    assert (inside.reception, outside.reception) == (True, False)
    booking.reschedule(
        outside, by=case.mediator, start=at(27, "10:30"), reason="改到接待时间", now=NOW
    )
    assert outside.reception is True


def test_times_held_up_by_an_agent_are_fixed_once_the_party_refuses_them(case):
    """An agent named for the respondent has a seat in every time offered, and cannot choose
    until the respondent confirms them (cases/agency.py): both parties chose one time, the
    agent held it up. The respondent refuses the agent: the time is fixed at once, without
    them."""
    import time_machine

    from mediation.cases import agency
    from mediation.cases.models import CaseParty

    applicant, respondent = case.party_users()
    row = CaseParty(user=make_user(), side="respondent", is_agent=True, represents=respondent)
    case.parties.append(row)
    db.session.flush()
    offered = offers.offer(
        case, by=case.mediator, starts=[at(24, "09:00"), at(25, "10:00")], now=NOW
    )
    assert {p.user_id for p in offered[0].participants} >= {row.user_id}
    assert offers.choose(applicant, offered[0], {offered[1].id}, now=NOW) is None
    assert offers.choose(respondent, offered[0], {offered[1].id}, now=NOW) is None
    with time_machine.travel(NOW, tick=False):
        agency.refuse(row, by=respondent)
    assert [s.status for s in offered] == [SessionStatus.cancelled, SessionStatus.scheduled]
    assert row.user_id not in {p.user_id for s in offered for p in s.participants}
    assert kinds(case)[-1] == "session.fixed"
