"""The minutes PDF: what the template needs, gathered from the case, the room's own
record of who attended, the recordings' hashes and the parties' reviews."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from agreements.render import pdf_of, render_html
from mediation.accounts.models import User
from mediation.booking.models import MediationSession
from mediation.cases.labels import SIDE_NAMES
from mediation.core.db import utcnow
from mediation.core.i18n import format_day
from mediation.extensions import db
from mediation.recording import gaps
from mediation.recording.models import Recording
from mediation.rooms.models import Room, RoomMember

from .models import SECTIONS, Minutes
from .passages import disputes_by_passage, passages


class Printed(NamedTuple):
    """A party's review as the PDF prints it."""

    user: User
    confirmed_at: datetime | None
    disputes: list[dict[str, Any]]


def printed(minutes: Minutes) -> list[Printed]:
    """The minutes' reviews as they stand."""
    return [Printed(r.user, r.confirmed_at, r.disputes or []) for r in minutes.reviews]


def render(session: MediationSession, minutes: Minutes, closed_by: User | None = None) -> bytes:
    """The PDF of the minutes as they stand, made now."""
    return pdf_of(html(session, minutes, printed(minutes), closed_by=closed_by, now=utcnow()))


def html(
    session: MediationSession,
    minutes: Minutes,
    reviews: list[Printed],
    *,
    closed_by: User | None,
    now: datetime,
) -> str:
    """The PDF's HTML (cheap; the PDF is ``pdf_of`` it, which takes seconds), with the
    reviews as ``reviews`` say (a step that makes the PDF before its lock prints them as
    it will leave them), made ``now``. ``closed_by``: the mediator who closed the review
    (None when the last answer made the minutes final)."""
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])

    def at(value):
        # The day as everywhere (core.i18n.format_day), the time to the second: the record
        # of who was there when.
        if not value:
            return ""
        return f"{format_day(value, zone)}{value.astimezone(zone):%H:%M:%S}"

    room = db.session.get(Room, session.id)
    attended = db.session.scalars(
        select(RoomMember)
        .where(RoomMember.session_id == session.id, RoomMember.admitted_at.is_not(None))
        .order_by(RoomMember.admitted_at)
    ).all()
    recordings = db.session.scalars(
        select(Recording)
        .where(Recording.session_id == session.id, Recording.sha256.is_not(None))
        .order_by(Recording.started_at)
    ).all()
    numbered = passages(minutes)
    # A mediator the case was given to after the session (SPC online mediation rules arts
    # 13, 14) who amended the minutes or closed their review is named: the record says who
    # decided, beside the mediator who held the session (People's Mediation Law art 27).
    amended_by = (
        db.session.get(User, minutes.updated_by_id)
        if minutes.updated_by_id not in (None, session.mediator_id)
        else None
    )
    if closed_by is not None and closed_by.id == session.mediator_id:
        closed_by = None
    return render_html(
        "minutes.html",
        case=session.case,
        session=session,
        minutes=minutes,
        sections=[(name, [p for p in numbered if p.section == name]) for name in SECTIONS],
        disputes=disputes_by_passage(reviews),
        attended=attended,
        recordings=recordings,
        gaps=gaps.of_session(session.id),
        gap_names=gaps.names(session.id),
        reviews=reviews,
        side_names=SIDE_NAMES,
        room=room,
        at=at,
        made_at=at(now),
        amended_by=amended_by,
        closed_by=closed_by,
    )
