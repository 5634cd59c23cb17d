"""The asker's side: asking a question (once, though the form arrives twice), the province
the platform knows, the asker's questions.

A question is answered in writing within ``ANSWER_WORKING_DAYS`` working days (State
Council calendar, cases.clocks). Everything here flushes; the request edge commits.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select

from mediation.accounts.models import User
from mediation.cases import categories, regions
from mediation.cases.clocks import working_days_after
from mediation.cases.intake import EVIDENCE_TYPES, check_upload
from mediation.cases.models import Case, CaseParty
from mediation.core.db import utcnow
from mediation.core.forms import FieldError
from mediation.core.locks import lock_rows
from mediation.core.storage import storage
from mediation.extensions import db

from . import notices
from .models import Attachment, Question, QuestionStatus
from .routing import china_zone, pool, province_of

ANSWER_WORKING_DAYS = 2  # the answer time stated to the asker
MAX_FILES = 5
MAX_SUBJECT = 200
MAX_TEXT = 5000


def ask(
    asker: User,
    *,
    category: str,
    region_code: str,
    subject: str,
    text: str,
    files: list[tuple[str, bytes]] = (),
    now: datetime | None = None,
) -> Question:
    """A question with its files; the pool is told, and the answer is due in
    ``ANSWER_WORKING_DAYS`` working days."""
    found = categories.get_category(category)
    if found is None or not found.active:
        raise FieldError("category", _("Choose one of the dispute categories."))
    region_code = province_of(region_code)
    if region_code not in {code for code, _name in regions.choices() if code}:
        raise FieldError("region_code", _("Choose the province where the dispute arose."))
    subject, text = subject.strip(), text.strip()
    if not subject or len(subject) > MAX_SUBJECT:
        raise FieldError("subject", _("Say in a few words what your question is about."))
    if not text:
        raise FieldError("text", _("Please write your question."))
    if len(text) > MAX_TEXT:
        raise FieldError(
            "text", _("The question is too long: at most %(n)d characters.", n=MAX_TEXT)
        )
    files = [(name, data) for name, data in files if name or data]
    if len(files) > MAX_FILES:
        raise FieldError("files", _("At most %(n)d files.", n=MAX_FILES))
    try:
        checked = [(name, data, check_upload(name, data)) for name, data in files]
    except FieldError as error:
        raise FieldError("files", error.message) from None
    same = _same_question(asker, category, region_code, subject, text, checked)
    if same is not None:
        raise AskedAlreadyError(same)
    now = now or utcnow()
    question = Question(
        asker_id=asker.id,
        category=category,
        region_code=region_code,
        subject=subject,
        text=text,
        status=QuestionStatus.open,
        due_at=working_days_after(now, ANSWER_WORKING_DAYS, china_zone()),
        created_at=now,
    )
    for name, data, mime in checked:
        question.attachments.append(
            Attachment(
                filename=name[:255] or f"file{EVIDENCE_TYPES[mime]}",
                content_type=mime,
                size=len(data),
                sha256=storage().put_content(data),
            )
        )
    db.session.add(question)
    db.session.flush()
    notices.asked(question, pool(question))
    return question


class AskedAlreadyError(Exception):
    """The very question is already waiting for its answer: the form arrived twice (a double
    tap, a phone resending the POST, a second tab). The asker is shown that one question."""

    def __init__(self, question: Question):
        super().__init__(question.id)
        self.question = question


def _same_question(
    asker: User,
    category: str,
    region_code: str,
    subject: str,
    text: str,
    checked: list[tuple[str, bytes, str]],
) -> Question | None:
    """The asker's unanswered question with these very words and files, if any."""
    # Two such requests at once take turns here: the asker's row is locked (on SQLite, the
    # write lock), so the second one sees the question the first one made.
    lock_rows(User.id, asker.id)
    files = sorted(hashlib.sha256(data).hexdigest() for _name, data, _mime in checked)
    waiting = db.session.scalars(
        select(Question)
        .where(
            Question.asker_id == asker.id,
            Question.status != QuestionStatus.answered,
            Question.category == category,
            Question.region_code == region_code,
            Question.subject == subject,
        )
        .order_by(Question.id.desc())
    )
    for question in waiting:
        if question.text == text and sorted(a.sha256 for a in question.attachments) == files:
            return question
    return None


def known_province(user: User) -> str:
    """The province the platform already knows for ``user``, to preselect on the form: that
    of their latest question, else of their latest case that names one; "" if none."""
    latest = db.session.scalar(
        select(Question.region_code)
        .where(Question.asker_id == user.id)
        .order_by(Question.id.desc())
        .limit(1)
    )
    if not latest:
        latest = db.session.scalar(
            select(Case.region_code)
            .join(CaseParty, CaseParty.case_id == Case.id)
            .where(CaseParty.user_id == user.id, Case.region_code.is_not(None))
            .order_by(Case.id.desc())
            .limit(1)
        )
    return province_of(latest)


def has_questions(user: User) -> bool:
    """Whether ``user`` asked anything (the menu then offers their questions)."""
    first = select(Question.id).where(Question.asker_id == user.id).limit(1)
    return db.session.scalar(first) is not None


def my_questions(asker: User) -> list[Question]:
    return list(
        db.session.scalars(
            select(Question).where(Question.asker_id == asker.id).order_by(Question.id.desc())
        )
    )
