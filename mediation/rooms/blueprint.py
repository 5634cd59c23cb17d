"""URL rules of the rooms feature (the rest of the room is the /room Socket.IO namespace)."""

from flask import Blueprint

from . import views

bp = Blueprint("rooms", __name__)

bp.add_url_rule("/sessions/<int:session_id>/room", view_func=views.room)


@bp.app_context_processor
def room_helpers() -> dict:
    """For pages of other features that offer to enter a room (the case page, calendars)."""
    return {"room_ended": views.room_ended}
