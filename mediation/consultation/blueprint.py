"""URL rules of the consultation feature."""

from flask import Blueprint

from . import views

bp = Blueprint("consultation", __name__, url_prefix="/consultation")

_GET_POST = ["GET", "POST"]
bp.add_url_rule("/", view_func=views.index)
bp.add_url_rule("/ask", view_func=views.ask, methods=_GET_POST)
bp.add_url_rule("/start", view_func=views.start, methods=_GET_POST)
bp.add_url_rule("/start/confirm", view_func=views.confirm, methods=_GET_POST)
bp.add_url_rule("/queue", view_func=views.queue)
bp.add_url_rule("/experts", view_func=views.experts)
bp.add_url_rule("/experts/new", view_func=views.new_expert, methods=_GET_POST)
bp.add_url_rule("/<int:question_id>", view_func=views.question)
bp.add_url_rule("/<int:question_id>/take", view_func=views.take, methods=["POST"])
bp.add_url_rule("/<int:question_id>/answer", view_func=views.answer, methods=["POST"])
bp.add_url_rule("/<int:question_id>/case", view_func=views.to_case, methods=["POST"])
bp.add_url_rule("/<int:question_id>/files/<int:attachment_id>", view_func=views.attachment)
