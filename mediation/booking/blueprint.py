"""URL rules of the booking feature."""

from flask import Blueprint

from mediation.cases import signals

from . import join_views, links, views
from .calendar import next_of_cases, of_case, open_to
from .cleanup import cancel_for_new_mediator
from .forms import WEEKDAYS, GuestForm, StartNowForm
from .repeats import links_shown
from .views import session_statuses

bp = Blueprint("booking", __name__)

_GET_POST = ["GET", "POST"]
# The mediator's side.
bp.add_url_rule("/booking/availability", view_func=views.availability_page)
bp.add_url_rule("/booking/availability/settings", view_func=views.save_settings, methods=["POST"])
bp.add_url_rule("/booking/availability/rules", view_func=views.add_rule, methods=["POST"])
bp.add_url_rule("/booking/availability/exceptions", view_func=views.add_exception, methods=["POST"])
bp.add_url_rule(
    "/booking/availability/<kind>/<int:entry_id>/delete",
    view_func=views.remove_entry,
    methods=["POST"],
)
bp.add_url_rule("/booking/calendar", view_func=views.week_calendar)
bp.add_url_rule("/reception", view_func=views.reception)
bp.add_url_rule("/booking/feed/renew", view_func=views.renew_feed, methods=["POST"])
bp.add_url_rule("/booking/feed/<token>.ics", view_func=views.feed)
bp.add_url_rule("/cases/<int:case_id>/sessions/new", view_func=views.new_session, methods=_GET_POST)
bp.add_url_rule("/cases/<int:case_id>/sessions/now", view_func=views.start_now, methods=["POST"])
bp.add_url_rule(
    "/sessions/<int:session_id>/reschedule", view_func=views.reschedule, methods=_GET_POST
)
bp.add_url_rule("/sessions/<int:session_id>/cancel", view_func=views.cancel, methods=["POST"])
bp.add_url_rule("/sessions/<int:session_id>/resend", view_func=views.resend_links, methods=["POST"])
bp.add_url_rule("/sessions/<int:session_id>/guests", view_func=views.invite_guest, methods=["POST"])

# The participants' side; /s/<token> is the personal link sent by SMS, so it is short.
bp.add_url_rule("/sessions/", view_func=join_views.my_sessions)
bp.add_url_rule("/sessions/<int:session_id>.ics", view_func=join_views.session_ics)
bp.add_url_rule(
    "/cases/<int:case_id>/separate-sessions",
    view_func=join_views.separate_sessions,
    methods=["POST"],
)
# POST: someone else logged in on the device logs out there and goes on (personal_links).
bp.add_url_rule("/s/<token>", view_func=join_views.join, methods=_GET_POST)
bp.add_url_rule("/s/<token>/choose", view_func=join_views.choose, methods=["POST"])
bp.add_url_rule("/s/<token>/check", view_func=join_views.device_check)
bp.add_url_rule("/s/<token>/enter", view_func=join_views.enter, methods=["POST"])
bp.add_url_rule("/s/<token>/code", view_func=join_views.send_code, methods=["POST"])
bp.add_url_rule("/s/<token>/verify", view_func=join_views.verify, methods=["POST"])
bp.add_url_rule("/s/<token>/ping", view_func=join_views.ping, methods=_GET_POST)


@signals.mediator_changed.connect
def _sessions_follow_the_mediator(case, previous: int | None = None) -> None:
    cancel_for_new_mediator(case)


@bp.app_context_processor
def booking_helpers() -> dict:
    """For the case page and the caseload, which belong to the cases feature."""
    return {
        "case_sessions": of_case,
        "next_sessions": next_of_cases,
        "session_statuses": session_statuses,
        "weekday_names": dict(WEEKDAYS),
        "guest_form": GuestForm,
        "open_sessions_for": open_to,
        "session_open_now": lambda s: links.window_open(s.status, s.start_at, s.end_at),
        "start_now_form": StartNowForm,
        "links_shown": links_shown,
    }
