"""Who may play a session's recordings and review videos, and why someone who once could no
longer may: the case's mediator; its parties, a caucus or a session held with one side alone
(SPC online mediation rules art 16) only for that side; a court examining an application,
the joint sessions only."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from mediation.accounts.models import Role, User
from mediation.booking.models import MediationSession
from mediation.cases.models import Case
from mediation.extensions import db

from . import signals
from .models import Composition, Recording, side_of_scope
from .operations import of_case

# A court examining an application sees sessions up to no end.
FOREVER = datetime.max.replace(tzinfo=UTC)


def court_reviews(case: Case, user: User) -> bool:
    """``user`` works at a court the parties applied to for judicial confirmation (from
    submission on, whatever it decided; not after a withdrawal)."""
    return court_sees_until(case, user) is not None


def court_sees_until(case: Case, user: User) -> datetime | None:
    """Up to when the sessions ``user``'s court may review began: for ever while it
    examines an application, until its decision once it decided (a refusal or a ruling
    closes its file; what the case does after is another court's, or nobody's:
    court/bundle.py); None when it reviews nothing."""
    from mediation.court.models import Application, ApplicationStatus

    if user.court_id is None or not user.has_role(Role.court_clerk, Role.judge):
        return None
    applications = db.session.scalars(
        select(Application).where(
            Application.case_id == case.id,
            Application.court_id == user.court_id,
            Application.status.not_in([ApplicationStatus.signing, ApplicationStatus.withdrawn]),
        )
    ).all()
    decided = (ApplicationStatus.refused, ApplicationStatus.confirmed, ApplicationStatus.rejected)
    ends = [a.decided_at if a.status in decided else None for a in applications]
    if not ends:
        return None
    return FOREVER if None in ends else max(e or FOREVER for e in ends)


def playable(recording_id: int, user: User) -> Recording | None:
    """The recording, if ``user`` may play it: the case's mediator, and its parties (agents
    included); a caucus, or a session held with one side alone (art 16), only for that
    side. None otherwise (the edge answers 404)."""
    found = db.session.get(Recording, recording_id)
    if found is None or not found.sha256:
        return None
    session = found.participant.session
    case = session.case
    if user.id == case.mediator_id:
        return found
    # A file is one side's by its label, or by its session (whatever label it was given).
    private = side_of_scope(found.scope) or session.side
    until = court_sees_until(case, user)
    if until is not None:
        # The court examining an application sees the joint session, not a side's caucus
        # nor a session with one side (see docs/security.md: one side's sessions).
        return found if private is None and session.start_at < until else None
    sides = {p.side for p in case.parties if p.user_id == user.id}
    if not sides:
        return None
    return found if private is None or private in sides else None


def review_videos(case: Case, user: User) -> list[Composition]:
    """The case's review videos, for its mediator, its parties and a court examining an
    application: joint sessions for all of them, a session held with one side only for
    that side and the mediator."""
    until = court_sees_until(case, user)
    court = until is not None
    sides = {p.side for p in case.parties if p.user_id == user.id}
    if user.id != case.mediator_id and not sides and not court:
        return []
    query = (
        select(Composition)
        .join(MediationSession, MediationSession.id == Composition.session_id)
        .where(MediationSession.case_id == case.id, Composition.status == "finished")
        .order_by(Composition.session_id)
    )
    if user.id != case.mediator_id:
        allowed = MediationSession.side.is_(None)
        if not court:
            allowed = allowed | MediationSession.side.in_(sides)
        elif until is not FOREVER:
            allowed = allowed & (MediationSession.start_at < until)
        query = query.where(allowed)
    return db.session.scalars(query).all()


def playable_of_case(case: Case, user: User) -> list[Recording]:
    return [r for r in of_case(case.id) if playable(r.id, user) is not None]


def _ended_for(case: Case, user: User) -> signals.Ended | None:
    for _receiver, ended in signals.access_ended.send(case, user=user):
        if ended is not None:
            return ended
    return None


def access_ended(recording_id: int, user: User) -> signals.Ended | None:
    """Why ``user``, who may not play this recording (``playable`` is None), once could:
    only for a joint session's file, the kind a court examining an application plays, and
    only as a higher feature answers for ``user`` (``signals.access_ended``). None for
    everyone else: the edge answers them a plain 404, which tells nothing, not even that
    the file exists."""
    found = db.session.get(Recording, recording_id)
    if found is None or not found.sha256:
        return None
    session = found.participant.session
    if (side_of_scope(found.scope) or session.side) is not None:
        return None  # a side's own (art 16): never a court's
    return _ended_for(session.case, user)


def review_access_ended(session_id: int, user: User) -> signals.Ended | None:
    """``access_ended`` for a joint session's review video."""
    session = db.session.get(MediationSession, session_id)
    if session is None or session.side is not None:
        return None
    made = db.session.get(Composition, session_id)
    if made is None or made.status != "finished":
        return None
    return _ended_for(session.case, user)
