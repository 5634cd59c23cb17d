"""What the court is told of an application the parties withdrew: who withdrew it, when,
and that its files are no longer the court's to read.

SPC judicial confirmation provisions art 5 para 2: before the decision, one or both parties
may withdraw the application, and the court permits it (CPL interpretation 2022 art 357: it
may rule to permit it). The court therefore needs to know which party withdrew, and when;
with the withdrawal its examination ends, and with it the access to the application's
documents and the joint sessions' recordings that the examination gave it
(``steps.examines``, ``recording.access.court_reviews``)."""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import select

from mediation.accounts.models import Role, User
from mediation.cases.models import Case
from mediation.core.i18n import format_when
from mediation.extensions import db
from mediation.journal.models import JournalEntry
from mediation.recording import signals as recording_signals

from .models import Application, ApplicationStatus


def _who(application: Application) -> str | None:
    """The name of the party who withdrew (their agent named as such), from the journal."""
    entry = db.session.scalars(
        select(JournalEntry)
        .where(
            JournalEntry.case_id == application.case_id,
            JournalEntry.action == "confirmation.withdrawn",
        )
        .order_by(JournalEntry.seq.desc())
    )
    found = next((e for e in entry if e.payload.get("application") == application.id), None)
    if found is None or found.actor_id is None:
        return None
    row = next((p for p in application.case.parties if p.user_id == found.actor_id), None)
    if row is None:
        return None
    name = row.named_name or row.user.real_name
    if row.is_agent and row.represents is not None:
        return _("%(agent)s, agent of %(party)s", agent=name, party=row.represents.real_name)
    return name


def words(application: Application) -> str:
    """Who withdrew the application and when, and what the court no longer has."""
    when = format_when(application.withdrawn_at) if application.withdrawn_at else "—"
    who = _who(application)
    if who is None:  # not known from the journal: the parties, as the court was told
        return _(
            "The parties withdrew the application on %(when)s: its documents are no longer "
            "available to the court.",
            when=when,
        )
    return _(
        "%(who)s withdrew the application for judicial confirmation on %(when)s: its "
        "documents and the recordings of the sessions are no longer available to the court.",
        who=who,
        when=when,
    )


def _withdrawn_at_court(case: Case, user: User) -> Application | None:
    """The application of ``case`` that reached ``user``'s court and was withdrawn, when no
    other one of the case is before that court now."""
    if user.court_id is None or not user.has_role(Role.court_clerk, Role.judge):
        return None
    found = db.session.scalars(
        select(Application)
        .where(
            Application.case_id == case.id,
            Application.court_id == user.court_id,
            Application.submitted_at.is_not(None),
        )
        .order_by(Application.id.desc())
    ).all()
    if not found or any(a.status != ApplicationStatus.withdrawn for a in found):
        return None
    return found[0]


@recording_signals.access_ended.connect
def _recordings(case: Case, *, user: User, **_ignored: object) -> recording_signals.Ended | None:
    """A clerk or judge of the court the parties applied to, whose page still shows a joint
    session's recording: told who withdrew the application and when, not a blank 404. Only
    they: the application's page was theirs to read before and stays so."""
    application = _withdrawn_at_court(case, user)
    if application is None:
        return None
    return recording_signals.Ended(
        words(application),
        url_for("court.detail", application_id=application.id),
        _("Back to the application"),
    )
