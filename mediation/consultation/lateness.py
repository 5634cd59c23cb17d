"""A question not answered in time: the worker tells the region's administrators and the
pool, once. Everything here flushes; the worker's job commits.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from mediation.core.db import utcnow
from mediation.extensions import db

from . import notices
from .models import Question, QuestionStatus
from .routing import pool, region_admins


def escalate_late(now: datetime | None = None) -> int:
    """Unanswered questions past their stated time: the region's administrators and the
    pool are told, once; the escalation is recorded on the question. All due, in this
    transaction (the worker does each in its own: ``late`` and ``escalate_one``)."""
    now = now or utcnow()
    return sum(escalate_one(question_id, now) for question_id in late(now))


def _late(now: datetime) -> tuple:
    return (
        Question.status != QuestionStatus.answered,
        Question.due_at < now,
        Question.escalated_at.is_(None),
    )


def late(now: datetime) -> list[int]:
    """The ids of the questions to escalate, in id order."""
    return list(db.session.scalars(select(Question.id).where(*_late(now)).order_by(Question.id)))


def escalate_one(question_id: int, now: datetime) -> int:
    """One question escalated, unless another worker holds or did it (1 if this did)."""
    question = db.session.scalars(
        select(Question)
        .where(Question.id == question_id, *_late(now))
        .with_for_update(skip_locked=True)
    ).first()
    if question is None:
        return 0
    admins = region_admins(question.region_code)
    experts = [u for u in pool(question) if u not in admins]
    notices.late(question, admins, experts)
    question.escalated_at, question.escalated_to = now, len(admins) + len(experts)
    db.session.flush()
    return 1
