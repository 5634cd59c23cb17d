"""The expert's side: taking a question (one expert at a time), the written answer (once,
though the form arrives twice), an answer given face to face at a reception talk.
Everything here flushes; the request edge commits.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import case as when
from sqlalchemy import literal, or_, update

from mediation.accounts.models import User
from mediation.cases import categories
from mediation.core.db import utcnow
from mediation.core.forms import FieldError
from mediation.core.locks import lock_rows
from mediation.extensions import db
from mediation.journal import operations as journal

from . import notices
from .asking import MAX_SUBJECT, MAX_TEXT
from .models import Handover, Question, QuestionStatus
from .routing import NotAllowedError, freed_from, may_answer, province_of

MAX_ANSWER = 10000


def take(question: Question, expert: User, *, now: datetime | None = None) -> None:
    """The expert answers this one: the others of the pool see it is being answered."""
    if not may_answer(expert, question):
        freed = freed_from(expert, question)
        raise NotAllowedError if freed is None else FreedError(freed)
    if question.status == QuestionStatus.answered:
        raise FieldError("answer", _("This question has been answered."))
    if question.status == QuestionStatus.taken and question.expert_id != expert.id:
        raise FieldError("answer", _("Another expert is answering this question."))
    # Claimed only if still open or already this expert's: two experts taking it at once
    # (each read it open) get one winner, on SQLite too (no row locks there).
    claimed = db.session.execute(
        update(Question)
        .where(
            Question.id == question.id,
            or_(
                Question.status == QuestionStatus.open,
                (Question.status == QuestionStatus.taken) & (Question.expert_id == expert.id),
            ),
        )
        .values(
            status=QuestionStatus.taken,
            expert_id=expert.id,
            # Taken again by its expert (a second tap): still taken since the first time,
            # which is what a colleague's takeover is counted from (relievable_at).
            taken_at=when(
                (Question.status == QuestionStatus.taken, Question.taken_at),
                else_=literal(now or utcnow(), Question.taken_at.type),
            ),
        )
    ).rowcount
    # What the row now says (the time taken is worked out by the database).
    db.session.refresh(question, ["status", "expert_id", "taken_at"])
    if claimed != 1:
        raise FieldError("answer", _("Another expert is answering this question."))


class FreedError(NotAllowedError):
    """The question was freed from this expert (given back, taken over, put back in the
    pool: handover.py), who may no longer take or answer it; the page says so."""

    def __init__(self, handover: Handover) -> None:
        super().__init__(handover.id)
        self.handover = handover


class AnsweredAlreadyError(Exception):
    """This expert's very answer is there already: the form arrived twice (a double tap, a
    phone resending the POST, a second tab). The asker is told once."""


def answer(question: Question, expert: User, text: str, *, now: datetime | None = None) -> None:
    """The written answer; the asker is told by text message."""
    text = text.strip()
    if not text:
        raise FieldError("answer", _("Please write the answer."))
    if len(text) > MAX_ANSWER:
        raise FieldError(
            "answer", _("The answer is too long: at most %(n)d characters.", n=MAX_ANSWER)
        )
    # The question's row lock (on SQLite, the write lock) first: the same answer sent
    # twice at once takes turns, and the second one reads the first one's answer.
    db.session.flush()
    lock_rows(Question.id, question.id)
    db.session.refresh(question)
    if (question.status, question.expert_id, question.answer) == (
        QuestionStatus.answered,
        expert.id,
        text,
    ):
        raise AnsweredAlreadyError
    if question.status != QuestionStatus.taken or question.expert_id != expert.id:
        take(question, expert, now=now)
    question.answer, question.answered_at = text, now or utcnow()
    question.status = QuestionStatus.answered
    db.session.flush()
    if question.case_id is not None:
        # The asker turned the question into a case while it waited. The answer is kept all
        # the same: it is what they asked for, and an expert's view of their rights is of
        # use to the case they are preparing from it (or chose to withdraw). It stays with
        # the question, which leads to the case, and the case's timeline records it, as
        # it records an answer given before (``to_case``).
        journal.append(
            question.case_id,
            "consultation.answered",
            {"question_id": question.id, "at": question.answered_at.isoformat()},
            actor_id=expert.id,
        )
    notices.answered(question)


def answered_in_person(
    asker: User,
    expert: User,
    *,
    category: str,
    region_code: str,
    subject: str,
    text: str,
    answer_text: str,
    now: datetime | None = None,
) -> Question:
    """A question asked and answered face to face (a reception talk, reception/): kept as
    an answered consultation of the asker, who is told, as a written answer is."""
    found = categories.get_category(category)
    if found is None or not found.active:
        raise FieldError("category", _("Choose one of the dispute categories."))
    answer_text = answer_text.strip()
    if not answer_text:
        raise FieldError("answer", _("Please write the answer."))
    now = now or utcnow()
    question = Question(
        asker_id=asker.id,
        category=category,
        region_code=province_of(region_code),
        subject=subject.strip()[:MAX_SUBJECT],
        text=text.strip()[:MAX_TEXT] or subject,
        status=QuestionStatus.answered,
        due_at=now,
        expert_id=expert.id,
        taken_at=now,
        answer=answer_text[:MAX_ANSWER],
        answered_at=now,
        created_at=now,
    )
    db.session.add(question)
    db.session.flush()
    notices.answered(question)
    return question
