"""The worker lists the obligations due (``reminders_due``, ``missed_due``) and then acts on
each in a unit of its own (``remind_one``, ``mark_one_missed``), one after the other: the
court may refuse to confirm the agreement in between (CPL art 205; People's Mediation Law
art 33 para 2: the parties may then change it or sue). Its obligations are no longer urged:
the step reads the case again and does nothing. SQLite and PostgreSQL (``app_ctx``)."""

from __future__ import annotations

from sqlalchemy import func, select

from mediation.cases.states import CaseStatus
from mediation.extensions import db
from mediation.followup import operations as ops
from mediation.notify.models import OutboxMessage

from .conftest import after_the_date, this_noon, tracked


def _texts() -> int:
    return db.session.scalar(select(func.count(OutboxMessage.id)))


def test_an_obligor_is_not_reminded_once_the_court_refused_meanwhile(app_ctx):
    case, obligation = tracked(days=2)
    listed = ops.reminders_due(this_noon())
    assert listed == [obligation.id]
    case.status = CaseStatus.rejected  # the court refused between the list and the step
    db.session.flush()
    before = _texts()
    assert ops.remind_one(obligation.id) == 0
    assert obligation.reminded_at is None and _texts() == before


def test_a_date_passed_is_not_noticed_once_the_court_refused_meanwhile(app_ctx):
    case, obligation = tracked(days=1)
    later = after_the_date(obligation)
    assert ops.missed_due(later) == [obligation.id]
    case.status = CaseStatus.rejected
    db.session.flush()
    before = _texts()
    assert ops.mark_one_missed(obligation.id, later) == 0
    db.session.refresh(obligation)
    assert obligation.status == "pending" and obligation.missed_noticed_at is None
    assert _texts() == before
