"""Who is told what about an obligation (rows of mediation/notify/table.py, stage
"followup"): the obligor before the date; the mediator and the obligee once it passed."""

from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from mediation.cases.models import Case
from mediation.core.i18n import format_day
from mediation.extensions import db
from mediation.notify import operations as notify

from .models import Obligation

REMINDER = _l(
    "Reminder from the mediation platform: under the agreement of case %(number)s you are "
    "to %(what)s by %(due)s. Please perform it on time."
)
MISSED_MEDIATOR = _l(
    "The obligation \u201c%(what)s\u201d of case %(number)s was due on %(due)s and has not "
    "been confirmed as performed. Please follow it up: %(link)s"
)
MISSED_OBLIGEE = _l(
    "The obligation \u201c%(what)s\u201d of case %(number)s was due on %(due)s. If it has "
    "been performed, please confirm it here: %(link)s"
)


def _short(text: str) -> str:
    return text if len(text) <= 30 else text[:29] + "\u2026"


def _link(obligation: Obligation, action: str) -> str:
    """The obligation's page for ``action`` (confirm, follow-ups); it asks to log in."""
    base = current_app.config["BASE_URL"].rstrip("/")
    return f"{base}/followup/obligations/{obligation.id}/{action}"


def _day(obligation: Obligation) -> LazyString:
    """The date written in the recipient's language (notify.tell renders it in theirs)."""
    return LazyString(format_day, obligation.due_on)


def reminder(obligation: Obligation) -> None:
    if obligation.obligor is None:
        return
    case = db.session.get(Case, obligation.case_id)
    notify.tell(
        obligation.obligor.user,
        REMINDER,
        number=case.number,
        what=_short(obligation.description),
        due=_day(obligation),
    )


def missed(obligation: Obligation) -> None:
    case = db.session.get(Case, obligation.case_id)
    what, due = _short(obligation.description), _day(obligation)
    if case.mediator is not None:
        link = _link(obligation, "follow-ups")
        notify.tell(
            case.mediator, MISSED_MEDIATOR, number=case.number, what=what, due=due, link=link
        )
    if obligation.obligee is not None:
        link = _link(obligation, "confirm")
        notify.tell(
            obligation.obligee.user,
            MISSED_OBLIGEE,
            number=case.number,
            what=what,
            due=due,
            link=link,
        )
