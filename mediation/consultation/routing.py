"""Who answers what: the expert pool of a question's region, the experts' profiles, who
may see and answer a question, the experts' queue and the region's administrators.

A question goes to the expert pool of its region: the experts whose profile names that
province and the question's category (an empty list of categories: every one).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import or_, select

from mediation.accounts.models import Institution, Role, User, UserRole
from mediation.cases import categories, regions
from mediation.cases.clocks import working_days_after
from mediation.core.db import utcnow
from mediation.core.forms import FieldError
from mediation.core.i18n import format_when
from mediation.extensions import db

from .models import (
    ExpertKind,
    ExpertProfile,
    GiveBackReason,
    Handover,
    Question,
    QuestionStatus,
)

ANSWERED_PER_PAGE = 20  # an expert's answered questions, one page at a time
# An expert who took a question when its stated time had passed, or nearly, keeps it this
# many working days before a colleague may take it over (relievable_at).
GRACE_WORKING_DAYS = 1


class NotAllowedError(Exception):
    """The step is not this person's to take (the view answers 403 or 404)."""


def china_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def province_of(code: str | None) -> str:
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
    if province_of(region_code) not in {code for code, _name in regions.choices() if code}:
        raise FieldError("region_code", _("Choose the province the expert answers for."))
    known = {code for code, _name in categories.choices()}
    if not set(categories_) <= known:
        raise FieldError("categories", _("Choose one of the dispute categories."))
    if not user.has_role(Role.expert):
        user.role_rows.append(UserRole(role=Role.expert))
    profile = existing or ExpertProfile(user_id=user.id)
    profile.kind, profile.region_code = kind, province_of(region_code)
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


def freed_from(user: User, question: Question) -> Handover | None:
    """The record of ``question`` freed from ``user`` (handover.py), if it ever was: given
    back by them, taken over by a colleague, or put back in the pool by an administrator.
    Such an expert does not take it again: they said it is not theirs to answer (a field,
    a conflict, no time), or the time stated to the asker passed while they held it, and
    the pool was told it waits for someone else."""
    return db.session.scalars(
        select(Handover)
        .where(Handover.question_id == question.id, Handover.expert_id == user.id)
        .order_by(Handover.id.desc())
        .limit(1)
    ).first()


def may_take(user: User, question: Question) -> bool:
    """An expert of the question's pool from whom it was never freed (freed_from)."""
    return in_pool(user, question) and freed_from(user, question) is None


def may_answer(user: User, question: Question) -> bool:
    """The experts of the question's pool (may_take); and the expert who took it, though an
    administrator has since changed their province or categories (make_expert). The profile
    routes the questions still to come: the one taken stays with its expert, who may have
    begun the answer, rather than wait for somebody else to be found. If they leave it
    unanswered past the time stated to the asker, a colleague of the pool may take it over
    or the region's administrators put it back in the pool (handover.py). Anyone else
    outside the pool may not answer, as before."""
    return holds(user, question) or may_take(user, question)


def relievable_at(question: Question) -> datetime | None:
    """When the expert holding ``question`` may be relieved of it (taken over by a
    colleague, put back in the pool by an administrator): once the time stated to the asker
    has passed. An expert who took it when that time had passed, or nearly, has until the
    end of the next working day after taking it, so that nobody takes the question from
    under them while they write, nor two colleagues from each other in turn. None: not
    taken."""
    if question.status != QuestionStatus.taken or question.taken_at is None:
        return None
    own = working_days_after(question.taken_at, GRACE_WORKING_DAYS, china_zone())
    return max(question.due_at, own)


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
        if province_of(i.region_code) == region_code
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


def recused(user: User, question: Question) -> bool:
    """``user``, an expert, gave the question back for a conflict of interest (they know the
    person who asked, or the other side): from then on it is not theirs to read either, nor
    its answer; the pool they are in still shows it to everyone else."""
    if not user.has_role(Role.expert):
        return False
    freed = freed_from(user, question)
    return freed is not None and freed.reason == GiveBackReason.conflict


def can_view(user: User, question: Question) -> bool:
    """The asker, the experts of its pool, the region's administrators; nobody else."""
    if not user.is_authenticated:
        return False
    if question.asker_id == user.id or user.has_role(Role.platform_admin):
        return True
    institution = user.institution if user.has_role(Role.institution_admin) else None
    if institution is not None and province_of(institution.region_code) == question.region_code:
        return True
    if recused(user, question):
        return False
    # The expert it was freed from (handover.py) still reads the page: it tells them the
    # question is no longer theirs, rather than a bare refusal.
    return (
        question.expert_id == user.id
        or in_pool(user, question)
        or (user.has_role(Role.expert) and freed_from(user, question) is not None)
    )


def queue(expert: User, *, now: datetime | None = None) -> list[Question]:
    """The questions waiting in the expert's pool, and those they took (of their pool or no
    longer, may_answer), oldest first; and those of the pool a colleague took and left
    unanswered past the time stated (relievable_at), which the expert may take over. Not
    those freed from the expert (freed_from)."""
    profile = db.session.get(ExpertProfile, expert.id)
    if profile is None or not expert.has_role(Role.expert):
        return []
    now = now or utcnow()
    found = db.session.scalars(
        select(Question)
        .where(
            or_(Question.region_code == profile.region_code, Question.expert_id == expert.id),
            Question.status != QuestionStatus.answered,
        )
        .order_by(Question.due_at, Question.id)
    ).all()
    freed = set(
        db.session.scalars(
            select(Handover.question_id).where(
                Handover.expert_id == expert.id,
                Handover.question_id.in_([q.id for q in found]),
            )
        )
    )

    def waits_for(q: Question) -> bool:
        if q.id in freed or q.region_code != profile.region_code:
            return False
        if profile.categories and q.category not in profile.categories:
            return False
        return q.status == QuestionStatus.open or relievable_at(q) <= now

    return [q for q in found if q.expert_id == expert.id or waits_for(q)]


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
