"""URL rules of the reception feature."""

from flask import Blueprint

from . import views

bp = Blueprint("reception", __name__, url_prefix="/reception")

bp.add_url_rule("/hosts/<int:host_id>/book", view_func=views.book, methods=["GET", "POST"])
bp.add_url_rule("/mine", view_func=views.mine)
bp.add_url_rule("/day", view_func=views.day_list)
bp.add_url_rule("/<int:booking_id>", view_func=views.booking)
bp.add_url_rule("/<int:booking_id>/cancel", view_func=views.cancel, methods=["POST"])
bp.add_url_rule("/<int:booking_id>/record", view_func=views.record, methods=["POST"])
