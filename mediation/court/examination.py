"""The court examines an application: acceptance or refusal within 3 days with a case
number and 15 days to rule, requests for materials, and the one extension of the time to
rule (SPC judicial confirmation provisions arts 4-6; CPL interpretation 2022 arts 355-356).
Each step is checked by steps.py (who acts, which state allows it) and journaled there.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from mediation.accounts.models import Court, CourtLevel, Role, User
from mediation.cases import clocks, regions, workflow
from mediation.cases.states import Action
from mediation.core.db import utcnow
from mediation.core.forms import FieldError
from mediation.core.i18n import format_day
from mediation.extensions import db

from . import grounds, notices
from .application import RepeatedError, lock
from .models import Application, ApplicationStatus, CourtCaseCounter, SupplementRequest
from .steps import MAX_REASONS, Step, StepRefusedError, check_step, done_by, log_step, who_acts

RULING_DAYS = 15  # SPC provisions art 5
EXTENSION_DAYS = 10  # ... extendable once by 10 with the president's approval
MATERIALS_DAYS = (1, 30)  # the period a request for materials may give, in days


def _next_number(court: Court, now: datetime) -> str:
    """（2026）苏0102民特1号: the year of acceptance, the court's code (the province's
    character and the court's division: 0102 for a basic court, 01 for an intermediate one),
    民特 for a special-procedure civil case, and a serial number of the court's year, without
    leading zeros (SPC provisions on case numbers, 2015, arts 2-6, and the standard of
    case types: judicial confirmation is 民特; the old 调确字 is no longer used)."""
    year = now.astimezone(workflow.zone()).year
    # The year's first acceptances may race to create the counter: the loser's insert is a
    # no-op, and the one UPDATE below gives each its own number (as cases.next_case_number).
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    db.session.execute(
        insert(CourtCaseCounter)
        .values(court_id=court.id, year=year, last=0)
        .on_conflict_do_nothing()
    )
    last = db.session.execute(
        update(CourtCaseCounter)
        .where(CourtCaseCounter.court_id == court.id, CourtCaseCounter.year == year)
        .values(last=CourtCaseCounter.last + 1)
        .returning(CourtCaseCounter.last)
    ).scalar_one()
    province = regions.COURT_PROVINCE_CHARACTERS.get(court.region_code[:2], "")
    division = (
        court.region_code[2:4] if court.level == CourtLevel.intermediate else court.region_code[2:]
    )
    return f"（{year}）{province}{division}民特{last}号"


def accept(application: Application, *, by: User | None, now: datetime | None = None) -> None:
    """Accept within 3 days: a case number, and 15 days to rule (provisions arts 4-5)."""
    lock(application)
    acting = who_acts(application, by)
    # The same person's step again (a double tap, a retry): said done; anyone else's
    # step on an application that moved on: what happened and when (check_step).
    if application.status == ApplicationStatus.accepted and done_by(
        application, "confirmation.accepted", by
    ):
        raise RepeatedError(
            _(
                "The application was already accepted as %(number)s; the parties were told.",
                number=application.court_case_number,
            )
        )
    check_step(application, Step.accept)
    now = now or utcnow()
    application.status = ApplicationStatus.accepted
    application.accepted_at = now
    application.court_case_number = _next_number(application.court, now)
    application.clerk_id = by.id if by is not None and by.has_role(Role.court_clerk) else None
    application.ruling_due_at = clocks.period_end(now, RULING_DAYS, workflow.zone())
    db.session.flush()
    log_step(application, "confirmation.accepted", acting, number=application.court_case_number)
    notices.to_parties(application, notices.ACCEPTED, number=application.court_case_number)


def refuse(
    application: Application, ground: str, reasons: str, *, by: User | None, now=None
) -> None:
    """Not accepted, on an art 4 / art 355 ground: the case goes back to "signed"."""
    lock(application)
    acting = who_acts(application, by)
    if (
        application.status == ApplicationStatus.refused
        and application.ground == ground
        and done_by(application, "confirmation.refused", by)
    ):
        raise RepeatedError(_("The application was already not accepted; the parties were told."))
    check_step(application, Step.refuse)
    if ground not in grounds.REFUSAL:
        raise FieldError("ground", _("Choose the ground of the refusal."))
    _decided(application, ApplicationStatus.refused, ground, reasons, by, now)
    workflow.transition(application.case, Action.refuse_acceptance, now=now, **acting)
    log_step(
        application, "confirmation.refused", acting, ground=ground, reasons=application.reasons
    )
    notices.to_parties(application, notices.REFUSED, ground=grounds.REFUSAL[ground])


def request_materials(
    application: Application, text: str, days: int, *, by: User | None, now=None
) -> SupplementRequest:
    """Ask the parties for more materials by a deadline (SPC provisions art 6: the court may
    ask them to complete their statements or proofs; CPL interpretation art 356)."""
    lock(application)
    acting = who_acts(application, by)
    check_step(application, Step.request_materials)
    text = (text or "").strip()
    if not text or len(text) > MAX_REASONS:
        raise FieldError("text", _("Say what the parties should provide."))
    if not MATERIALS_DAYS[0] <= days <= MATERIALS_DAYS[1]:
        raise FieldError("days", _("Between 1 and 30 days."))
    now = now or utcnow()
    due = clocks.period_end(now, days, workflow.zone())
    # The same request again (the same words, the same deadline, by the same person or the
    # court's system, not answered yet): asked once, and the parties told once.
    last = application.requests[-1] if application.requests else None
    if last is not None and (last.text, last.due_at, last.requested_by_id, last.answered_at) == (
        text,
        due,
        by.id if by else None,
        None,
    ):
        raise RepeatedError(_("The parties were already asked for these materials."), last)
    request = SupplementRequest(
        text=text,
        due_at=due,
        requested_at=now,
        requested_by_id=by.id if by else None,
    )
    application.requests.append(request)
    db.session.flush()
    log_step(
        application,
        "confirmation.materials_requested",
        acting,
        text=text,
        due=request.due_at.isoformat(),
    )
    notices.to_parties(application, notices.MATERIALS, text=text, due=request.due_at)
    return request


def extend(application: Application, reasons: str, *, by: User | None, now=None) -> None:
    """Ten more days to rule, once, for special circumstances with the president's approval
    (SPC provisions art 5): the reasons are required and go to the journal. A second
    extension, or one after the time ran out, is refused, and the deadline stays."""
    lock(application)
    acting = who_acts(application, by, judge=True)
    now = now or utcnow()
    check_step(application, Step.extend)
    if application.extended_at is not None and done_by(
        application, "confirmation.extended", by, reasons=(reasons or "").strip()
    ):
        raise RepeatedError(
            _(
                "The time to rule was already extended; it now ends on %(day)s.",
                day=format_day(application.ruling_due_at, workflow.zone()),
            )
        )
    if application.extended_at is not None:
        raise StepRefusedError("already_extended", _("The time to rule was already extended once."))
    if now > application.ruling_due_at:
        raise StepRefusedError(
            "time_ran_out", _("The time to rule has run out; it can no longer be extended.")
        )
    reasons = (reasons or "").strip()
    if not reasons:
        raise FieldError("reasons", _("Give the reasons for extending the time to rule."))
    if len(reasons) > MAX_REASONS:
        raise FieldError("reasons", _("At most %(n)d characters.", n=MAX_REASONS))
    application.extended_at = now
    # 15 + 10 days counted from acceptance, not 10 added to a date already moved past a
    # holiday (Civil Code arts 201, 203).
    application.ruling_due_at = clocks.period_end(
        application.accepted_at, RULING_DAYS + EXTENSION_DAYS, workflow.zone()
    )
    db.session.flush()
    log_step(application, "confirmation.extended", acting, reasons=reasons)


def _decided(application, status, ground, reasons, by, now) -> None:
    if len(reasons or "") > MAX_REASONS:
        raise FieldError("reasons", _("At most %(n)d characters.", n=MAX_REASONS))
    application.status = status
    application.ground = ground
    application.reasons = (reasons or "").strip()
    application.decided_at = now or utcnow()
    application.decided_by_id = by.id if by else None
    db.session.flush()
