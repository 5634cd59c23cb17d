"""A choice that did not take the case on (SPC online mediation rules art 12 para 2: "调解
组织或者调解员不予接受或者超过规定期限未予确认的"): the applicant or a delegating court chose
an institution, or the applicant a mediator by name (art 10); it declined the case or let
its three working days pass. Choosing again is for whoever chose, not the platform: they
are told once for each choice (``tell``), and ``cases.signals.choice_lapsed`` lets the
court feature tell a delegating court. ``assignment`` finds the lapse; ``rechoice`` chooses
again."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from mediation.extensions import db
from mediation.journal import operations as journal
from mediation.journal.models import JournalEntry
from mediation.notify import operations as notify

from . import matching, signals, workflow
from .models import Case, Side
from .states import Actor, CaseStatus

# Art 12 para 2: the institution chosen declined the case or let its days pass; choosing
# again is for the applicant (art 10: the parties), or for the court that delegated it.
CHOICE_LAPSED = _l(
    "%(institution)s, chosen to mediate your case %(number)s, has not taken it on. You may "
    "choose another institution on the case page, or wait (SPC online mediation rules art 12)."
)
CHOICE_LAPSED_MEDIATOR = _l(
    "Mediator %(mediator)s, whom you chose to mediate your case %(number)s, has not taken it "
    "on. You may choose another mediator or institution on the case page (SPC online "
    "mediation rules art 12)."
)
CHOICE_LAPSED_DELEGATED = _l(
    "%(institution)s, to which the court delegated your case %(number)s, has not taken it "
    "on. You may ask the court to designate another institution (SPC online mediation rules "
    "art 12)."
)


class Lapse(NamedTuple):
    """A choice found not taken on (``lapsed``): when, and whose: the mediator chosen by
    name, or else the institution; ``refused`` when the institution declined the case
    (rather than letting its days pass), so that waiting for it is no use."""

    at: datetime
    institution_id: int | None
    mediator_id: int | None
    refused: bool = False


def tell(case: Case, *, refused: bool = False) -> None:
    """Art 12 para 2: the choice that binds the case (``matching.last_choice``) declined it
    or let its three working days pass: the mediator chosen by name, while they still hold
    it, or else the institution chosen (``refused``: its administrator declined the case).
    The applicants, or the court that delegated the case, may choose again
    (``rechoice.choose_again``), which the platform does not do for them. Told once for each
    choice."""
    choice = matching.last_choice(case)
    found = lapsed(case) if choice is not None else None
    if choice is None or (found is not None and not (refused and found.mediator_id)):
        # Told already; but a mediator's lapse followed by the institution's refusal is a
        # new one: the institution itself may not be chosen again now.
        return
    # The mediator chosen lapsed only while they still hold the case: once the institution
    # gave it to another of its mediators, the one who lets it lapse is the institution.
    named = choice.mediator_id is not None and choice.mediator_id == case.mediator_id
    mediator = case.mediator if named and not refused else None
    journal.append(
        case.id,
        "case.choice_lapsed",
        {
            "institution_id": case.institution_id,
            "mediator_id": mediator and mediator.id,
            "refused": refused and mediator is None,
        },
        actor_id=None,
    )
    if delegated(case):
        message, values = CHOICE_LAPSED_DELEGATED, {"institution": case.institution.name}
    elif mediator is not None:
        message, values = CHOICE_LAPSED_MEDIATOR, {"mediator": mediator.real_name}
    else:
        message, values = CHOICE_LAPSED, {"institution": case.institution.name}
    for user in case.party_users(Side.applicant):
        notify.tell(user, message, number=case.number, **values)
    signals.choice_lapsed.send(case)


def lapsed(case: Case) -> Lapse | None:
    """The last choice for ``case`` found not taken on (art 12 para 2), while the case still
    waits to be accepted; None when there was none, or once the case was chosen again."""
    if case.status not in (CaseStatus.submitted, CaseStatus.declined):
        return None
    last = db.session.execute(
        select(JournalEntry.action, JournalEntry.created_at, JournalEntry.payload)
        .where(
            JournalEntry.case_id == case.id,
            JournalEntry.action.in_(
                ("case.choice_lapsed", "case.chosen_again", "case.choice_released")
            ),
        )
        .order_by(JournalEntry.seq.desc())
        .limit(1)
    ).first()
    if last is None or last.action != "case.choice_lapsed":
        return None
    payload = last.payload or {}
    return Lapse(
        last.created_at,
        payload.get("institution_id"),
        payload.get("mediator_id"),
        payload.get("refused") is True,
    )


def delegated(case: Case) -> bool:
    """Whether a court delegated ``case`` (court/delegation.py journals it): then the court,
    not the applicants, chooses again (art 12 para 2)."""
    return bool(
        db.session.scalar(
            select(func.count())
            .select_from(JournalEntry)
            .where(JournalEntry.case_id == case.id, JournalEntry.action == "delegation.received")
        )
    )


def chooses_again(user, case: Case) -> bool:
    """Whether ``user`` is who chooses another institution for ``case`` (art 12 para 2): an
    applicant (or their confirmed agent) of a case they filed; a delegated case's court
    designates through its own feature (court/delegation.py)."""
    return Actor.applicant in workflow.actors_for(user, case) and not delegated(case)
