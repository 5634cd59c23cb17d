"""The notification table walked (issue #16, item 3): every step in
``mediation/notify/table.py`` is taken through the real operations, and the outbox must hold
exactly the messages the table lists, to exactly the people it lists: nobody missing,
nobody extra, nobody twice.

Each scenario sets up the world (everyone with a phone and an e-mail address, so that
"SMS" and "SMS + e-mail" are told apart), and returns the step to take and who is who. Only
what the step itself sends is compared: the outbox is read from before the step."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mediation.accounts import codes, registration
from mediation.accounts import operations as accounts
from mediation.accounts.models import CodePurpose, Role
from mediation.agreements import operations as agreements
from mediation.agreements import signing
from mediation.booking import availability, cleanup, offers
from mediation.booking import operations as booking
from mediation.booking import reminders as session_reminders
from mediation.cases import (
    assignment,
    conflicts,
    extension,
    intake,
    rechoice,
    respondent,
    workflow,
)
from mediation.cases import reminders as case_reminders
from mediation.cases.models import CaseParty, Side
from mediation.cases.states import Action, TerminationReason
from mediation.core.db import utcnow
from mediation.court import application as applying
from mediation.court import delegation, examination, ruling
from mediation.extensions import db
from mediation.minutes import operations as minutes_ops
from mediation.minutes import review
from mediation.notify import table
from mediation.notify.models import OutboxMessage
from tests.agreements.conftest import agreeing_case, complete_draft, drawing, last_code_to
from tests.booking.conftest import ahead
from tests.court.conftest import apply_jointly, in_force
from tests.court.test_delegation import _accept_and_mediate, dispute
from tests.factories import (
    add_weekly_hours,
    make_case,
    make_court,
    make_institution,
    make_mediating_case,
    make_mediator,
    make_user,
)
from tests.minutes.conftest import TEXT, ended_session
from tests.signaling.conftest import open_session

_mail = itertools.count(1)
Who = dict[str, list]
Scenario = Callable[[], tuple[Callable[[], object], Who]]
SCENARIOS: dict[str, tuple[Scenario, tuple[str, ...]]] = {}


def scenario(event: str, *also: str):
    """Register the scenario of ``event``; ``also``: other steps the same act takes (their
    rows are expected too)."""

    def register(fn: Scenario) -> Scenario:
        assert event in table.events(), f"not in the table: {event}"
        SCENARIOS[event] = (fn, also)
        return fn

    return register


def mailable(*users):
    """Everyone gets an e-mail address, so that an e-mail nobody listed is caught."""
    for user in users:
        if user is not None and not user.email:
            user.email = f"person{next(_mail)}@example.org"
    db.session.flush()
    return users


def everyone(case) -> list:
    return [case.mediator, *(p.user for p in case.parties)]


def mediating():
    case = make_mediating_case()
    mailable(*everyone(case))
    return case


def parties_of(case) -> list:
    return [p.user for p in case.parties]


# -- accounts -------------------------------------------------------------------------------


@scenario("one-time code asked for")
def _code():
    user = make_user()
    mailable(user)
    return lambda: accounts.issue_code(user, CodePurpose.minutes_confirmation), {
        "the person": [user]
    }


@scenario("registration on a number that has an account")
def _registration():
    owner = make_user()
    mailable(owner)
    return lambda: registration.start_registration(owner.phone, browser="test"), {"owner": [owner]}


# -- consultation ---------------------------------------------------------------------------


def _expert(region: str = "320000"):
    from mediation.consultation import operations as consultation

    user = make_user(Role.expert)
    consultation.make_expert(
        user, kind="lawyer", region_code=region, categories_=[], languages=[], hours=""
    )
    return mailable(user)[0]


def _question(asker=None):
    from mediation.consultation import operations as consultation

    asker = asker or mailable(make_user())[0]
    return consultation.ask(
        asker, category="neighbourhood", region_code="320000", subject="漏水", text="楼上漏水"
    )


@scenario("question asked")
def _asked():

    experts = [_expert(), _expert()]
    _expert("330000")  # another province's pool is not told
    asker = mailable(make_user())[0]
    return lambda: _question(asker), {"experts": experts}


@scenario("question answered")
def _answered():
    from mediation.consultation import operations as consultation

    expert, question = _expert(), _question()
    return lambda: consultation.answer(question, expert, "可以申请调解。"), {
        "asker": [question.asker]
    }


@scenario("question not answered in time")
def _late():
    from mediation.consultation import operations as consultation

    expert, question = _expert(), _question()
    institution = make_institution(region_code="320102")
    admins = mailable(
        make_user(Role.institution_admin, institution_id=institution.id),
        make_user(Role.platform_admin),
    )
    make_user(Role.institution_admin, institution_id=make_institution(region_code="330102").id)
    later = question.due_at + timedelta(seconds=1)
    return lambda: consultation.escalate_late(now=later), {
        "region admins": list(admins),
        "experts": [expert],
    }


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


@scenario("question turned into a case")
def _turned():
    from mediation.consultation import operations as consultation

    question = _question()
    return lambda: consultation.to_case(question, question.asker), {}


# -- reception -------------------------------------------------------------------------------


def _talk():
    from datetime import UTC, datetime, time

    from mediation.booking.availability import add_rule
    from mediation.reception import operations as reception

    now = datetime(2025, 12, 1, 1, 0, tzinfo=UTC)  # a Monday; Thursday is reception day
    host = make_mediator(make_institution(region_code="420102"))
    add_rule(host.id, 3, time(9), time(11), reception=True, place="社区服务中心")
    booker = mailable(make_user())[0]
    start = reception.free_slots(host.id, now.date(), now=now)[0].start
    return host, booker, start, now


@scenario("reception talk booked")
def _talk_booked():
    from mediation.reception import operations as reception

    host, booker, start, now = _talk()
    return lambda: reception.book(booker, host, start, "欠薪", now=now), {"booker": [booker]}


def _held():
    from mediation.reception import operations as reception

    host, booker, start, now = _talk()
    booking = reception.book(booker, host, start, "欠薪", now=now)
    reception.record(booking, host, "欠薪三个月。", now=start)
    return host, booker, booking


@scenario("reception talk cancelled")
def _talk_cancelled():
    from mediation.reception import operations as reception

    host, booker, start, now = _talk()
    booking = reception.book(booker, host, start, "欠薪", now=now)
    return lambda: reception.cancel(booking, booker, now=now), {}


@scenario("reception talk turned into a case")
def _talk_to_case():
    from mediation.reception import operations as reception

    host, booker, booking = _held()
    return lambda: reception.to_case(booking, host, "labour"), {"booker": [booker]}


@scenario("reception talk kept as a consultation answer")
def _talk_to_answer():
    from mediation.reception import operations as reception

    host, booker, booking = _held()
    return lambda: reception.to_answer(booking, host, "labour"), {"booker": [booker]}


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


# -- booking --------------------------------------------------------------------------------


def _bookable():
    case = mediating()
    add_weekly_hours(case.mediator)
    return case


def _participants(session) -> Who:
    users = [p.user for p in session.participants]
    return {
        "participants": users,
        "invitees": [p.user for p in session.participants if p.role != "mediator"],
    }


def _booked(start=None):
    case = _bookable()
    session = booking.book(case, by=case.mediator, start=start or ahead(1, "10:00"))
    return case, session


@scenario("session booked")
def _book():
    case = _bookable()
    people = {"participants": everyone(case)}
    return lambda: booking.book(case, by=case.mediator, start=ahead(1, "10:00")), people


@scenario("session started now")
def _started_now():
    case = _bookable()
    act = lambda: booking.start_now(case, by=case.mediator, parties_agreed=True)  # noqa: E731
    return act, {"invitees": parties_of(case)}


@scenario("session booked less than an hour ahead")
def _booked_soon():
    """Booked 30 minutes ahead, and the reminder worker running until the start: the
    booking's message only, once to each person."""
    case = _bookable()
    availability.settings_for(case.mediator_id).min_notice_hours = 0
    start = ahead(1, "10:00")

    def act():
        booking.book(case, by=case.mediator, start=start, now=start - timedelta(minutes=30))
        for minutes in range(30, 0, -5):
            session_reminders.send_due(now=start - timedelta(minutes=minutes))

    return act, {"participants": everyone(case)}


