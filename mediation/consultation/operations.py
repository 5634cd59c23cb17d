"""Asking, routing, answering, escalating and filing a question.

A question goes to the expert pool of its region: the experts whose profile names that
province and the question's category (an empty list of categories: every one). It is
answered in writing within ``ANSWER_WORKING_DAYS`` working days (State Council calendar,
cases.clocks); the worker tells the region's administrators and the pool when it is late.
Everything here flushes; the request edge (or the worker) commits.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import case as when
from sqlalchemy import func, literal, or_, select, update

from mediation.accounts.models import Institution, Role, User, UserRole
from mediation.cases import categories, regions
from mediation.cases import signals as case_signals
from mediation.cases.clocks import working_days_after
from mediation.cases.intake import EVIDENCE_TYPES, add_evidence, check_upload
from mediation.cases.models import Case, CaseParty
from mediation.cases.operations import open_case
from mediation.core.db import utcnow
from mediation.core.forms import FieldError
from mediation.core.i18n import format_when
from mediation.core.locks import lock_rows
from mediation.core.storage import content_key, storage
from mediation.extensions import db
from mediation.journal import operations as journal

from . import notices
from .models import Attachment, ExpertKind, ExpertProfile, Question, QuestionStatus

ANSWER_WORKING_DAYS = 2  # the answer time stated to the asker
ANSWERED_PER_PAGE = 20  # an expert's answered questions, one page at a time
MAX_FILES = 5
MAX_SUBJECT = 200
MAX_TEXT = 5000
MAX_ANSWER = 10000


class NotAllowedError(Exception):
    """The step is not this person's to take (the view answers 403 or 404)."""


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def _province(code: str | None) -> str:
    return regions.province_code(code) if code else ""


# -- experts ----------------------------------------------------------------------------


def make_expert(
    user: User,
    *,
    kind: str,
    region_code: str,
    categories_: list[str],
    languages: list[str],
    hours: str,
    admin_province: str | None = None,
) -> ExpertProfile:
    """Give ``user`` the expert role and profile (or change the profile).

    ``admin_province``: the province of the institution administrator doing it (None for a
    platform administrator), who may not take over another province's expert. An account
    somebody opened by naming the number, never proven by its owner, is not made an expert:
    its owner could no longer claim it by registering (registration.py)."""
    existing = db.session.get(ExpertProfile, user.id)
    if admin_province is not None and existing and existing.region_code != admin_province:
        raise FieldError(
            "phone",
            _("This expert answers for another province; ask the platform's administrators."),
        )
    if user.id is not None and user.roles == {Role.party} and not user.is_verified:
        raise FieldError(
            "phone",
            _("Nobody has proven this number yet: ask its owner to register first, then add them."),
        )
    if kind not in set(ExpertKind):
        raise FieldError("kind", _("Choose what kind of expert this is."))
    if _province(region_code) not in {code for code, _name in regions.choices() if code}:
        raise FieldError("region_code", _("Choose the province the expert answers for."))
    known = {code for code, _name in categories.choices()}
    if not set(categories_) <= known:
        raise FieldError("categories", _("Choose one of the dispute categories."))
    if not user.has_role(Role.expert):
        user.role_rows.append(UserRole(role=Role.expert))
    profile = existing or ExpertProfile(user_id=user.id)
    profile.kind, profile.region_code = kind, _province(region_code)
    profile.categories, profile.languages = list(categories_), list(languages)
    profile.hours = hours.strip()[:200]
    db.session.add(profile)
    db.session.flush()
    return profile


def pool(question: Question) -> list[User]:
    """The active experts of the question's region who answer its category."""
    profiles = db.session.scalars(
        select(ExpertProfile)
        .join(User, User.id == ExpertProfile.user_id)
        .join(UserRole, UserRole.user_id == User.id)
        .where(
            ExpertProfile.region_code == question.region_code,
            UserRole.role == Role.expert,
            User.active.is_(True),
        )
        .order_by(ExpertProfile.user_id)
    ).all()
    return [p.user for p in profiles if not p.categories or question.category in p.categories]


def in_pool(user: User, question: Question) -> bool:
    if not user.has_role(Role.expert):
        return False
    profile = db.session.get(ExpertProfile, user.id)
    return (
        profile is not None
        and profile.region_code == question.region_code
        and (not profile.categories or question.category in profile.categories)
    )


def holds(user: User, question: Question) -> bool:
    """``user``, an expert, took the question and has not answered it yet."""
    return (
        question.status == QuestionStatus.taken
        and question.expert_id == user.id
        and user.has_role(Role.expert)
    )


def may_answer(user: User, question: Question) -> bool:
    """The experts of the question's pool; and the expert who took it, though an
    administrator has since changed their province or categories (make_expert). The profile
    routes the questions still to come: the one taken stays with its expert, who may have
    begun the answer, rather than wait for nobody, since no other expert can take it while
    it is taken and the asker was promised an answer in ``ANSWER_WORKING_DAYS``. Anyone
    else outside the pool may not answer, as before."""
    return in_pool(user, question) or holds(user, question)


