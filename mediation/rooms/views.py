"""HTTP handlers of the rooms feature: the room page itself (everything after is Socket.IO)."""

from __future__ import annotations

from flask import abort, current_app, render_template
from flask_babel import gettext as _
from flask_login import current_user, login_required

from mediation.accounts.forms import ethnicity_choices
from mediation.cases import agency
from mediation.cases.views import turn_away
from mediation.core.i18n import user_zone

from . import ice
from . import operations as rooms


@login_required
def room(session_id: int):
    participant = rooms.participant_for(session_id, current_user)
    if participant is None:
        participant = rooms.participant_after_end(session_id, current_user)
    if participant is None:
        # An agent the party refused, the room still open on their phone: told why.
        case_id = rooms.case_of(session_id)
        if case_id is not None and agency.was_refused(case_id, current_user):
            turn_away(case_id)
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
            "iceTransportPolicy": ice.transport_policy(current_app.config),
            "identity": _identity_step() if participant.role == "mediator" else None,
        },
    )


def _identity_step() -> dict:
    """What the mediator's identity step in the roster needs: the 56 ethnicities and its
    words (kept here, beside the list, rather than in the page's text block)."""
    return {
        "ethnicities": [list(choice) for choice in ethnicity_choices()[1:]],
        "text": {
            "id_number": _("ID number on the card"),
            "ethnicity": _("Ethnicity"),
            "none": _("None on record: type the number on the identity card."),
            "keep": _("Leave empty to keep the number on record, or type the one on the card."),
            "confirmed": _("This ID number was confirmed on camera before."),
            "not_confirmed": _("ID number not confirmed: another account holds it"),
        },
    }