@scenario("times offered")
def _offer():
    case = _bookable()
    starts = [ahead(1, "10:00"), ahead(2, "10:00")]
    act = lambda: offers.offer(case, by=case.mediator, starts=starts)  # noqa: E731
    return act, {"invitees": parties_of(case)}


@scenario("times chosen by every party")
def _chosen():
    case = _bookable()
    first, _second = offers.offer(
        case, by=case.mediator, starts=[ahead(1, "10:00"), ahead(2, "10:00")]
    )
    applicant, other = case.party_users()
    offers.choose(applicant, first, [first.id])
    return lambda: offers.choose(other, first, [first.id]), {"participants": everyone(case)}


@scenario("session moved")
def _moved():
    _case, session = _booked()
    act = lambda: booking.reschedule(  # noqa: E731
        session, by=session.case.mediator, start=ahead(2, "14:00"), reason="调解员出差"
    )
    return act, _participants(session)


@scenario("session cancelled")
def _cancelled():
    _case, session = _booked()
    act = lambda: booking.cancel(session, by=session.case.mediator, reason="当事人住院")  # noqa: E731
    return act, _participants(session)


@scenario("offered times withdrawn")
def _withdrawn():
    case = _bookable()
    first, _second = offers.offer(
        case, by=case.mediator, starts=[ahead(1, "10:00"), ahead(2, "10:00")]
    )
    act = lambda: booking.cancel(first, by=case.mediator, reason="另行安排")  # noqa: E731
    return act, _participants(first)


