"""URL rules of the rooms feature (the rest of the room is the /room Socket.IO namespace)."""

from flask import Blueprint

from . import views

bp = Blueprint("rooms", __name__)

bp.add_url_rule("/sessions/<int:session_id>/room", view_func=views.room)
