"""The same request arriving twice: a double tap, a phone resending the POST, two tabs.

The booking operations take the mediator's calendar lock first, so the second request
waits for the first one's commit; then these read what the first one stored (several
processes serve requests: nothing is remembered in memory) and say whether it already did
what the second asks. The second is then answered as the first was, and nothing is done
or sent twice. A different request that collides with the first (another case at the
time just booked, the same case with another note, a cancellation for another reason) is
not the same one, and is refused as before.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from mediation.accounts.models import User
from mediation.cases.models import Case
from mediation.cases.workflow import NotPermittedError
from mediation.core.db import utcnow
from mediation.extensions import db
from mediation.journal.models import JournalEntry

from .models import JoinsFrom, MediationSession, SessionStatus
from .slots import SlotUnavailableError

# A repeat within this window is the same request arriving twice, not a new need: a double
# tap comes within a second, and a phone on a weak network retries its POST within a minute
# or so (browsers and proxies give up on a request after 30-60 s, and the user taps again
# on a page that seemed stuck). Where a real new need can come that soon (a link gone to
# the wrong hands, noticed a minute after it was sent), the form says which request it is
# (resending links: ``links_shown``), and only the same form again is a repeat.
REPEAT_WINDOW = timedelta(minutes=2)


class BookedAlreadyError(SlotUnavailableError):
    """The same booking form arrived again: the time is taken, by what the first one
    booked (``sessions``). Nothing is booked or sent twice; the page answers as it did the
    first time. (To any other caller, the time is taken.)"""

    def __init__(self, sessions: list[MediationSession]) -> None:
        super().__init__("taken")
        self.sessions = sessions


class StartedAlreadyError(NotPermittedError):
    """The same "start now" arrived again: ``session`` is the one it started."""

    def __init__(self, session: MediationSession) -> None:
        super().__init__(_("A session of this case is open now: enter its room."))
        self.session = session


class CancelledAlreadyError(NotPermittedError):
    """The same cancellation arrived again: the session is cancelled, everyone was told."""

    def __init__(self) -> None:
        super().__init__(_("This session is already cancelled."))


class MovedAlreadyError(Exception):
    """The same move arrived again: the session is at the time asked for, moved there by
    this form a moment ago, and everyone was told. Nothing is moved or sent twice; the page
    says the session is moved, as the first time."""


class GuestInvitedAlreadyError(Exception):
    """The person is already invited in this very capacity: the same form arrived again.
    Nothing is sent twice, and the page says the person was invited."""


class LinksJustSentError(Exception):
    """The same "send the links again" form arrived again (``links_renewed_from``): a
    second tap, a phone resending the POST, a second tab showing the same links. The links
    it asked to replace are replaced already, and the new ones were sent (or wait for
    their turn to the number); nothing is renewed or sent twice, and the page answers as
    the first time."""


def _journaled_by(session: MediationSession, action: str, by: User) -> JournalEntry | None:
    """The newest ``action`` on ``session`` in its case's journal, if ``by`` made it within
    the window."""
    entries = db.session.scalars(
        select(JournalEntry)
        .where(
            JournalEntry.case_id == session.case_id,
            JournalEntry.action == action,
            JournalEntry.created_at > utcnow() - REPEAT_WINDOW,
        )
        .order_by(JournalEntry.seq.desc())
    )
    entry = next((e for e in entries if e.payload.get("session_id") == session.id), None)
    return entry if entry is not None and entry.actor_id == by.id else None


def refuse_booked_just_now(
    case: Case,
    by: User,
    starts: Sequence[datetime],
    minutes: int,
    side: str | None,
    at_site: Collection[int],
    note: str,
    *,
    offered: bool,
) -> None:
    """``BookedAlreadyError`` if ``by`` booked (or, ``offered``, offered together) these
    times for ``case`` within the window with exactly this form: the same times and length,
    the same side, the same parties at the office and the same note.

    Call with the calendar locked, so after the first request's commit: the rows it wrote
    are read again (``populate_existing``), not taken from what this session loaded."""
    made = db.session.scalars(
        select(MediationSession)
        .where(
            MediationSession.case_id == case.id,
            MediationSession.created_by_id == by.id,
            MediationSession.created_at > utcnow() - REPEAT_WINDOW,
            MediationSession.status
            == (SessionStatus.offered if offered else SessionStatus.scheduled),
        )
        .order_by(MediationSession.start_at)
        .execution_options(populate_existing=True)
    ).all()
    together: dict[str, list[MediationSession]] = {}
    for session in made:
        # A booked time is not one fixed from an offer, nor an offered one booked.
        if offered == (session.offer_key is not None):
            together.setdefault(session.offer_key or str(session.id), []).append(session)
    length = timedelta(minutes=minutes)
    for sessions in together.values():
        if sorted(s.start_at for s in sessions) == sorted(set(starts)) and all(
            _same_form(s, length, side, at_site, note) for s in sessions
        ):
            raise BookedAlreadyError(sessions)


def _same_form(
    session: MediationSession,
    length: timedelta,
    side: str | None,
    at_site: Collection[int],
    note: str,
) -> bool:
    invited = {p.user_id for p in session.participants}
    at_office = {p.user_id for p in session.participants if p.joins_from == JoinsFrom.site}
    return (
        session.end_at - session.start_at == length
        and session.side == side
        and session.note == note.strip()
        and at_office == set(at_site) & invited
    )


def started_just_now(session: MediationSession, by: User) -> bool:
    """``session`` (open now) is the one ``by`` started at once within the window."""
    return _journaled_by(session, "session.started_now", by) is not None


def cancelled_just_now(session: MediationSession, by: User, reason: str) -> bool:
    """``session`` (cancelled) was cancelled by ``by`` within the window, for ``reason``."""
    entry = _journaled_by(session, "session.cancelled", by)
    return entry is not None and entry.payload.get("reason") == reason


def moved_just_now(
    session: MediationSession, by: User, start: datetime, length: timedelta, reason: str
) -> bool:
    """``session`` (read again under the calendar lock) was moved to ``start`` for
    ``length`` by ``by`` within the window, for ``reason``: the newest move of it, so a move
    elsewhere since (and back) is not mistaken for this one."""
    entry = _journaled_by(session, "session.rescheduled", by)
    return (
        entry is not None
        and entry.payload.get("reason") == reason
        and session.start_at == start
        and session.end_at - session.start_at == length
    )


def _renewals(
    session: MediationSession, since: datetime | None = None, action: str = "session.links_renewed"
) -> list[JournalEntry]:
    """The renewals of ``session``'s links (or its other ``action``), newest first (those
    after ``since``)."""
    query = select(JournalEntry).where(
        JournalEntry.case_id == session.case_id,
        JournalEntry.action == action,
    )
    if since is not None:
        query = query.where(JournalEntry.created_at > since)
    entries = db.session.scalars(query.order_by(JournalEntry.seq.desc()))
    return [e for e in entries if e.payload.get("session_id") == session.id]


def links_renewed_since(session: MediationSession, since: datetime) -> int:
    """How many times ``session``'s links were renewed after ``since``."""
    return len(_renewals(session, since))


def moved_since(session: MediationSession, since: datetime) -> int:
    """How many times ``session`` was moved after ``since``."""
    return len(_renewals(session, since, "session.rescheduled"))


def links_shown(session: MediationSession) -> str:
    """Which links of ``session`` a page shows its "send the links again" form with: the
    journal's number of their renewal ("0": the links sent when it was booked). The form
    carries it, so every request from it names the links it means to replace: a double
    tap, a retried POST or a second tab of the same page name the same ones, a page shown
    after they were renewed names the new ones. Not a secret: it only tells requests apart
    (the CSRF token keeps others out)."""
    newest = next(iter(_renewals(session)), None)
    return str(newest.seq) if newest is not None else "0"


def links_renewed_from(session: MediationSession, shown: str, now: datetime) -> bool:
    """The links ``shown`` (``links_shown``) were renewed by a request that named them,
    within the window: this request is that one again. Call with the calendar locked, so
    after the first request's commit."""
    return any(e.payload.get("form") == shown for e in _renewals(session, now - REPEAT_WINDOW))