@scenario("guest invited")
def _guest():
    _case, session = _booked()
    guest = make_user(real_name="王邻居")
    mailable(guest)
    act = lambda: booking.invite_guest(  # noqa: E731
        session,
        by=session.case.mediator,
        real_name="王邻居",
        phone=guest.phone,
        relation="neighbour",
        side="applicant",
    )
    return act, {"guest": [guest]}


@scenario("links sent again")
def _links_again():
    _case, session = _booked()
    return lambda: booking.resend_links(session, by=session.case.mediator), _participants(session)


@scenario("session a day away")
def _day_reminder():
    _case, session = _booked()
    when = session.start_at - timedelta(hours=20)
    return lambda: session_reminders.send_due(now=when), _participants(session)


@scenario("session an hour away")
def _hour_reminder():
    _case, session = _booked()
    session.reminded_day_at = session.start_at - timedelta(hours=20)
    db.session.flush()
    when = session.start_at - timedelta(minutes=50)
    return lambda: session_reminders.send_due(now=when), _participants(session)


@scenario("offered times all passed unchosen")
def _offer_lapsed():
    case = _bookable()
    first, last = offers.offer(
        case, by=case.mediator, starts=[ahead(1, "10:00"), ahead(1, "14:00")]
    )
    when = last.start_at + timedelta(minutes=1)
    return lambda: cleanup.end_stale(now=when), _participants(first)


@scenario("case ended with a session ahead")
def _case_ended_with_session():
    case, session = _booked()
    workflow.transition(
        case, Action.terminate, by=case.mediator, reason=TerminationReason.party_unwilling
    )
    return lambda: cleanup.end_stale(), _participants(session)


# -- the room and the minutes ---------------------------------------------------------------


@scenario("someone enters, is admitted, raises a hand, a caucus starts")
def _room():
    from mediation.rooms import arrival

    case = mediating()
    session = open_session(case)
    seat = next(p for p in session.participants if p.role == "party")
    return lambda: arrival.arrive(seat, "sid-table"), {}


@scenario("session ended")
def _session_ended():
    case = mediating()
    session = ended_session(case, written=False)
    minutes_ops.save(session, TEXT, by=case.mediator)
    return lambda: minutes_ops.session_ended(session), {"reviewers": case.party_users()}


@scenario("minutes sent for review")
def _sent_for_review():
    case = mediating()
    session = ended_session(case, written=False)
    written = minutes_ops.save(session, TEXT, by=case.mediator)
    act = lambda: review.open_review(session, written, by=case.mediator)  # noqa: E731
    return act, {"reviewers": case.party_users()}


def _under_review():
    case = mediating()
    session = ended_session(case)
    return case, session, minutes_ops.of_session(session.id)


