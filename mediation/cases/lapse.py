"""A chosen institution that did not take the case on (SPC online mediation rules art 12
para 2): the applicant or a delegating court chose it (art 10); it declined the case or let
its three working days pass. Choosing again is for whoever chose, not the platform: they
are told once for each choice (``tell``), and ``cases.signals.choice_lapsed`` lets the
court feature tell a delegating court. ``assignment`` finds the lapse; ``rechoice`` chooses
again."""

from __future__ import annotations

from datetime import datetime

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
CHOICE_LAPSED_DELEGATED = _l(
    "%(institution)s, to which the court delegated your case %(number)s, has not taken it "
    "on. You may ask the court to designate another institution (SPC online mediation rules "
    "art 12)."
)


def tell(case: Case) -> None:
    """Art 12 para 2: the institution chosen for the case (``matching.chosen_institution_id``)
    declined it or let its three working days pass; the applicants, or the court that
    delegated the case, may choose again (``rechoice.choose_again``), which the platform
    does not do for them. Told once for each choice; the case stays where it was chosen."""
    if matching.chosen_institution_id(case) is None:
        return
    if lapsed_at(case) is not None:
        return
    journal.append(
        case.id, "case.choice_lapsed", {"institution_id": case.institution_id}, actor_id=None
    )
    message = CHOICE_LAPSED_DELEGATED if delegated(case) else CHOICE_LAPSED
    for user in case.party_users(Side.applicant):
        notify.tell(user, message, number=case.number, institution=case.institution.name)
    signals.choice_lapsed.send(case)


def lapsed_at(case: Case) -> datetime | None:
    """When the institution last chosen for ``case`` was found to have declined it or let
    its days pass (art 12 para 2), while the case still waits to be accepted; None when it
    did not, or once the case was chosen again."""
    if case.status not in (CaseStatus.submitted, CaseStatus.declined):
        return None
    last = db.session.execute(
        select(JournalEntry.action, JournalEntry.created_at)
        .where(
            JournalEntry.case_id == case.id,
            JournalEntry.action.in_(
                ("case.choice_lapsed", "case.chosen_again", "case.choice_released")
            ),
        )
        .order_by(JournalEntry.seq.desc())
        .limit(1)
    ).first()
    return last.created_at if last is not None and last.action == "case.choice_lapsed" else None


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
