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
    pool are told, once; the escalation is recorded on the question."""
    now = now or utcnow()
    late = db.session.scalars(
        select(Question)
        .where(
            Question.status != QuestionStatus.answered,
            Question.due_at < now,
            Question.escalated_at.is_(None),
        )
        .order_by(Question.id)
        .with_for_update(skip_locked=True)
    ).all()
    for question in late:
        admins = region_admins(question.region_code)
        experts = [u for u in pool(question) if u not in admins]
        notices.late(question, admins, experts)
        question.escalated_at, question.escalated_to = now, len(admins) + len(experts)
    db.session.flush()
    return len(late)