@scenario("party confirms the minutes")
def _confirmed():
    case, session, written = _under_review()
    party = case.party_users()[0]
    review.send_code(written, party)
    code = last_code_to(party)
    return lambda: review.confirm(session, written, party, {}, code), {}


@scenario("party disputes passages of the minutes")
def _disputed():
    case, session, written = _under_review()
    party = case.party_users()[1]
    review.send_code(written, party)
    code = last_code_to(party)
    act = lambda: review.confirm(session, written, party, {"2.2": "从未约定"}, code)  # noqa: E731
    return act, {"mediator": [case.mediator]}


@scenario("mediator makes the minutes final")
def _made_final():
    case, session, written = _under_review()
    party = case.party_users()[1]
    review.send_code(written, party)
    review.confirm(session, written, party, {"2.2": "从未约定"}, last_code_to(party))
    return lambda: review.close_review(session, written, by=case.mediator), {}


# -- the agreement --------------------------------------------------------------------------


def _drafted():
    case, admin = agreeing_case()
    mailable(*everyone(case), admin)
    agreement = agreements.start(case, by=case.mediator)
    agreements.save(agreement, complete_draft(case), by=case.mediator)
    return case, admin, agreement


def _sign(agreement, user):
    signing.send_code(agreement, user)
    code = last_code_to(user)
    return lambda: signing.sign(
        agreement, user, code=code, shown_sha256=agreement.document_sha256, drawing=drawing()
    )


@scenario("draft saved or commented")
def _draft_saved():
    case, _admin, agreement = _drafted()
    act = lambda: agreements.comment(agreement, "第二条金额有误", by=case.party_users()[0])  # noqa: E731
    return act, {}


@scenario("signing opened")
def _signing_opened():
    case, _admin, agreement = _drafted()
    act = lambda: signing.open_round(agreement, by=case.mediator)  # noqa: E731
    return act, {"next signer": [case.party_users()[0]]}


@scenario("a signer signs and another is next")
def _signed_one():
    case, _admin, agreement = _drafted()
    signing.open_round(agreement, by=case.mediator)
    first, second = case.party_users()
    return _sign(agreement, first), {"next signer": [second]}


@scenario("the institution's seal is next")
def _seal_next():
    case, admin, agreement = _drafted()
    signing.open_round(agreement, by=case.mediator)
    for user in case.party_users():
        _sign(agreement, user)()
    return _sign(agreement, case.mediator), {"seal holder": [admin]}


@scenario("agreement in force")
def _in_force():
    case, admin, agreement = _drafted()
    signing.open_round(agreement, by=case.mediator)
    for user in (*case.party_users(), case.mediator):
        _sign(agreement, user)()
    return _sign(agreement, admin), {"parties": parties_of(case), "mediator": [case.mediator]}


@scenario("party refuses to sign")
def _refused():
    case, _admin, agreement = _drafted()
    signing.open_round(agreement, by=case.mediator)
    act = lambda: signing.refuse(agreement, case.party_users()[0], "不同意金额")  # noqa: E731
    return act, {"parties": parties_of(case), "mediator": [case.mediator]}


def _given_to_another(case, admin):
    """The institution gives the case to another of its mediators (art 14)."""
    other = make_mediator(case.institution)
    mailable(other)
    act = lambda: assignment.reassign_by_institution(case, mediator=other, by=admin)  # noqa: E731
    return act, other


@scenario(
    "mediator changed while the agreement is out for signing",
    "institution gives the case to another mediator",
)
def _round_void_for_a_new_mediator():
    case, admin, agreement = _drafted()
    signing.open_round(agreement, by=case.mediator)
    first, second = case.party_users()
    _sign(agreement, first)()  # one who signed, one who was to sign, and the mediator
    act, other = _given_to_another(case, admin)
    return act, {"round signers": [first, second, case.mediator], "new mediator": [other]}


