"""URL rules of the cases feature."""

from flask import Blueprint

from . import views

bp = Blueprint("cases", __name__, url_prefix="/cases")

bp.add_url_rule("/", view_func=views.my_cases)
bp.add_url_rule("/caseload", view_func=views.caseload)
bp.add_url_rule("/<int:case_id>", view_func=views.case_detail)
