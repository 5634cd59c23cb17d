"""URL rules of the evaluation feature."""

from flask import Blueprint

from . import views

bp = Blueprint("evaluation", __name__)

bp.add_url_rule("/evaluation", view_func=views.evaluate)
bp.add_url_rule("/evaluation/case", view_func=views.to_case, methods=["POST"])
