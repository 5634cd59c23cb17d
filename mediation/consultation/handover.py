"""A question freed from the expert who took it, without their answer.

Taking a question keeps the other experts of the pool from it (answering.take), so a
question taken and never answered would keep the asker waiting for nobody. Three ways out,
each kept as a record (``Handover``: who freed it, when, why) that the region's
administrators read beside the question:

- the expert gives it back (放回) before answering, for a reason they choose (not their
  field, a conflict of interest, no time): the pool is told it waits again, as when it was
  asked;
- once it is late for its expert (routing.relievable_at: the time stated to the asker has
  passed), another expert of the pool takes it over;
- or the region's administrator (routing.region_admins) puts it back in the pool.

In the last two the expert is told by text message; they may no longer answer it (its page
says why: routing.freed_from). The asker is shown nothing of this: their question is
still waiting, with the time they were given. Each step takes the question's row lock
first (core/locks.py: a question's row, then a case's turn), so of two acting at once one
wins and the other reads what it did; the same request arriving twice is answered as the
first (as booking/repeats.py does). Everything here flushes; the request edge commits.
"""

from __future__ import annotations

import re
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select

from mediation.accounts.models import Role, User
from mediation.booking.repeats import REPEAT_WINDOW
from mediation.core.db import utcnow
from mediation.core.forms import FieldError
from mediation.core.i18n import format_when
from mediation.core.locks import lock_rows
from mediation.extensions import db
from mediation.journal import operations as journal

from . import notices
from .answering import FreedError, take
from .models import LATE, GiveBackReason, Handover, HandoverKind, Question, QuestionStatus
from .routing import (
    NotAllowedError,
    freed_from,
    holds,
    in_pool,
    pool,
    province_of,
    relievable_at,
)

MAX_NOTE = 200
# Not words: control characters (a terminal's escapes, a bell) and the marks that reverse
# or isolate the direction of what follows them (U+202A-U+202E, U+2066-U+2069), with which
# a note would show the region's staff other words than it holds (a "Trojan Source" note).
_NOT_WORDS = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


class HandedOverAlreadyError(Exception):
    """The same request arrived again (a double tap, a phone resending the POST, a second
    tab): ``handover`` is what the first one did. Nothing is done or sent twice; the page
    answers as it did the first time."""

    def __init__(self, handover: Handover) -> None:
        super().__init__(handover.id)
        self.handover = handover


def _lock(question: Question) -> None:
    """The question's row lock (on SQLite, the write lock), then the question as the
    request before this one left it."""
    db.session.flush()
    lock_rows(Question.id, question.id)
    db.session.refresh(question)


def _just_now(question: Question, kind: str, by: User, now: datetime) -> Handover | None:
    """The newest record of the question, if it is a ``kind`` by ``by`` within the window."""
    newest = db.session.scalars(
        select(Handover)
        .where(Handover.question_id == question.id)
        .order_by(Handover.id.desc())
        .limit(1)
        .execution_options(populate_existing=True)
    ).first()
    if newest is None or (newest.kind, newest.by_id) != (kind, by.id):
        return None
    return newest if newest.created_at > now - REPEAT_WINDOW else None


def _words(note: str) -> str:
    """The note on one line, as the words typed: whitespace runs and what is no word
    (``_NOT_WORDS``) become one space."""
    return " ".join(_NOT_WORDS.sub(" ", note).split())


def _refuse_unless_waiting(question: Question) -> None:
    if question.status == QuestionStatus.answered:
        raise FieldError("question", _("This question has been answered."))


def _not_late_yet(question: Question) -> FieldError:
    return FieldError(
        "question",
        _(
            "The expert who took this question has until %(when)s to answer it.",
            when=format_when(relievable_at(question)),
        ),
    )


