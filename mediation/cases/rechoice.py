"""Choosing again (SPC online mediation rules art 12 para 2: "调解组织或者调解员不予接受或者
超过规定期限未予确认的，人民法院、当事人可以重新指定或者选定"): once the institution or
the mediator chosen for a case declined it or let its three working days pass (``lapse``),
the applicant who chose, or the court that delegated the case (court/delegation.py),
chooses another, or leaves the choice to the platform. Built on ``assignment``, which it
moves the case with."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from mediation.accounts.models import Institution, User
from mediation.core.db import utcnow
from mediation.extensions import db
from mediation.journal import operations as journal
from mediation.notify import operations as notify

from . import assignment, clocks, lapse, signals, workflow
from .matching import AssignmentOutcome, eligible_mediator, takes_kind, tried_mediators
from .models import Case
from .states import Action, Actor

# Art 12 para 2: the court (or the applicants) chose again after a lapsed choice.
CHOSEN_AGAIN = _l(
    "Your case %(number)s went to %(institution)s, which will take it on or decline it "
    "within %(days)d working days."
)
# The mediator who held the case meanwhile (one the platform or the institution picked).
WITHDRAWN = _l(
    "Case %(number)s was withdrawn from you: another mediator or institution was chosen for "
    "it (SPC online mediation rules art 12). You need not answer it."
)


def choose_again(
    case: Case,
    institution: Institution | None,
    *,
    by: User | None,
    mediator: User | None = None,
    delegated_by: assignment.DelegatedBy | None = None,
    now: datetime | None = None,
) -> None:
    """Art 12 para 2: the institution or mediator chosen for ``case`` declined it or let its
    days pass (``lapse.lapsed``), and whoever chose chooses again: another institution, a
    mediator by name (``mediator``; the applicant only, as when filing), or the platform
    (both None), which then never gives it back to the institution that lapsed.

    Who chooses: with ``delegated_by``, the court that delegated the case (court/delegation.py
    checked that ``by`` is its clerk or judge, or None for its own system); otherwise ``by``,
    an applicant of a case they filed (``lapse.chooses_again``). Whoever held the case
    meanwhile no longer does: the pending assignment is withdrawn, its mediator told. The
    new choice has its own three working days (art 12 para 1)."""
    now = now or utcnow()
    court = delegated_by is not None
    if (court and (mediator is not None or not lapse.delegated(case))) or (
        not court and (by is None or not lapse.chooses_again(by, case))
    ):
        raise workflow.NotPermittedError(_("You may not take this step in this case."))
    lapsed = lapse.lapsed(case)
    if lapsed is None:
        raise workflow.TransitionError(
            _(
                "Another mediator or institution can be chosen only after the one chosen "
                "declined the case or did not take it on within 3 working days."
            )
        )
    _check_choice(case, lapsed, institution, mediator)
    if mediator is not None:
        institution = mediator.institution
    last = assignment.current(case)
    journal.append(
        case.id,
        # Released: the earlier choice no longer binds the platform's pick (matching).
        "case.chosen_again" if institution is not None else "case.choice_released",
        {
            "from": case.institution_id,
            "to": institution.id if institution else None,
            "mediator_id": mediator.id if mediator else None,
            "after": last and last.id,
        },
        actor_id=by.id if by is not None else None,
    )
    waiting = meanwhile(case, lapsed)  # told below that they need not answer
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
    if mediator is not None:
        given = assignment.assign(
            case, institution=institution, mediator=mediator, how="chosen", by=by, now=now
        )
        case.acceptance_due_at = given.due_at
        assignment.tell_applicants(
            case, assignment.GIVEN, name=mediator.real_name, days=clocks.ACCEPTANCE_WORKING_DAYS
        )
    elif institution is not None:
        assignment.queue(case, by=by, now=now, how="chosen", delegated_by=delegated_by)
        _tell_chosen(case)
    elif assignment.assign_automatically(
        case, by=None, now=now, avoid=None if lapsed.mediator_id else lapsed.institution_id
    ):
        assignment.tell_given(case)
    elif case.institution is not None:
        _tell_chosen(case)  # nobody free: the nearest institution's queue has it
    db.session.flush()
    if waiting is not None:
        notify.tell(waiting, WITHDRAWN, number=case.number)
    if previous is not None:
        signals.mediator_changed.send(case, previous=previous)


class LeftOut(NamedTuple):
    """What choosing again does not offer (art 12 para 2): the mediators who declined the
    case or let its days pass, and the one who has it now; the institution that refused."""

    mediators: set[int]
    institution: int | None


def left_out(case: Case, lapsed: lapse.Lapse) -> LeftOut:
    mediators = tried_mediators(case, withdrawn=False)
    if case.mediator_id is not None:
        mediators.add(case.mediator_id)
    return LeftOut(mediators, lapsed.institution_id if lapsed.mediator_id is None else None)


def meanwhile(case: Case, lapsed: lapse.Lapse) -> User | None:
    """The mediator given the case since the choice lapsed (by the platform or the
    institution) who has yet to answer: the applicant may wait for them instead."""
    last = assignment.current(case)
    if (
        last is None
        or last.outcome != AssignmentOutcome.pending
        or last.mediator_id is None
        or last.mediator_id == lapsed.mediator_id
    ):
        return None
    return db.session.get(User, last.mediator_id)


def _check_choice(
    case: Case, lapsed: lapse.Lapse, institution: Institution | None, mediator: User | None
) -> None:
    """The new choice is one that may take the case (art 13) and its kind, and not one
    ``left_out`` (nor a mediator of the institution that refused it)."""
    out = left_out(case, lapsed)
    if mediator is not None and (
        mediator.id in out.mediators
        or mediator.institution_id == out.institution
        or not eligible_mediator(case, mediator)
        or not takes_kind(case, mediator)
    ):
        raise workflow.TransitionError(
            _("Mediator %(name)s cannot take this case: choose another.", name=mediator.real_name)
        )
    if mediator is None and institution is not None and institution.id == out.institution:
        raise workflow.TransitionError(
            _(
                "%(institution)s has not taken this case on: choose another institution.",
                institution=institution.name,
            )
        )


def _tell_chosen(case: Case) -> None:
    assignment.tell_applicants(
        case, CHOSEN_AGAIN, institution=case.institution.name, days=clocks.ACCEPTANCE_WORKING_DAYS
    )
