"""URL rules of the notify feature."""

from flask import Blueprint

from . import views

bp = Blueprint("notify", __name__, url_prefix="/admin/outbox")

bp.add_url_rule("/", view_func=views.outbox)
bp.add_url_rule("/<int:message_id>/retry", view_func=views.retry, methods=["POST"])
