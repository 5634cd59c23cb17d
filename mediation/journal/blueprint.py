"""URL rules of the journal feature."""

from flask import Blueprint

from . import views

bp = Blueprint("journal", __name__, url_prefix="/cases/<int:case_id>")

bp.add_url_rule("/journal", view_func=views.case_journal)
bp.add_url_rule("/journal.json", view_func=views.case_journal_json)
