"""HTTP handlers of the accounts feature: parse, check access, call an operation, commit."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from mediation.core.forms import FieldError, apply_field_error, failed_attempt
from mediation.core.views import safe_next
from mediation.extensions import db, limiter, login_manager

from . import operations as ops
from .forms import (
    ForgotPasswordForm,
    LoginForm,
    RegisterForm,
    ResetPasswordForm,
    TimeZoneForm,
)
from .models import CodePurpose, Role, User

# Where each role starts after logging in; the first role a user holds wins.
HOME_ENDPOINTS: tuple[tuple[Role, str], ...] = (
    (Role.platform_admin, "accounts.admin_home"),
    (Role.institution_admin, "accounts.institution_home"),
    (Role.mediator, "cases.caseload"),
    (Role.judge, "court.portal"),
    (Role.court_clerk, "court.portal"),
    (Role.party, "cases.my_cases"),
)


def home_url_for(user) -> str:
    for role, endpoint in HOME_ENDPOINTS:
        if user.has_role(role):
            return url_for(endpoint)
    return url_for("accounts.account")


@login_required
def home():
    """Each role's starting page, for links that do not know who follows them."""
    return redirect(home_url_for(current_user))


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    user_id, _, version = session_id.partition(".")
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or user.session_version != int(version):
        return None  # the password changed since this session logged in
    return user


def _identifier_key() -> str:
    # Normalised, so "139...", "+86 139..." and "139-..." count against one account.
    return "account:" + ops.normalise_identifier(request.form.get("identifier", ""))


# -- logging in and out ------------------------------------------------------------------


@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ADDRESS"],
    methods=["POST"],
    deduct_when=failed_attempt,
)
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"],
    methods=["POST"],
    key_func=_identifier_key,
    deduct_when=failed_attempt,
)
def login():
    if current_user.is_authenticated:
        return redirect(home_url_for(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        user = ops.authenticate(form.identifier.data, form.password.data)
        if user is not None:
            login_user(user, remember=form.remember.data)
            db.session.commit()  # a rehashed password is kept
            return redirect(safe_next(request.args.get("next")) or home_url_for(user))
        form.password.errors = [_("The phone number, e-mail or password is wrong.")]
    return render_template("accounts/login.html", form=form)


def logout():
    logout_user()
    flash(_("You have logged out."), "info")
    return redirect(url_for("core.index"))


@limiter.limit(lambda: current_app.config["REGISTER_LIMIT"], methods=["POST"])
def register():
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user = ops.create_user(
                **form.identity(), password=form.password.data, roles=[Role.party]
            )
        except ops.FieldError as error:
            db.session.rollback()
            apply_field_error(form, error)
        else:
            db.session.commit()
            login_user(user)
            flash(_("Your account is ready."), "success")
            return redirect(home_url_for(user))
    return render_template("accounts/register.html", form=form)


# -- password reset by one-time code -----------------------------------------------------


@limiter.limit(lambda: current_app.config["CODE_SEND_LIMIT"], methods=["POST"])
@limiter.limit(
    lambda: current_app.config["CODE_SEND_LIMIT"], methods=["POST"], key_func=_identifier_key
)
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        user = ops.find_user(form.identifier.data)
        if user is not None and user.active:
            ops.issue_code(user, CodePurpose.password_reset)
            db.session.commit()
        # The same answer whether or not the account exists: no account enumeration.
        flash(_("If an account exists, a code has been sent to its phone or e-mail."), "info")
        return redirect(url_for("accounts.reset_password", identifier=form.identifier.data))
    return render_template("accounts/forgot_password.html", form=form)


@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ADDRESS"],
    methods=["POST"],
    deduct_when=failed_attempt,
)
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"],
    methods=["POST"],
    key_func=_identifier_key,
    deduct_when=failed_attempt,
)
def reset_password():
    form = ResetPasswordForm(identifier=request.args.get("identifier", ""))
    if form.validate_on_submit():
        user = ops.find_user(form.identifier.data)
        try:
            if user is None:
                raise ops.FieldError(
                    "code", _("The code is wrong or has expired. Ask for a new one.")
                )
            ops.reset_password(user, form.code.data, form.password.data)
        except ops.FieldError as error:
            db.session.commit()  # the failed attempt is counted
            apply_field_error(form, error)
        else:
            db.session.commit()
            flash(_("Your password has been changed. Please log in."), "success")
            return redirect(url_for("accounts.login"))
    return render_template("accounts/reset_password.html", form=form)


# -- pages of a logged-in user -----------------------------------------------------------


@login_required
def account():
    form = TimeZoneForm(data={"time_zone": current_user.time_zone or _default_zone()})
    if current_user.time_zone not in (None, *dict(form.time_zone.choices)):
        form.time_zone.choices = [current_user.time_zone, *form.time_zone.choices]
    return render_template("accounts/account.html", user=current_user, zone_form=form)


def _default_zone() -> str:
    return current_app.config["BABEL_DEFAULT_TIMEZONE"]


@login_required
def save_time_zone():
    form = TimeZoneForm()
    if form.validate():
        try:
            ops.set_time_zone(current_user, form.time_zone.data)
        except FieldError as error:
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(_("Saved."), "success")
    else:
        flash(_("Unknown time zone."), "error")
    return redirect(url_for("accounts.account"))
