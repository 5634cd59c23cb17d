"""Moving a case through its states: the one operation every edge calls (HTTP, socket, worker).

It looks the step up in ``states.TRANSITIONS``, checks that the person may take it, sets the
clocks the step starts, writes the journal and flushes; the caller commits.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from mediation.accounts.models import Role, User
from mediation.core.db import utcnow
from mediation.extensions import db
from mediation.journal import operations as journal
from mediation.journal.models import JournalEntry

from . import clocks, signals
from .categories import get_category
from .labels import ACTION_NAMES, STATUS_NAMES
from .models import Case, Side
from .states import Action, Actor, CaseStatus, TerminationReason, Transition, find

# Reasons a party may give for ending the case themselves: the applicant withdraws (art 25
# (2)); either party may say they do not want to go on (art 25 (4), PML art 23).
PARTY_REASONS = {
    # "other" (art 25 (8)): e.g. the institution chosen did not take the case on, and the
    # applicant ends this application to choose again (art 12 para 2).
    Actor.applicant: frozenset(
        {TerminationReason.withdrawn, TerminationReason.party_unwilling, TerminationReason.other}
    ),
    Actor.respondent: frozenset({TerminationReason.party_unwilling}),
}


class TransitionError(Exception):
    """The step cannot be taken; ``str(error)`` is the message for the user."""


class NotPermittedError(TransitionError):
    """The step exists, but not for this person."""


def zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def actors_for(user: User | None, case: Case) -> set[Actor]:
    """How ``user`` relates to ``case`` (None is the platform itself)."""
    if user is None:
        return {Actor.system}
    actors = set()
    for party in case.parties:
        if party.user_id != user.id:
            continue
        if party.is_agent and party.agency_confirmed_at is None and case.status != CaseStatus.draft:
            continue  # not yet confirmed by the party they say they act for (agency.py)
        actors.add(Actor.applicant if party.side == Side.applicant else Actor.respondent)
    if case.mediator_id == user.id:
        actors.add(Actor.mediator)
    if (
        user.has_role(Role.institution_admin)
        and case.institution_id is not None
        and user.institution_id == case.institution_id
    ):
        actors.add(Actor.institution)
    # Which court: court.steps lets only the court the application went to act.
    if user.has_role(Role.court_clerk, Role.judge):
        actors.add(Actor.court)
    return actors


def termination_reasons(user: User, case: Case) -> list[TerminationReason]:
    """The art 25 reasons ``user`` may give for ending ``case``."""
    acting = actors_for(user, case)
    if acting - set(PARTY_REASONS):
        return [r for r in TerminationReason if r != TerminationReason.agreement_reached]
    allowed = set().union(*(PARTY_REASONS[a] for a in acting if a in PARTY_REASONS))
    return [r for r in TerminationReason if r in allowed]


def transition(
    case: Case,
    action: Action,
    *,
    by: User | None,
    reason: TerminationReason | None = None,
    note: str = "",
    now: datetime | None = None,
    acting_as: Actor | None = None,
) -> Transition:
    """Take ``action`` on ``case``; raises ``TransitionError`` (or ``NotPermittedError``).

    ``acting_as`` is for callers that authenticated a body rather than a person (the court
    API's token stands for the court); with ``by`` None it replaces the system actor."""
    now = now or utcnow()
    # The case's turn before its row is written (core/locks.py: the order of locks): a step
    # that journaled first (the last signature, say) writes the case's status after it.
    journal.turn(case.id)
    step = find(case.status, action)
    if step is None:
        raise TransitionError(
            _(
                "This case is %(status)s; it cannot be %(action)s now.",
                status=STATUS_NAMES[case.status],
                action=ACTION_NAMES[action],
            )
        )
    actors = {acting_as} if by is None and acting_as is not None else actors_for(by, case)
    acting_as = actors & step.actors
    if not acting_as:
        raise NotPermittedError(_("You may not take this step in this case."))
    _check(step, case, acting_as, reason, note, now)
    source = case.status
    case.status = step.target
    _start_clocks(step, case, now)
    if action in (Action.terminate, Action.respondent_refuses):
        # The respondent's refusal ends mediation (People's Mediation Law art 17; art 25 (4)).
        case.termination_reason = reason or TerminationReason.party_unwilling
    db.session.flush()
    journal.append(
        case.id,
        f"case.{action}",
        {
            "from": source,
            "to": step.target,
            "as": sorted(acting_as),
            "reason": case.termination_reason if step.target == "terminated" else None,
            "note": note,
        },
        actor_id=by.id if by else None,
    )
    signals.status_changed.send(case, source=source, action=action, by=by)
    return step


def _check(
    step: Transition,
    case: Case,
    acting_as: set[Actor],
    reason: TerminationReason | None,
    note: str,
    now: datetime,
) -> None:
    if step.action == Action.terminate:
        if reason is None or reason == TerminationReason.agreement_reached:
            raise TransitionError(_("Give the reason why mediation ends."))
        staff = acting_as - set(PARTY_REASONS)
        allowed = set().union(*(PARTY_REASONS[a] for a in acting_as if a in PARTY_REASONS))
        if not staff and reason not in allowed:
            raise NotPermittedError(
                _("A party can withdraw the application or say they do not want to go on.")
            )
    if step.action == Action.accept and case.mediator_id is None:
        raise TransitionError(_("Choose the mediator before accepting the case."))
    if step.action == Action.request_confirmation:
        category = get_category(case.category)
        if category is not None and not category.judicial_confirmation:
            # SPC CPL interpretation art 355: identity relations, ownership confirmation.
            raise TransitionError(
                _("Agreements in this kind of dispute cannot be judicially confirmed.")
            )
    if step.action == Action.decline and not note.strip():
        # Art 12: an institution or mediator declining writes down why.
        raise TransitionError(_("Write down why the case is declined."))
    if step.action == Action.request_confirmation and case.signed_at is not None:
        deadline = clocks.period_end(case.signed_at, clocks.CONFIRMATION_DAYS, zone())
        if now > deadline:
            raise TransitionError(
                _("The 30 days to apply for judicial confirmation have passed (CPL art 205).")
            )


def _start_clocks(step: Transition, case: Case, now: datetime) -> None:
    action, local = step.action, zone()
    if action in (Action.submit, Action.reassign):
        case.submitted_at = case.submitted_at or now
        case.acceptance_due_at = clocks.working_days_after(
            now, clocks.ACCEPTANCE_WORKING_DAYS, local
        )
    elif action == Action.decline:
        case.acceptance_due_at = None
    elif action == Action.accept:
        case.accepted_at = now
        case.acceptance_due_at = None
        case.respondent_due_at = clocks.working_days_after(
            now, clocks.RESPONDENT_WORKING_DAYS, local
        )
        case.mediation_due_at = clocks.period_end(now, clocks.MEDIATION_DAYS, local)
    elif action in (Action.respondent_agrees, Action.respondent_refuses):
        case.respondent_due_at = None  # answered (art 15): no clock runs for the answer
    elif action == Action.all_signed:
        case.signed_at = now
    if step.target in ("terminated", "confirmed", "rejected"):
        case.closed_at = now


def already_taken(case: Case, action: Action, by: User) -> bool:
    """``by`` took ``action`` on ``case`` and nothing moved the case since: the same form
    arrived again (a double tap, a phone retrying the POST, a second tab). The case's last
    step in the journal is this one, by this person, and the case is still where it led."""
    moves = [f"case.{a}" for a in Action]
    last = db.session.scalars(
        select(JournalEntry)
        .where(JournalEntry.case_id == case.id, JournalEntry.action.in_(moves))
        .order_by(JournalEntry.seq.desc())
        .limit(1)
    ).first()
    return (
        last is not None
        and last.action == f"case.{action}"
        and last.actor_id == by.id
        and last.payload.get("to") == case.status
    )
