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
