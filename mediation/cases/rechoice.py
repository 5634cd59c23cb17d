"""Choosing again (SPC online mediation rules art 12 para 2: "调解组织或者调解员不予接受或者
超过规定期限未予确认的，人民法院、当事人可以重新指定或者选定"): once the institution chosen
for a case declined it or let its three working days pass (``lapse``), the applicant who
chose it, or the court that delegated the case (court/delegation.py), chooses another, or
leaves the choice to the platform. Built on ``assignment``, which it moves the case with."""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from mediation.accounts.models import Institution, User
from mediation.core.db import utcnow
from mediation.extensions import db
from mediation.journal import operations as journal
from mediation.notify import operations as notify

from . import assignment, clocks, lapse, signals, workflow
from .matching import AssignmentOutcome
from .models import Case, Side
from .states import Action, Actor

# Art 12 para 2: the court (or the applicants) chose again after a lapsed choice.
CHOSEN_AGAIN = _l(
    "Your case %(number)s went to %(institution)s, which will take it on or decline it "
    "within %(days)d working days."
)


def choose_again(
    case: Case,
    institution: Institution | None,
    *,
    by: User | None,
    delegated_by: assignment.DelegatedBy | None = None,
    now: datetime | None = None,
) -> None:
    """Art 12 para 2: the institution chosen for ``case`` declined it or let its days pass
    (``lapse.lapsed_at``), and whoever chose it chooses another, or leaves it to the
    platform (``institution`` None), which then never gives it back to the one that lapsed.

    Who chooses: with ``delegated_by``, the court that delegated the case (court/delegation.py
    checked that ``by`` is its clerk or judge, or None for its own system); otherwise ``by``,
    an applicant of a case they filed (``lapse.chooses_again``). The institution that let
    the choice lapse no longer holds the case: its pending assignment is withdrawn, its
    mediator (one picked from its queue meanwhile) let go. The new institution has its own
    three working days (art 12 para 1)."""
    now = now or utcnow()
    court = delegated_by is not None
    if (court and not lapse.delegated(case)) or (
        not court and (by is None or not lapse.chooses_again(by, case))
    ):
        raise workflow.NotPermittedError(_("You may not take this step in this case."))
    if lapse.lapsed_at(case) is None:
        raise workflow.TransitionError(
            _(
                "Another institution can be chosen only after the one chosen declined the "
                "case or did not take it on within 3 working days."
            )
        )
    lapsed = case.institution_id
    if institution is not None and institution.id == lapsed:
        raise workflow.TransitionError(
            _(
                "%(institution)s has not taken this case on: choose another institution.",
                institution=institution.name,
            )
        )
    last = assignment.current(case)
    journal.append(
        case.id,
        # Released: the earlier choice no longer binds the platform's pick (matching).
        "case.chosen_again" if institution is not None else "case.choice_released",
        {"from": lapsed, "to": institution.id if institution else None, "after": last and last.id},
        actor_id=by.id if by is not None else None,
    )
    assignment.close_pending(case, AssignmentOutcome.withdrawn, "", now)
    previous = case.mediator_id
    case.mediator = None
    case.institution = institution
    workflow.transition(
        case,
        Action.reassign,
        by=None if court else by,
        acting_as=Actor.court if court else None,
        now=now,
    )
    if institution is not None:
        assignment.queue(case, by=by, now=now, how="chosen", delegated_by=delegated_by)
        _tell_applicants(case)
    elif assignment.assign_automatically(case, by=None, now=now, avoid=lapsed):
        assignment.tell_given(case)
    elif case.institution is not None:
        _tell_applicants(case)  # nobody free: the nearest institution's queue has it
    db.session.flush()
    if previous is not None:
        # One of the lapsed institution's mediators had been given it from its queue.
        signals.mediator_changed.send(case, previous=previous)


def _tell_applicants(case: Case) -> None:
    for user in case.party_users(Side.applicant):
        notify.tell(
            user,
            CHOSEN_AGAIN,
            number=case.number,
            institution=case.institution.name,
            days=clocks.ACCEPTANCE_WORKING_DAYS,
        )
