"""What the parties and the court are told at each step of judicial confirmation, and who at
a court is told (``staff_told``)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from mediation.accounts.models import Court, Role, User
from mediation.notify import operations as notify

from .models import Application

TO_COURT = _l(
    "A new application for judicial confirmation (case %(number)s) is waiting; decide within "
    "3 days whether to accept it."
)
ACCEPTED = _l(
    "Case %(case)s: %(court)s accepted your application for judicial confirmation as "
    "%(number)s; it rules within 15 days."
)
REFUSED = _l(
    "Case %(case)s: %(court)s did not accept your application for judicial confirmation: "
    "%(ground)s. You may apply to a competent court within the 30 days."
)
MATERIALS = _l("Case %(case)s: %(court)s asks for more materials by %(due)s: %(text)s")
CONFIRMED = _l(
    "Case %(case)s: %(court)s confirmed your mediation agreement. If a party does not perform "
    "it, the other may apply to the court for enforcement (CPL art 206)."
)
REJECTED = _l(
    "Case %(case)s: %(court)s did not confirm your mediation agreement: %(ground)s. You may "
    "change it by mediation again, or go to court (CPL art 206)."
)
SIGN_ASKED = _l(
    "Case %(number)s: an application to %(court)s for judicial confirmation of your mediation "
    "agreement awaits your signature. Read and sign it: %(link)s"
)
WITHDRAWN = _l("Case %(number)s: the parties withdrew their application for judicial confirmation.")


def ask_to_sign(application: Application, person, link: str) -> None:
    """The joint application (SPC provisions on judicial confirmation art 2) is signed by
    every party in turn: whoever is next is told, with their own link."""
    notify.tell(
        person,
        SIGN_ASKED,
        number=application.case.number,
        court=application.court.name,
        link=link,
    )


def staff_told(court: Court) -> list[User]:
    """Who at ``court`` is told of what waits for it: its active clerks and judges."""
    return [p for p in court.staff if p.active and p.has_role(Role.court_clerk, Role.judge)]


def to_court(application: Application) -> None:
    for person in staff_told(application.court):
        notify.tell(person, TO_COURT, number=application.case.number)


def to_parties(application: Application, message, **params) -> None:
    case = application.case
    for party in case.parties:
        notify.tell(party.user, message, case=case.number, court=application.court.name, **params)


def withdrawn(application: Application) -> None:
    for person in staff_told(application.court):
        notify.tell(person, WITHDRAWN, number=application.case.number)
