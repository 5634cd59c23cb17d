"""The consultation figures of the statistics page (cases.statistics asks by signal)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case as when
from sqlalchemy import func, literal, select

from mediation.accounts.models import Institution
from mediation.cases import signals as case_signals
from mediation.core.db import utcnow
from mediation.extensions import db

from .models import Question
from .routing import province_of


@dataclass(frozen=True)
class Figures:
    asked: int
    answered: int
    late: int
    converted: int


def figures(institution_id: int | None = None, *, now: datetime | None = None) -> Figures:
    """Questions of the whole platform, or of the institution's province."""
    now = now or utcnow()

    # One aggregate query: the page must not load every question of a province.
    def count(condition):
        return func.coalesce(func.sum(when((condition, 1), else_=0)), 0)

    query = select(
        func.count(Question.id),
        count(Question.answered_at.is_not(None)),
        count(
            func.coalesce(Question.answered_at, literal(now, Question.due_at.type))
            > Question.due_at
        ),
        count(Question.case_id.is_not(None)),
    )
    if institution_id is not None:
        institution = db.session.get(Institution, institution_id)
        query = query.where(Question.region_code == province_of(institution.region_code))
    asked, answered, late, converted = db.session.execute(query).one()
    return Figures(asked=asked, answered=answered, late=late, converted=converted)


@case_signals.figures_asked.connect
def _counts(institution_id: int | None) -> dict[str, int]:
    """The statistics page's consultation figures (cases.statistics asks by signal)."""
    found = figures(institution_id)
    return {
        "consultations": found.asked,
        "consultations_answered": found.answered,
        "consultations_late": found.late,
        "consultations_converted": found.converted,
    }