def _free(
    question: Question,
    kind: str,
    by: User,
    reason: str,
    note: str,
    now: datetime,
) -> Handover:
    """The record, and the question's expert and time taken cleared or given to ``by``."""
    record = Handover(
        kind=kind,
        expert_id=question.expert_id,
        taken_at=question.taken_at,
        by_id=by.id,
        reason=reason,
        note=note,
        created_at=now,
    )
    question.handovers.append(record)
    if kind == HandoverKind.taken_over:
        question.expert_id, question.taken_at = by.id, now
    else:
        question.status = QuestionStatus.open
        question.expert_id = question.taken_at = None
    db.session.flush()
    if question.case_id is not None:
        # The asker turned the question into a case while it waited: the case's timeline
        # records that it went to another expert, as it records the answer (answering.py).
        # Not why: that is for the region's staff, who read the record here.
        journal.append(
            question.case_id,
            "consultation.handed_over",
            {"question_id": question.id, "at": now.isoformat()},
            actor_id=by.id,
        )
    return record


def _tell_pool(question: Question, but: User) -> None:
    """The pool is told the question waits again, but the expert it was freed from and
    anyone it was freed from before (they no longer take it)."""
    freed = {h.expert_id for h in question.handovers}
    notices.waiting_again(
        question, [u for u in pool(question) if u.id != but.id and u.id not in freed]
    )


# -- the expert gives it back ---------------------------------------------------------------


def give_back(
    question: Question, expert: User, reason: str, note: str = "", *, now: datetime | None = None
) -> Handover:
    """放回: the expert who took the question gives it back to the pool, before answering,
    for ``reason`` (a ``GiveBackReason``; ``note``, a few words of their own, is needed for
    "other"). Once only: they do not take it again (routing.freed_from)."""
    if reason not in set(GiveBackReason):
        raise FieldError("reason", _("Choose why you give the question back."))
    note = _words(note)
    if len(note) > MAX_NOTE:
        raise FieldError("note", _("At most %(n)d characters, please.", n=MAX_NOTE))
    if reason == GiveBackReason.other and not note:
        raise FieldError("note", _("Say in a few words why you give the question back."))
    now = now or utcnow()
    _lock(question)
    same = _just_now(question, HandoverKind.given_back, expert, now)
    if same is not None and (same.reason, same.note) == (reason, note):
        raise HandedOverAlreadyError(same)
    if not holds(expert, question):
        freed = freed_from(expert, question)
        if freed is not None:
            raise FreedError(freed)
        _refuse_unless_waiting(question)
        raise NotAllowedError
    record = _free(question, HandoverKind.given_back, expert, reason, note, now)
    _tell_pool(question, expert)
    return record


# -- late: a colleague takes it over, or an administrator puts it back ----------------------


def may_take_over(user: User, question: Question, *, now: datetime | None = None) -> bool:
    """``user`` is an expert of the pool who may take the question over now: another
    expert holds it past routing.relievable_at, and it was never freed from ``user``."""
    if question.status != QuestionStatus.taken or question.expert_id == user.id:
        return False
    if not in_pool(user, question) or freed_from(user, question) is not None:
        return False
    return relievable_at(question) <= (now or utcnow())


def may_put_back(user: User, question: Question) -> bool:
    """``user`` is an administrator of the question's region (routing.region_admins):
    those the worker tells when it is late. Asked of ``user`` alone (every question page
    asks it, the asker's too), not by listing the region's administrators."""
    if not user.is_authenticated or not user.active:
        return False
    if user.has_role(Role.platform_admin):
        return True
    return (
        user.has_role(Role.institution_admin)
        and user.institution is not None
        and province_of(user.institution.region_code) == question.region_code
    )


