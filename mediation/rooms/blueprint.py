"""URL rules of the rooms feature (the rest of the room is the /room Socket.IO namespace)."""

from flask import Blueprint

from mediation.booking.cleanup import unseat_refused_agent
from mediation.cases import signals as case_signals

from . import operations, views

bp = Blueprint("rooms", __name__)

bp.add_url_rule("/sessions/<int:session_id>/room", view_func=views.room)


@case_signals.agent_refused.connect
def _refused_agent_leaves_the_calendar(case, user_id: int) -> None:
    # Booking takes the seats; the room knows which of them it records (cases/signals.py).
    unseat_refused_agent(case, user_id, kept=operations.recorded_seats(user_id))
