"""HTTP handlers of the rooms feature: the room page itself (everything after is Socket.IO)."""

from __future__ import annotations

from flask import abort, current_app, render_template
from flask_login import current_user, login_required

from mediation.core.i18n import user_zone
from mediation.extensions import db

from . import ice
from . import operations as rooms
from .models import Room


@login_required
def room(session_id: int):
    participant = rooms.participant_for(session_id, current_user)
    if participant is None:
        abort(403)
    return render_template(
        "rooms/room.html",
        participant=participant,
        session=participant.session,
        zone=user_zone(current_user),
        client_config={
            "session": session_id,
            "me": participant.id,
            "role": participant.role,
            "iceServers": ice.servers(current_app.config, participant.id),
        },
    )


def room_ended(session_id: int) -> bool:
    """Whether the mediator has ended the session's room (nobody is to enter it again)."""
    room = db.session.get(Room, session_id)
    return room is not None and room.ended_at is not None