def take_over(
    question: Question, expert: User, holder_id: int, *, now: datetime | None = None
) -> Handover | None:
    """The question, late for the expert ``holder_id`` who took it, is taken over by
    ``expert``, another expert of its pool, who answers it now; the first expert is told.
    ``holder_id``: the expert the page showed holding it, so that the one who took it over
    a moment earlier is not taken over in turn. Back in the pool meanwhile: simply taken
    (None)."""
    if not in_pool(expert, question):
        raise NotAllowedError
    now = now or utcnow()
    _lock(question)
    same = _just_now(question, HandoverKind.taken_over, expert, now)
    if same is not None and same.expert_id == holder_id and holds(expert, question):
        raise HandedOverAlreadyError(same)
    freed = freed_from(expert, question)
    if freed is not None:
        raise FreedError(freed)
    _refuse_unless_waiting(question)
    if question.status == QuestionStatus.open:
        take(question, expert, now=now)
        return None
    if question.expert_id == expert.id:
        return None  # theirs already
    if question.expert_id != holder_id:
        raise FieldError("question", _("Another expert took this question over a moment ago."))
    if relievable_at(question) > now:
        raise _not_late_yet(question)
    holder = question.expert
    record = _free(question, HandoverKind.taken_over, expert, LATE, "", now)
    notices.taken_from(question, holder, record)
    return record


def put_back(
    question: Question, admin: User, holder_id: int, note: str = "", *, now: datetime | None = None
) -> Handover:
    """The question, late for the expert ``holder_id`` who took it, is put back in the pool
    by an administrator of its region (may_put_back), with a few words of theirs if they
    like; the first expert and the pool are told."""
    if not may_put_back(admin, question):
        raise NotAllowedError
    note = _words(note)
    if len(note) > MAX_NOTE:
        raise FieldError("note", _("At most %(n)d characters, please.", n=MAX_NOTE))
    now = now or utcnow()
    _lock(question)
    same = _just_now(question, HandoverKind.put_back, admin, now)
    if same is not None and same.expert_id == holder_id and same.note == note:
        raise HandedOverAlreadyError(same)
    _refuse_unless_waiting(question)
    if question.status == QuestionStatus.open:
        raise FieldError("question", _("This question is already waiting for an expert."))
    if question.expert_id != holder_id:
        raise FieldError("question", _("Another expert took this question over a moment ago."))
    if relievable_at(question) > now:
        raise _not_late_yet(question)
    holder = question.expert
    record = _free(question, HandoverKind.put_back, admin, LATE, note, now)
    notices.taken_from(question, holder, record)
    _tell_pool(question, holder)
    return record


# -- what the region's staff read -------------------------------------------------------


def waiting_in_region(province: str | None, *, now: datetime | None = None) -> list[Question]:
    """The unanswered questions of a province (None: every province), the late first, then
    by the time stated: the administrators' page."""
    now = now or utcnow()
    query = select(Question).where(Question.status != QuestionStatus.answered)
    if province is not None:
        query = query.where(Question.region_code == province)
    found = db.session.scalars(query.order_by(Question.due_at, Question.id)).all()
    return sorted(found, key=lambda q: (q.due_at >= now, q.due_at, q.id))


def handed_over_in_region(province: str | None, *, limit: int = 50) -> list[Handover]:
    """The latest records of questions freed from their experts in a province (None: every
    province), newest first."""
    query = select(Handover).join(Question, Question.id == Handover.question_id)
    if province is not None:
        query = query.where(Question.region_code == province)
    return list(db.session.scalars(query.order_by(Handover.id.desc()).limit(limit)))


def freed_notice(user: User, question: Question) -> str | None:
    """What happened, in the expert's words, when the question was freed from ``user``
    (freed_from) and they no longer answer it; None when it was not, or is theirs."""
    record = freed_from(user, question)
    if record is None or holds(user, question):
        return None
    when = format_when(record.created_at)
    if record.kind == HandoverKind.given_back:
        return _(
            "You gave this question back on %(when)s: it went to the other experts of your "
            "region, and you no longer answer it.",
            when=when,
        )
    due = format_when(question.due_at)
    if record.kind == HandoverKind.taken_over:
        return _(
            "This question was not answered by %(due)s, the time stated to the person who "
            "asked. On %(when)s another expert of your region took it over: you no longer "
            "answer it.",
            due=due,
            when=when,
        )
    return _(
        "This question was not answered by %(due)s, the time stated to the person who asked. "
        "On %(when)s the region's administrators put it back for the other experts of your "
        "region: you no longer answer it.",
        due=due,
        when=when,
    )
