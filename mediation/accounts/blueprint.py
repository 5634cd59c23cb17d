"""URL rules of the accounts feature."""

from flask import Blueprint

from . import admin_views, views
from .codes import CodeTooSoonError

bp = Blueprint("accounts", __name__)

_GET_POST = ["GET", "POST"]
bp.add_url_rule("/home", view_func=views.home)
bp.add_url_rule("/login", view_func=views.login, methods=_GET_POST)
bp.add_url_rule("/logout", view_func=views.logout, methods=["POST"])
bp.add_url_rule("/login/verify", view_func=views.verify_phone, methods=_GET_POST)
bp.add_url_rule("/register", view_func=views.register, methods=_GET_POST)
bp.add_url_rule("/register/confirm", view_func=views.register_confirm, methods=_GET_POST)
bp.app_errorhandler(CodeTooSoonError)(views.code_too_soon)
bp.add_url_rule("/password/forgot", view_func=views.forgot_password, methods=_GET_POST)
bp.add_url_rule("/password/reset", view_func=views.reset_password, methods=_GET_POST)
bp.add_url_rule("/account", view_func=views.account)
bp.add_url_rule("/account/identity", view_func=views.save_identity, methods=["POST"])
bp.add_url_rule("/account/time-zone", view_func=views.save_time_zone, methods=["POST"])
bp.add_url_rule("/institution/", view_func=admin_views.institution_home)
bp.add_url_rule("/institution/mediators/new", view_func=admin_views.add_mediator, methods=_GET_POST)
bp.add_url_rule(
    "/institution/cases/<int:case_id>/reassign",
    view_func=admin_views.reassign_case,
    methods=["POST"],
)
bp.add_url_rule("/admin/", view_func=admin_views.admin_home)
bp.add_url_rule("/admin/institutions/new", view_func=admin_views.new_institution, methods=_GET_POST)
bp.add_url_rule("/admin/courts/new", view_func=admin_views.new_court, methods=_GET_POST)
bp.add_url_rule(
    "/admin/courts/<int:court_id>/roots", view_func=admin_views.court_roots, methods=_GET_POST
)
bp.add_url_rule("/admin/accounts/new", view_func=admin_views.new_staff, methods=_GET_POST)
