"""An agreement in force whose obligations are tracked, made without the signing ceremony
(tests/agreements walks that); ``days`` puts the obligation's date from today."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from mediation.agreements import operations as agreements
from mediation.agreements.models import AgreementStatus
from mediation.core.db import utcnow
from mediation.extensions import db
from mediation.followup import operations as followup
from tests.agreements.conftest import agreeing_case, complete_draft


def tracked(days: int = 30):
    """(case, obligation): the respondent owes the applicant 3500 yuan in ``days`` days."""
    case, _admin = agreeing_case()
    agreement = agreements.start(case, by=case.mediator)
    agreements.save(agreement, complete_draft(case, days=days), by=case.mediator)
    agreement.status, agreement.effective_at = AgreementStatus.effective, utcnow()
    db.session.flush()
    [obligation] = followup.track(agreement)
    return case, obligation


CHINA = ZoneInfo("Asia/Shanghai")


def china(day: date, hour: int = 12, minute: int = 0) -> datetime:
    """An instant on ``day`` in China, by default at noon: the worker sends nothing at night
    (operations.FIRST_HOUR), so a test does not depend on the hour it runs at."""
    return datetime.combine(day, time(hour, minute), tzinfo=CHINA)


def this_noon() -> datetime:
    """Noon in China on today's UTC date (the date ``tracked`` counts ``days`` from)."""
    return china(utcnow().date())


def after_the_date(obligation, days: int = 1):
    """Noon in China ``days`` days after the obligation's date."""
    return china(obligation.due_on + timedelta(days=days))
