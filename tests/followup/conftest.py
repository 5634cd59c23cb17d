"""An agreement in force whose obligations are tracked, made without the signing ceremony
(tests/agreements walks that); ``days`` puts the obligation's date from today."""

from __future__ import annotations

from datetime import timedelta

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


def after_the_date(obligation, days: int = 1):
    """An instant ``days`` days after the obligation's date (in any zone)."""
    return utcnow() + timedelta(days=(obligation.due_on - utcnow().date()).days + days + 1)
