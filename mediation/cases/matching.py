"""Who may take a case and who should (SPC online mediation rules arts 10, 12 and 13): an
active mediator who is not a party, the nearest that takes its kind with the fewest open
cases, and only within the institution the applicant or a delegating court chose."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from mediation.accounts.models import Institution, MediatorProfile, Role, User, UserRole
from mediation.extensions import db
from mediation.journal.models import JournalEntry

from .models import Case, CaseAssignment
from .states import OPEN_STATUSES


class AssignmentOutcome:
    pending = "pending"
    accepted = "accepted"
    declined = "declined"
    expired = "expired"  # not confirmed within the three working days
    withdrawn = "withdrawn"  # the institution gave the case to another mediator first


def eligible_mediator(case: Case, user: User | None) -> bool:
    """An active mediator of an institution who is not a party (art 13)."""
    return (
        user is not None
        and user.active
        and user.has_role(Role.mediator)
        and user.institution_id is not None
        and user.id not in {p.user_id for p in case.parties}
    )


def takes_kind(case: Case, mediator: User) -> bool:
    """Whether ``mediator`` listed the case's kind of dispute among those they mediate."""
    profile = mediator.mediator_profile
    return profile is not None and case.category in (profile.categories or [])


def open_caseload() -> dict[int, int]:
    """Open cases per mediator, for spreading new cases evenly."""
    rows = db.session.execute(
        select(Case.mediator_id, func.count(Case.id))
        .where(Case.mediator_id.is_not(None), Case.status.in_(OPEN_STATUSES))
        .group_by(Case.mediator_id)
    )
    return dict(rows.all())


def _region_score(institution_region: str, case_region: str | None) -> int:
    """3: same county, 2: same city, 1: same province, 0: elsewhere (GB/T 2260 prefixes)."""
    if not case_region:
        return 0
    for score, length in ((3, 6), (2, 4), (1, 2)):
        if institution_region[:length] == case_region[:length]:
            return score
    return 0


@dataclass(frozen=True)
class Candidate:
    mediator: User
    institution: Institution


def chosen_institution_id(case: Case) -> int | None:
    """The institution the applicant or a delegating court chose for ``case`` (art 10), while
    the case is still with it. When it declines or lets three working days pass, the court or
    the parties may choose again (art 12 para 2), not the platform: it looks for another
    mediator of that institution only, and otherwise the institution's queue keeps the case."""
    return case.institution_id if last_choice(case) is not None else None


def last_choice(case: Case) -> CaseAssignment | None:
    """The assignment that records the choice binding ``case`` now (art 10): the latest made
    by choice for the institution the case is with. Its ``mediator_id`` is the mediator the
    applicant chose by name, None when an institution was chosen (its administrators give
    the case to one of its mediators)."""
    if case.institution_id is None:
        return None
    # A choice left to the platform after a lapse (``rechoice.choose_again``) releases the
    # earlier ones: only a choice made after it binds.
    released = db.session.scalar(
        select(JournalEntry.payload)
        .where(JournalEntry.case_id == case.id, JournalEntry.action == "case.choice_released")
        .order_by(JournalEntry.seq.desc())
        .limit(1)
    )
    return db.session.scalar(
        select(CaseAssignment)
        .where(
            CaseAssignment.case_id == case.id,
            CaseAssignment.how == "chosen",
            CaseAssignment.institution_id == case.institution_id,
            CaseAssignment.id > ((released or {}).get("after") or 0),
        )
        .order_by(CaseAssignment.id.desc())
        .limit(1)
    )


def tried_mediators(case: Case, *, withdrawn: bool = True) -> set[int]:
    """The mediators who declined ``case`` or let it expire (art 12), and with ``withdrawn``
    those it was taken from (by their institution, or by a choice made again): the platform
    never gives it to any of them again; an applicant choosing again is not offered the
    first two."""
    outcomes = [AssignmentOutcome.declined, AssignmentOutcome.expired]
    if withdrawn:
        outcomes.append(AssignmentOutcome.withdrawn)
    return set(
        db.session.scalars(
            select(CaseAssignment.mediator_id).where(
                CaseAssignment.case_id == case.id,
                CaseAssignment.mediator_id.is_not(None),
                CaseAssignment.outcome.in_(outcomes),
            )
        )
    )


def pick(case: Case, *, avoid: int | None = None) -> Candidate | None:
    """The mediator who accepts the category, nearest to the dispute, with the fewest open
    cases; never one who already declined or let this case expire, nor one of ``avoid`` (an
    institution that did not take it on when chosen); within the institution chosen for
    the case, if one was (``chosen_institution_id``)."""
    tried = tried_mediators(case)
    chosen = chosen_institution_id(case)
    mediators = db.session.scalars(
        select(User)
        .join(MediatorProfile)
        .join(UserRole)
        .where(UserRole.role == Role.mediator, User.active.is_(True))
        .where(
            User.institution_id.is_not(None) if chosen is None else User.institution_id == chosen
        )
    ).all()
    load = open_caseload()
    candidates = [
        m
        for m in mediators
        if takes_kind(case, m)
        and m.id not in tried
        and m.institution_id != avoid
        and eligible_mediator(case, m)
    ]
    if not candidates:
        return None
    best = min(
        candidates,
        key=lambda m: (
            -_region_score(m.institution.region_code, case.region_code),
            load.get(m.id, 0),
            m.id,
        ),
    )
    return Candidate(best, best.institution)


def _has_mediators(institution: Institution) -> bool:
    return (
        db.session.scalar(
            select(func.count(User.id))
            .join(UserRole)
            .where(
                UserRole.role == Role.mediator,
                User.active.is_(True),
                User.institution_id == institution.id,
            )
        )
        > 0
    )


def nearest_institution(case: Case, *, avoid: int | None = None) -> Institution | None:
    """The institution of the dispute's county, else its city, else its province, that has
    mediators (not ``avoid``); None when no institution is near (the platform's
    administrators decide)."""
    best: tuple[int, int] | None = None
    found = None
    for institution in db.session.scalars(select(Institution).order_by(Institution.id)):
        score = _region_score(institution.region_code or "", case.region_code)
        if score == 0 or institution.id == avoid or not _has_mediators(institution):
            continue
        if best is None or score > best[0]:
            best, found = (score, institution.id), institution
    return found
