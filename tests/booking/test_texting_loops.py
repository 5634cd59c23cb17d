"""Routes other than "send the links again" that text every participant their join link,
posted in a loop (the links' renewal is capped at LINK_RENEWALS_PER_HOUR: test_links_again):
moving a session texts everyone its new time and link, so a form that moves it to and fro
(each move another, never a repeat) texted the parties without end; inviting guests texts
each number given, and a session took any number of them (any phone numbers: strangers
texted from the platform). Both are capped, said in Chinese, and honest use still works.
SQLite and PostgreSQL (``app_ctx``)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from mediation.booking import offers
from mediation.booking import operations as booking
from mediation.booking.arranging import ARRANGED_PER_HOUR
from mediation.booking.changes import MOVES_PER_HOUR
from mediation.booking.participants import GUESTS_PER_SESSION
from mediation.cases.models import Side
from mediation.cases.workflow import NotPermittedError
from mediation.core.forms import FieldError
from mediation.extensions import db
from mediation.notify.models import OutboxMessage
from tests.booking.conftest import NOW, at
from tests.factories import make_user


def _texts() -> int:
    return db.session.scalar(select(func.count(OutboxMessage.id)))


def test_a_session_moved_to_and_fro_stops_texting_after_a_few_moves_an_hour(case):
    with time_machine.travel(NOW, tick=False):
        session = booking.book(case, by=case.mediator, start=at(24, "09:00"), now=NOW)
        there, back = at(25, "09:00"), at(24, "09:00")
        for n in range(MOVES_PER_HOUR):
            booking.reschedule(
                session, by=case.mediator, start=there if n % 2 == 0 else back, reason="改期"
            )
        before, start = _texts(), session.start_at
        with pytest.raises(NotPermittedError, match="改期"):
            booking.reschedule(session, by=case.mediator, start=at(26, "09:00"), reason="再改期")
        assert _texts() == before and session.start_at == start
    # An hour later the mediator moves it again, as anyone would.
    with time_machine.travel(NOW + timedelta(hours=1, minutes=1), tick=False):
        booking.reschedule(session, by=case.mediator, start=at(26, "09:00"), reason="再改期")
        assert session.start_at == at(26, "09:00") and _texts() > before


def _invite(case, session, name: str):
    """The mediator invites a relative of the applicant's, with an account of their own."""
    guest = make_user(real_name=name)
    return booking.invite_guest(
        session,
        by=case.mediator,
        real_name=guest.real_name,
        phone=guest.phone,
        relation="relative",
        side=Side.applicant,
    )


def test_a_session_takes_a_few_guests_not_any_number(case):
    session = booking.book(case, by=case.mediator, start=at(24, "09:00"), now=NOW)
    for n in range(GUESTS_PER_SESSION):
        _invite(case, session, f"亲属{n}")
    before = _texts()
    with pytest.raises(FieldError, match="最多"):
        _invite(case, session, "再一位")
    assert _texts() == before
    assert len([p for p in session.participants if p.role == "guest"]) == GUESTS_PER_SESSION


def test_a_session_booked_and_cancelled_in_a_loop_stops_texting(case):
    """Each booking texts everyone, and a time cancelled and booked again is a new request:
    after ARRANGED_PER_HOUR sessions of a case in an hour (an offer's times counting once),
    booking, offering and starting at once are refused, cancelling never."""
    with time_machine.travel(NOW, tick=False):
        for _ in range(ARRANGED_PER_HOUR):
            session = booking.book(case, by=case.mediator, start=at(24, "09:00"), now=NOW)
            booking.cancel(session, by=case.mediator, reason="误约", now=NOW)
        before = _texts()
        with pytest.raises(NotPermittedError, match="一小时"):
            booking.book(case, by=case.mediator, start=at(24, "09:00"), now=NOW)
        with pytest.raises(NotPermittedError, match="一小时"):
            offers.offer(case, by=case.mediator, starts=[at(24, "09:00"), at(25, "09:00")], now=NOW)
        assert _texts() == before
    with time_machine.travel(NOW + timedelta(hours=1, minutes=1), tick=False):
        booking.book(case, by=case.mediator, start=at(24, "09:00"), now=NOW)
        assert _texts() > before