def moved_out(user: User, question: Question) -> str | None:
    """What changed, in the expert's words, when the question they took is no longer of
    their pool (may_answer); None when it still is, or is not theirs."""
    profile = db.session.get(ExpertProfile, user.id)
    if profile is None or not holds(user, question) or in_pool(user, question):
        return None
    taken = format_when(question.taken_at) if question.taken_at else ""
    if profile.region_code != question.region_code:
        return _(
            "Your expert profile was changed after you took this question on %(when)s: you "
            "now answer questions from %(province)s, and this one is from %(region)s. It stays "
            "yours to answer, so that the person who asked is not kept waiting; new questions "
            "from %(region)s no longer come to you.",
            when=taken,
            province=regions.name(profile.region_code),
            region=regions.name(question.region_code),
        )
    return _(
        "Your expert profile was changed after you took this question on %(when)s: it no "
        "longer covers disputes of the kind \u201c%(category)s\u201d. It stays yours to "
        "answer, so that the person who asked is not kept waiting; new questions of this kind "
        "no longer come to you.",
        when=taken,
        category=categories.category_name(question.category),
    )


def region_admins(region_code: str) -> list[User]:
    """The administrators of the region's institutions, and the platform's."""
    institutions = [
        i.id
        for i in db.session.scalars(select(Institution))
        if _province(i.region_code) == region_code
    ]
    users = db.session.scalars(
        select(User)
        .join(UserRole)
        .where(
            User.active.is_(True),
            UserRole.role.in_([Role.platform_admin, Role.institution_admin]),
        )
        .order_by(User.id)
    ).unique()
    return [
        u
        for u in users
        if u.has_role(Role.platform_admin)
        or (u.has_role(Role.institution_admin) and u.institution_id in institutions)
    ]


def can_view(user: User, question: Question) -> bool:
    """The asker, the experts of its pool, the region's administrators; nobody else."""
    if not user.is_authenticated:
        return False
    if question.asker_id == user.id or user.has_role(Role.platform_admin):
        return True
    institution = user.institution if user.has_role(Role.institution_admin) else None
    if institution is not None and _province(institution.region_code) == question.region_code:
        return True
    return question.expert_id == user.id or in_pool(user, question)


def queue(expert: User) -> list[Question]:
    """The questions waiting in the expert's pool, and those they took (of their pool or no
    longer, may_answer), oldest first."""
    profile = db.session.get(ExpertProfile, expert.id)
    if profile is None or not expert.has_role(Role.expert):
        return []
    found = db.session.scalars(
        select(Question)
        .where(
            or_(Question.region_code == profile.region_code, Question.expert_id == expert.id),
            Question.status != QuestionStatus.answered,
        )
        .order_by(Question.due_at, Question.id)
    ).all()
    return [
        q
        for q in found
        if q.expert_id == expert.id
        or (
            q.status == QuestionStatus.open
            and q.region_code == profile.region_code
            and (not profile.categories or q.category in profile.categories)
        )
    ]


def answered_by(
    expert: User, *, page: int = 1, per_page: int | None = None
) -> tuple[list[Question], bool]:
    """A page of the questions ``expert`` answered, the latest answer first, and whether
    there are earlier ones. Only their own answers: can_view decides the rest."""
    per_page = per_page or ANSWERED_PER_PAGE
    found = db.session.scalars(
        select(Question)
        .where(Question.expert_id == expert.id, Question.status == QuestionStatus.answered)
        .order_by(Question.answered_at.desc(), Question.id.desc())
        .offset((max(page, 1) - 1) * per_page)
        .limit(per_page + 1)
    ).all()
    return list(found[:per_page]), len(found) > per_page


# -- the asker ------------------------------------------------------------------------


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
    region_code = _province(region_code)
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
        due_at=working_days_after(now, ANSWER_WORKING_DAYS, _zone()),
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
    return _province(latest)


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


# -- the expert -----------------------------------------------------------------------


def take(question: Question, expert: User, *, now: datetime | None = None) -> None:
    """The expert answers this one: the others of the pool see it is being answered."""
    if not may_answer(expert, question):
        raise NotAllowedError
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
        .values(status=QuestionStatus.taken, expert_id=expert.id, taken_at=now or utcnow())
    ).rowcount
    if claimed != 1:
        db.session.refresh(question)
        raise FieldError("answer", _("Another expert is answering this question."))


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
        region_code=_province(region_code),
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


# -- the worker -----------------------------------------------------------------------


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


# -- a case from a question -----------------------------------------------------------


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


# -- figures --------------------------------------------------------------------------


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
        query = query.where(Question.region_code == _province(institution.region_code))
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
