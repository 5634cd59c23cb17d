"""Who is told what about an obligation (rows of mediation/notify/table/agreement.py, stage
"followup"): the obligor before the date; the mediator and the obligee once it passed."""

from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from mediation.cases.models import Case
from mediation.core.i18n import format_day
from mediation.extensions import db
from mediation.notify import operations as notify

from . import links
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


def _mediator_link(obligation: Obligation) -> str:
    """The obligation's follow-up page: the mediator logs in with their password."""
    base = current_app.config["BASE_URL"].rstrip("/")
    return f"{base}/followup/obligations/{obligation.id}/follow-ups"


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
        link = _mediator_link(obligation)
        notify.tell(
            case.mediator, MISSED_MEDIATOR, number=case.number, what=what, due=due, link=link
        )
    if obligation.obligee is not None:
        # A personal link: the obligee may have entered the platform only by a code sent to
        # their phone, and has no password to log in with.
        obligee = obligation.obligee.user
        link = links.link_for(obligation, obligee)
        notify.tell(
            obligee,
            MISSED_OBLIGEE,
            number=case.number,
            what=what,
            due=due,
            link=link,
        )
