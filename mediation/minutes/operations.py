"""Writing the minutes. Operations flush and journal; the edges commit."""

from __future__ import annotations

from functools import cache as memoized
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import bindparam, select

from mediation.accounts.models import User
from mediation.booking.models import MediationSession
from mediation.cases.workflow import NotPermittedError
from mediation.core.db import utcnow
from mediation.core.forms import FieldError
from mediation.core.hardening import unstorable
from mediation.extensions import db
from mediation.journal import operations as journal

from . import review
from .models import SECTIONS, Minutes

MAX_SECTION = 20_000


def of_session(session_id: int) -> Minutes | None:
    return db.session.get(Minutes, session_id)


def text_of(session_id: int) -> dict[str, Any] | None:
    """The minutes' sections and version as plain values (what the mediator's room shows on
    each connect: issue 18, cheap joins, loads no object), or None before the first save."""
    db.session.flush()  # as the ORM's autoflush
    row = db.session.connection().execute(_text_query(), {"session": session_id}).one_or_none()
    return None if row is None else row._asdict()


@memoized
def _text_query():
    table = Minutes.__table__
    columns = [table.c[name] for name in (*SECTIONS, "version")]
    return select(*columns).where(table.c.session_id == bindparam("session"))


def save(session: MediationSession, fields: dict[str, str], *, by: User) -> Minutes:
    """The mediator records the minutes (every save is a new version, journaled with the
    text as saved, so nothing said is lost by a later edit). A change during the parties'
    review sends the new version for review again: confirmations were of other words. The
    case's mediator writes them, also after the case was given to them from the mediator
    who held the session (``review.acts_as_mediator``)."""
    if not review.acts_as_mediator(session, by):
        raise NotPermittedError(_("Only the mediator writes the minutes."))
    # Every save takes the case's turn first (core/locks.py: the order of locks): the
    # room's end holds it while it marks the session held and sends the minutes for
    # review, and a save holding the session's or the minutes' row while it waited for the
    # journal was a deadlock. The first save, perhaps twice at once (a double tap on a slow
    # network), so makes the minutes once: the other one reads them after it.
    journal.turn(session.case_id)
    minutes = of_session(session.id)
    if minutes is not None:
        review.lock(minutes)
    if minutes is not None and minutes.finalised_at is not None:
        raise NotPermittedError(_("The minutes are final: the review has ended."))
    unknown = set(fields) - set(SECTIONS)
    if unknown:
        raise FieldError(sorted(unknown)[0], _("Unknown part of the minutes."))
    for name, text in fields.items():
        if not isinstance(text, str) or len(text) > MAX_SECTION:
            raise FieldError(name, _("At most %(n)d characters.", n=MAX_SECTION))
        if unstorable(text):  # NUL, or a lone surrogate (the room sends JSON)
            raise FieldError(name, _("This text contains characters that cannot be stored."))
    if minutes is None:
        minutes = Minutes(session_id=session.id, version=0)
        db.session.add(minutes)
    elif all(
        # Saved from the form before its line breaks came as typed (CR LF then): the same.
        (getattr(minutes, name) or "").replace("\r\n", "\n") == (text or "").strip()
        for name, text in fields.items()
    ):
        return minutes  # nothing changed: no new version, and the review goes on
    for name, text in fields.items():
        setattr(minutes, name, text.strip())
    minutes.version = (minutes.version or 0) + 1
    minutes.updated_at = utcnow()
    minutes.updated_by_id = by.id
    db.session.flush()
    # A session held with one side alone (SPC online mediation rules art 16): its words
    # are that side's, so the journal keeps their hash and the words are sealed for it.
    journal.append(
        session.case_id,
        "minutes.saved",
        {"session_id": session.id, "version": minutes.version, **({} if session.side else fields)},
        actor_id=by.id,
        sealed=dict(fields) if session.side else None,
        side=session.side,
    )
    if minutes.review_version is not None:
        review.open_review(session, minutes, by=by)
    return minutes


def session_ended(session: MediationSession) -> None:
    """Ending a session sends minutes already written to the parties for review."""
    minutes = of_session(session.id)
    if minutes is not None and minutes.written() and minutes.review_version is None:
        review.open_review(session, minutes, by=None)


def written(session_id: int) -> bool:
    minutes = of_session(session_id)
    return minutes is not None and minutes.written()
