"""Who answers what: the expert pool of a question's region, the experts' profiles, who
may see and answer a question, the experts' queue and the region's administrators.

A question goes to the expert pool of its region: the experts whose profile names that
province and the question's category (an empty list of categories: every one).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import or_, select

from mediation.accounts.models import Institution, Role, User, UserRole
from mediation.cases import categories, regions
from mediation.core.forms import FieldError
from mediation.core.i18n import format_when
from mediation.extensions import db

from .models import ExpertKind, ExpertProfile, Question, QuestionStatus

ANSWERED_PER_PAGE = 20  # an expert's answered questions, one page at a time


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


def can_view(user: User, question: Question) -> bool:
    """The asker, the experts of its pool, the region's administrators; nobody else."""
    if not user.is_authenticated:
        return False
    if question.asker_id == user.id or user.has_role(Role.platform_admin):
        return True
    institution = user.institution if user.has_role(Role.institution_admin) else None
    if institution is not None and province_of(institution.region_code) == question.region_code:
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
