"""HTTP handlers of the rooms feature: the room page itself (everything after is Socket.IO)."""

from __future__ import annotations

from flask import abort, current_app, render_template
from flask_login import current_user, login_required

from mediation.core.i18n import user_zone

from . import ice
from . import operations as rooms


@login_required
def room(session_id: int):
    participant = rooms.participant_for(session_id, current_user)
    if participant is None:
        participant = rooms.participant_after_end(session_id, current_user)
    if participant is None:
        abort(403)
    # Ended: the page says so and leads to the minutes; no camera, no connection.
    ended = participant.session.ended_at is not None
    zone = user_zone(current_user)
    return render_template(
        "rooms/room.html",
        participant=participant,
        session=participant.session,
        zone=zone,
        ended=ended,
        client_config={
            "session": session_id,
            "me": participant.id,
            "role": participant.role,
            "ended": ended,
            # Chat lines are stamped in the reader's zone.
            "zone": zone.key,
            "iceServers": [] if ended else ice.servers(current_app.config, participant.id),
        },
    )
