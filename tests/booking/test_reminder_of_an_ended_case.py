"""A session's reminder is listed (``reminders.due``) and then sent in a unit of its own
(``send_one``): the case may end in between (a party withdraws, the period runs out), and
its sessions are cancelled only by the worker's next cleanup (``cleanup.end``), which may
also fail for that one session and be retried later (worker._one_by_one). No one is
reminded of a session of a case that has ended. SQLite and PostgreSQL (``app_ctx``)."""

from __future__ import annotations

from sqlalchemy import func, select

from mediation.booking import operations as booking
from mediation.booking import reminders
from mediation.cases.states import CaseStatus
from mediation.extensions import db
from mediation.notify.models import OutboxMessage
from tests.booking.conftest import NOW, at


def _texts() -> int:
    return db.session.scalar(select(func.count(OutboxMessage.id)))


def test_no_reminder_of_a_session_whose_case_ended_meanwhile(case):
    session = booking.book(case, by=case.mediator, start=at(24, "09:00"), now=NOW)
    now = at(23, "09:30")
    listed = reminders.due(now)
    assert listed == [(0, session.id)]
    case.status = CaseStatus.terminated  # ended between the list and the step
    db.session.flush()
    before = _texts()
    assert reminders.send_one(listed[0], now) == 0
    assert _texts() == before
    # Nor listed again while its cleanup waits (or fails and is retried later).
    assert reminders.due(now) == []
