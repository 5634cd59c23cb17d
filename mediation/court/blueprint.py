"""URL rules of the court feature."""

from flask import Blueprint

from . import views

bp = Blueprint("court", __name__, url_prefix="/court")

bp.add_url_rule("/", view_func=views.portal)
