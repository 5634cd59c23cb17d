"""A question turned into a draft case of the asker, with one action."""

from __future__ import annotations

from mediation.accounts.models import User
from mediation.cases.intake import add_evidence
from mediation.cases.models import Case
from mediation.cases.operations import open_case
from mediation.core.db import utcnow
from mediation.core.locks import lock_rows
from mediation.core.storage import content_key, storage
from mediation.extensions import db
from mediation.journal import operations as journal

from .models import Question
from .routing import NotAllowedError


def to_case(question: Question, by: User) -> Case:
    """A draft case of the asker, carrying the question's text and files; the question's
    steps go into the case's journal. Once only: asked again, the same case."""
    if by.id != question.asker_id:
        raise NotAllowedError
    # The question's row lock first (on SQLite, the write lock): the same form sent twice
    # makes one case, and an answer sent at that moment is either seen here (and recorded
    # below) or sees the case (and records itself there, ``answer``).
    db.session.flush()
    lock_rows(Question.id, question.id)
    db.session.refresh(question)
    if question.case_id is not None:
        return db.session.get(Case, question.case_id)
    case = open_case(
        title=question.subject,
        category=question.category,
        applicants=[by],
        respondents=[],
        facts=question.text,
        by=by,
    )
    case.region_code = question.region_code
    db.session.flush()
    steps = [("consultation.asked", question.created_at, by.id, {"question_id": question.id})]
    if question.answered_at is not None:
        steps.append(("consultation.answered", question.answered_at, question.expert_id, {}))
    if question.escalated_at is not None:
        steps.append(("consultation.escalated", question.escalated_at, None, {}))
    # Each time it went on to another expert (handover.py), not why: that is the staff's.
    for handover in question.handovers:
        steps.append(("consultation.handed_over", handover.created_at, handover.by_id, {}))
    for action, at, actor, payload in sorted(steps, key=lambda s: s[1]):
        journal.append(case.id, action, {**payload, "at": at.isoformat()}, actor_id=actor)
    for item in question.attachments:
        add_evidence(
            case,
            by=by,
            filename=item.filename,
            data=storage().get(content_key(item.sha256), item.sha256),
            shared=False,
        )
    question.case_id, question.converted_at = case.id, utcnow()
    journal.append(case.id, "consultation.converted", {"question_id": question.id}, actor_id=by.id)
    return case
