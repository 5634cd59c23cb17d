"""URL rules of the consultation feature."""

from flask import Blueprint
from flask_login import current_user

from . import handover_views, operations, views

bp = Blueprint("consultation", __name__, url_prefix="/consultation")

_GET_POST = ["GET", "POST"]
bp.add_url_rule("/", view_func=views.index)
bp.add_url_rule("/ask", view_func=views.ask, methods=_GET_POST)
bp.add_url_rule("/start", view_func=views.start, methods=_GET_POST)
bp.add_url_rule("/start/confirm", view_func=views.confirm, methods=_GET_POST)
bp.add_url_rule("/queue", view_func=views.queue)
bp.add_url_rule("/experts", view_func=views.experts)
bp.add_url_rule("/questions", view_func=handover_views.questions)
bp.add_url_rule("/experts/new", view_func=views.new_expert, methods=_GET_POST)
bp.add_url_rule("/<int:question_id>", view_func=views.question)
bp.add_url_rule("/<int:question_id>/take", view_func=views.take, methods=["POST"])
bp.add_url_rule("/<int:question_id>/answer", view_func=views.answer, methods=["POST"])
bp.add_url_rule(
    "/<int:question_id>/give-back", view_func=handover_views.give_back, methods=["POST"]
)
bp.add_url_rule(
    "/<int:question_id>/take-over", view_func=handover_views.take_over, methods=["POST"]
)
bp.add_url_rule("/<int:question_id>/put-back", view_func=handover_views.put_back, methods=["POST"])
bp.add_url_rule("/<int:question_id>/case", view_func=views.to_case, methods=["POST"])
bp.add_url_rule("/<int:question_id>/files/<int:attachment_id>", view_func=views.attachment)

# The asker's personal link from the text message (short: the token says which question).
links = Blueprint("consultation_links", __name__)
links.add_url_rule("/q/<token>", view_func=views.personal_link, methods=_GET_POST)


@bp.app_context_processor
def menu() -> dict:
    """For the site menu (base.html): whether the person has asked questions, read only
    when the menu asks (a party's pages)."""
    return {
        "has_questions": lambda: (
            current_user.is_authenticated and operations.has_questions(current_user)
        )
    }
