"""The notification table walked for the sessions (``mediation/notify/table/sessions.py``):
booking, moving and cancelling, the reminders, the room and the minutes' review. How a walk
goes: tests/notify/table/walk.py."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mediation.booking import availability, cleanup, offers
from mediation.booking import operations as booking
from mediation.booking import reminders as session_reminders
from mediation.cases import workflow
from mediation.cases.states import Action, TerminationReason
from mediation.extensions import db
from mediation.minutes import operations as minutes_ops
from mediation.minutes import review
from tests.agreements.conftest import last_code_to
from tests.booking.conftest import ahead
from tests.factories import add_weekly_hours, make_user
from tests.minutes.conftest import TEXT, ended_session
from tests.notify.table.walk import Scenarios, Who, everyone, mailable, mediating, parties_of
from tests.signaling.conftest import open_session

scenario = Scenarios()


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


@pytest.mark.parametrize("event", scenario.events())
def test_each_step_tells_exactly_whom_the_table_lists(app_ctx, event):
    scenario.walk(event)
