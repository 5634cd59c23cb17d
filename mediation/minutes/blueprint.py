"""URL rules of the minutes feature."""

from flask import Blueprint

from mediation.cases import signals as case_signals

from . import operations, review, views

bp = Blueprint("minutes", __name__)


@bp.app_context_processor
def _minutes_helpers() -> dict:
    # The case page (a lower feature's template) asks whether a session's minutes wait for
    # the mediator's decision on a dispute, without the booking feature knowing minutes.
    return {
        "minutes_disputed": lambda session_id: review.awaits_mediator(
            operations.of_session(session_id)
        ),
        "minutes_to_decide": review.to_decide,
    }


_GET_POST = ["GET", "POST"]
bp.add_url_rule("/sessions/<int:session_id>/minutes", view_func=views.page, methods=_GET_POST)
bp.add_url_rule(
    "/sessions/<int:session_id>/minutes/review", view_func=views.answer, methods=["POST"]
)
bp.add_url_rule(
    "/sessions/<int:session_id>/minutes/send", view_func=views.send_for_review, methods=["POST"]
)
bp.add_url_rule("/sessions/<int:session_id>/minutes/close", view_func=views.close, methods=["POST"])
bp.add_url_rule("/sessions/<int:session_id>/minutes.pdf", view_func=views.document)
bp.add_url_rule("/m/<token>", view_func=views.personal_link, methods=_GET_POST)


@case_signals.agent_refused.connect
def _refused_agent_reviews_nothing(case, user_id: int) -> None:
    review.drop_refused_agent(case.id, user_id)