@scenario(
    "mediator changed while the agreement waits for the seal",
    "mediator changed while the agreement is out for signing",
    "institution gives the case to another mediator",
)
def _seal_asked_for_a_void_round():
    case, admin, agreement = _drafted()
    signing.open_round(agreement, by=case.mediator)
    for user in (*case.party_users(), case.mediator):
        _sign(agreement, user)()
    act, other = _given_to_another(case, admin)
    return act, {
        "seal holder": [admin],
        "round signers": [*case.party_users(), case.mediator],
        "new mediator": [other],
    }


# -- the court ------------------------------------------------------------------------------


def _court_world():
    world = in_force()
    mailable(*everyone(world.case), world.clerk, world.judge, world.other_judge)
    return world


def _court_people(world) -> Who:
    return {"parties": parties_of(world.case), "court staff": [world.clerk, world.judge]}


@scenario("joint application: another party is to sign")
def _application_next_signer():
    """The applicant starts and signs; the respondent, who may have no password, is told
    with his own link (walk (b) of issue #16 had him come back by his old invitation)."""
    world = _court_world()
    applicant, other = world.case.party_users()
    application = applying.start(world.case, world.court, by=applicant)
    applying.send_code(application, applicant)

    def act():
        applying.sign(
            application,
            applicant,
            code=last_code_to(applicant),
            shown_sha256=application.document_sha256,
            drawing=drawing(),
        )

    return act, {"next signer": [other]}


@scenario("joint application signed by every party")
def _applied():
    world = _court_world()
    applicant, other = world.case.party_users()
    application = applying.start(world.case, world.court, by=applicant)

    def sign(party):
        return lambda: applying.sign(
            application,
            party,
            code=last_code_to(party),
            shown_sha256=application.document_sha256,
            drawing=drawing(),
        )

    applying.send_code(application, applicant)
    sign(applicant)()
    applying.send_code(application, other)
    return sign(other), _court_people(world)


def _submitted():
    world = _court_world()
    return world, apply_jointly(world)


@scenario("court accepts the application")
def _court_accepts():
    world, application = _submitted()
    return lambda: examination.accept(application, by=world.clerk), _court_people(world)


@scenario("court refuses the application")
def _court_refuses():
    world, application = _submitted()
    act = lambda: examination.refuse(application, "no_jurisdiction", "", by=world.clerk)  # noqa: E731
    return act, _court_people(world)


@scenario("court asks for more materials")
def _court_materials():
    world, application = _submitted()
    examination.accept(application, by=world.clerk)
    act = lambda: examination.request_materials(application, "请补充收入证明", 5, by=world.clerk)  # noqa: E731
    return act, _court_people(world)


@scenario("court confirms the agreement")
def _court_confirms():
    world, application = _submitted()
    examination.accept(application, by=world.clerk)
    act = lambda: ruling.rule(application, True, None, "", by=world.judge)  # noqa: E731
    return act, _court_people(world)


@scenario("court rejects the agreement")
def _court_rejects():
    world, application = _submitted()
    examination.accept(application, by=world.clerk)
    act = lambda: ruling.rule(application, False, "unclear", "内容不明确", by=world.judge)  # noqa: E731
    return act, _court_people(world)


@scenario("parties withdraw the application")
def _withdrawn_application():
    world, application = _submitted()
    act = lambda: applying.withdraw(application, by=world.case.party_users()[0])  # noqa: E731
    return act, _court_people(world)


@scenario("court delegates a dispute", "case filed with the institution chosen")
def _delegated():
    court, institution = make_court(), make_institution()
    admin = make_user(Role.institution_admin, institution_id=institution.id)
    mailable(admin)
    data = delegation.DelegationInput(
        reference="（2026）苏0102民诉前调9号",
        category="neighbourhood",
        title="楼上漏水",
        applicants=[delegation.PartyInput("李建国", "13911116666")],
        respondents=[delegation.PartyInput("王小明", "13911117777")],
        institution_id=institution.id,
    )
    made: list = []

    def act():
        made.append(delegation.delegate(court, data))

    class Applicants(list):
        """Known once the act made their accounts."""

        def __iter__(self):
            return iter(made[0].case.party_users(Side.applicant))

    return act, {"applicants": Applicants(), "institution admins": [admin]}


