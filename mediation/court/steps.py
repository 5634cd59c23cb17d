"""What a court may do on an application, and who does it: the court's inbox (the
applications that reached it, and none of another court's), the states each step is allowed
in (check_step: a step on an application that moved on is refused, saying what happened and
when, with the court API's code), who acts (a member of the court, a judge for rulings, or
the court's own system through the API) and the journal entry of each step.

The steps themselves: examination.py (acceptance or refusal, requests for materials, the
extension) and ruling.py (the ruling and the decision the court signs).
SPC judicial confirmation provisions arts 4-7; CPL interpretation 2022 arts 355-358.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from flask_babel import gettext as _
from sqlalchemy import select

from mediation.accounts.models import Court, Role, User
from mediation.cases.states import Actor
from mediation.cases.workflow import NotPermittedError
from mediation.core.i18n import format_when
from mediation.extensions import db
from mediation.journal import operations as journal
from mediation.journal.models import JournalEntry

from .models import OPEN, Application, ApplicationStatus

MAX_REASONS = 5_000  # the longest text (reasons, a request's words) a step takes


class StepRefusedError(NotPermittedError):
    """A step the application's state does not allow now; ``code`` says which rule (the
    court API's error code), the message says it to people (the portal)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class Step(StrEnum):
    """The court's steps on an application, each allowed in the states of ``STEP_STATES``."""

    accept = "accept"
    refuse = "refuse"
    request_materials = "request_materials"
    extend = "extend"
    rule = "rule"
    sign = "sign"  # the court's signed decision, which makes the ruling


STEP_STATES = {
    Step.accept: (ApplicationStatus.submitted,),
    Step.refuse: (ApplicationStatus.submitted,),
    Step.request_materials: OPEN,
    Step.extend: (ApplicationStatus.accepted,),
    Step.rule: (ApplicationStatus.accepted,),
    Step.sign: (ApplicationStatus.accepted,),
}


def check_step(application: Application, step: Step) -> None:
    """Refuse ``step`` when the application's state no longer (or not yet) allows it, saying
    what happened and when: a page left open, or a court's system retrying, meets an
    application the parties withdrew, the court already ruled on, refused or accepted.
    Nothing is changed. The codes are the court API's (docs/court-api.md)."""
    status = application.status
    if status in STEP_STATES[step]:
        return
    if status == ApplicationStatus.withdrawn:
        raise StepRefusedError("withdrawn", _withdrawn_words(application))
    if status in (ApplicationStatus.confirmed, ApplicationStatus.rejected):
        raise StepRefusedError("already_ruled", _ruled_words(application))
    if status == ApplicationStatus.refused:
        raise StepRefusedError(
            "already_refused",
            _(
                "The court decided on %(when)s not to accept this application. Nothing was "
                "changed.",
                when=_when(application.decided_at),
            ),
        )
    if status == ApplicationStatus.accepted:  # accept or refuse, pressed a second time
        raise StepRefusedError(
            "already_accepted",
            _(
                "The application was already accepted on %(when)s, case number %(number)s. "
                "Nothing was changed.",
                when=_when(application.accepted_at),
                number=application.court_case_number,
            ),
        )
    # Submitted, not accepted yet: the ruling and its extension come after acceptance.
    if step == Step.extend:
        raise StepRefusedError(
            "not_accepted", _("Only the time to rule on an accepted application is extended.")
        )
    raise StepRefusedError("not_accepted", _("Only an accepted application is ruled on."))


def _when(value: datetime | None) -> str:
    return format_when(value) if value is not None else "—"


def _withdrawn_words(application: Application) -> str:
    return _(
        "The parties withdrew the application on %(when)s. Nothing was changed.",
        when=_when(application.withdrawn_at),
    )


def no_longer_in_hand(application: Application) -> str:
    """Why the court's links to a withdrawn application's documents lead nowhere."""
    return _(
        "The parties withdrew the application on %(when)s: its documents are no longer "
        "available to the court.",
        when=_when(application.withdrawn_at),
    )


def _ruled_words(application: Application) -> str:
    if application.status == ApplicationStatus.confirmed:
        return _(
            "The court already ruled on %(when)s: the agreement is confirmed. Nothing was changed.",
            when=_when(application.decided_at),
        )
    return _(
        "The court already ruled on %(when)s: the application is rejected, the agreement "
        "not confirmed. Nothing was changed.",
        when=_when(application.decided_at),
    )


def done_by(application: Application, action: str, by: User | None, **payload) -> bool:
    """The application's last step in the journal is ``action`` by ``by``, with ``payload``
    (read after the application's lock, so two such requests at once see each other)."""
    if by is None:
        return False
    last = db.session.scalars(
        select(JournalEntry)
        .where(
            JournalEntry.case_id == application.case_id,
            JournalEntry.action.like("confirmation.%"),
        )
        .order_by(JournalEntry.seq.desc())
        .limit(1)
    ).first()
    return (
        last is not None
        and last.action == action
        and last.actor_id == by.id
        and last.payload.get("application") == application.id
        and all(last.payload.get(k) == v for k, v in payload.items())
    )


def applications_of(court: Court) -> list[Application]:
    """The court's inbox: what reached it (submitted), open ones first by the nearest
    deadline, then the rest, newest first."""
    found = db.session.scalars(
        select(Application)
        .where(Application.court_id == court.id, Application.submitted_at.is_not(None))
        .order_by(Application.submitted_at.desc())
    ).all()
    open_ones = sorted(
        (a for a in found if a.status in OPEN),
        key=lambda a: a.ruling_due_at or a.acceptance_due_at or a.submitted_at,
    )
    return open_ones + [a for a in found if a.status not in OPEN]


def application_of(court: Court, application_id: int) -> Application | None:
    """The application if it reached ``court`` (it was submitted there); None for another
    court's, or one still being signed (the edges answer 404 alike)."""
    found = db.session.get(Application, application_id)
    if found is None or found.court_id != court.id or found.submitted_at is None:
        return None
    return found


def examines(application: Application) -> bool:
    """The court still has the file in hand: not after the parties withdrew it."""
    return application.status != ApplicationStatus.withdrawn


def court_of(user: User) -> Court | None:
    if user.court_id is None or not user.has_role(Role.court_clerk, Role.judge):
        return None
    return user.court


def who_acts(application: Application, by: User | None, *, judge: bool = False) -> dict:
    """Who acts: a member of the application's court (a judge for rulings), or the court's
    own system through the API (``by`` None, after the token was checked)."""
    if by is None:
        return {"by": None, "acting_as": Actor.court}
    if court_of(by) is None or by.court_id != application.court_id:
        raise NotPermittedError(_("Only the court the application went to can act on it."))
    if judge and not by.has_role(Role.judge):
        raise NotPermittedError(_("Only a judge rules on an application."))
    return {"by": by}


def log_step(application: Application, action: str, acting: dict, **payload) -> None:
    by = acting.get("by")
    journal.append(
        application.case_id,
        action,
        {
            "application": application.id,
            "court": application.court.name,
            "via": "portal" if by else "court API",
            **payload,
        },
        actor_id=by.id if by else None,
    )
