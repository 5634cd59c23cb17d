"""URL rules of the governance view: none names a case or any other object."""

from flask import Blueprint

from . import views

bp = Blueprint("governance", __name__, url_prefix="/governance")

bp.add_url_rule("/", view_func=views.dashboard)
bp.add_url_rule("/export.csv", view_func=views.export_csv)
bp.add_url_rule("/export.xlsx", view_func=views.export_xlsx)
bp.add_url_rule("/warnings", view_func=views.warnings)
