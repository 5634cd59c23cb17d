"""The minutes PDF: what the template needs, gathered from the case, the room's own
record of who attended, the recordings' hashes and the parties' reviews."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from agreements.render import render_pdf
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


def render(session: MediationSession, minutes: Minutes) -> bytes:
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
    return render_pdf(
        "minutes.html",
        case=session.case,
        session=session,
        minutes=minutes,
        sections=[(name, [p for p in numbered if p.section == name]) for name in SECTIONS],
        disputes=disputes_by_passage(minutes),
        attended=attended,
        recordings=recordings,
        gaps=gaps.of_session(session.id),
        gap_names=gaps.names(session.id),
        reviews=minutes.reviews,
        side_names=SIDE_NAMES,
        room=room,
        at=at,
        made_at=at(utcnow()),
    )