@scenario("delegated dispute's deadline passes without an agreement")
def _delegation_returned():
    institution = make_institution()
    mediator = make_mediator(institution)
    made = delegation.delegate(make_court(), dispute(institution_id=institution.id))
    _accept_and_mediate(made.case, mediator)
    mailable(*everyone(made.case))
    later = made.deadline_at + timedelta(seconds=1)
    return lambda: delegation.return_expired(later), {
        "parties": parties_of(made.case),
        "mediator": [mediator],
    }


# -- the walk -------------------------------------------------------------------------------

_mark: list[int] = [0]


def new_messages() -> list[OutboxMessage]:
    db.session.flush()
    return list(
        db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.id > _mark[0]).order_by(OutboxMessage.id)
        )
    )


# -- follow-up ------------------------------------------------------------------------------


def _tracked(days: int = 30):
    from tests.followup.conftest import tracked

    case, obligation = tracked(days)
    mailable(*everyone(case))
    return case, obligation


@scenario("obligation due soon")
def _due_soon():
    from mediation.followup import operations as followup
    from tests.followup.conftest import this_noon

    _case, obligation = _tracked(days=2)
    # In the daytime: nothing is sent at night (followup.operations.FIRST_HOUR).
    return lambda: followup.remind_due(this_noon()), {"obligor": [obligation.obligor.user]}


@scenario("obligation date missed")
def _date_missed():
    from mediation.followup import operations as followup
    from tests.followup.conftest import after_the_date

    case, obligation = _tracked()
    later = after_the_date(obligation)
    return lambda: followup.mark_missed(now=later), {
        "mediator": [case.mediator],
        "obligee": [obligation.obligee.user],
    }


@scenario("performance confirmed or follow-up recorded")
def _performance_confirmed():
    from mediation.followup import operations as followup

    _case, obligation = _tracked()
    return lambda: followup.confirm(obligation, obligation.obligee.user, full=True), {}


def expected(events: list[str], who: Who) -> Counter:
    wanted: Counter = Counter()
    for event in events:
        for row in table.rows_of(event):
            if row.channel == "none":
                continue
            assert row.audience in who, f"{event!r} does not say who {row.audience} is"
            for user in who[row.audience]:
                if row.channel in ("sms", "both") and user.phone:
                    wanted["sms", user.phone] += 1
                if row.channel in ("email", "both") and user.email:
                    wanted["email", user.email] += 1
    return wanted


@pytest.mark.parametrize("event", table.events())
def test_each_step_tells_exactly_whom_the_table_lists(app_ctx, event):
    make, also = SCENARIOS[event]
    act, who = make()
    db.session.flush()
    _mark[0] = db.session.scalar(select(func.coalesce(func.max(OutboxMessage.id), 0)))
    act()
    sent = Counter((m.channel, m.recipient) for m in new_messages())
    want = expected([event, *also], who)
    assert sent == want, f"{event}: missing {dict(want - sent)}, extra {dict(sent - want)}"


def test_every_step_of_the_table_is_walked():
    assert set(SCENARIOS) == set(table.events())


def test_the_documentation_is_the_table():
    docs = Path(__file__).resolve().parents[2] / "docs" / "notifications.md"
    assert docs.read_text(encoding="utf-8") == table.as_markdown(), (
        "run: python -m mediation.notify.table > docs/notifications.md"
    )


SENDING = ("notify.tell(", "notify.queue_sms(", "notify.queue_email(", "send_note(")


def test_every_message_of_the_code_has_a_row():
    """Every module that queues a message is named in the table (a new notice somewhere
    else must be added to it)."""
    root = Path(__file__).resolve().parents[2] / "mediation"
    senders = {
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if "notify" not in path.parts
        and any(call in path.read_text(encoding="utf-8") for call in SENDING)
    }
    named = {row.where for row in table.TABLE}
    assert senders - named - {"booking/notices.py", "booking/blueprint.py"} == set()


def test_a_code_sent_to_a_number_without_an_account(app_ctx):
    """The registration code goes to a number that has no account yet: the table's "the
    person" is the number itself."""
    _mark[0] = db.session.scalar(select(func.coalesce(func.max(OutboxMessage.id), 0)))
    codes.send_to_number("+8613877770011", CodePurpose.registration, browser="test", locale=None)
    assert [(m.channel, m.recipient) for m in new_messages()] == [("sms", "+8613877770011")]
