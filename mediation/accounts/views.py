"""HTTP handlers of the accounts feature: parse, check access, call an operation, commit."""

from __future__ import annotations

import contextlib
import secrets
from urllib.parse import urlsplit

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, login_user, logout_user

from mediation.core.forms import FieldError, apply_field_error, failed_attempt
from mediation.core.views import safe_next
from mediation.extensions import db, limiter, login_manager

from . import operations as ops
from . import registration
from .forms import (
    CodeForm,
    ForgotPasswordForm,
    LoginForm,
    OwnIdentityForm,
    RegisterForm,
    RegisterPhoneForm,
    ResetPasswordForm,
    TimeZoneForm,
)
from .identity import mask_phone
from .models import CodePurpose, Role, User

# Where each role starts after logging in; the first role a user holds wins.
HOME_ENDPOINTS: tuple[tuple[Role, str], ...] = (
    (Role.platform_admin, "accounts.admin_home"),
    (Role.institution_admin, "accounts.institution_home"),
    (Role.mediator, "cases.caseload"),
    (Role.judge, "court.portal"),
    (Role.court_clerk, "court.portal"),
    (Role.expert, "consultation.queue"),
    (Role.governance, "governance.dashboard"),
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
    login = ops.login_of(session_id)
    if login is None:
        return None
    user_id, version = login
    user = db.session.get(User, user_id)
    if user is None or not ops.login_holds(
        version, user.session_version, user.phone_verified_at, user.active
    ):
        return None  # logged out, or the password changed, since this session began
    return user


def _identifier_key() -> str:
    # Normalised, so "139...", "+86 139..." and "139-..." count against one account.
    return "account:" + ops.normalise_identifier(request.form.get("identifier", ""))


def _phone_key() -> str:
    return "phone:" + ops.normalise_identifier(request.form.get("phone", ""))


def _locale() -> str | None:
    return str(get_locale()) if get_locale() else None


def code_browser(key: str) -> str:
    """The secret of this browser's session that a code to a number is bound to (the code
    works in this browser only: codes.py), kept under ``key`` from the moment the form is
    shown. A form sent twice at once (a double tap on a slow network) carries it in both
    requests, so the second is known for the same request (``codes.SAME_REQUEST``)."""
    kept = session.get(key)
    kept = kept if isinstance(kept, dict) else {}
    if not kept.get("browser"):
        kept = {**kept, "browser": secrets.token_urlsafe(16)}
        session[key] = kept
    return kept["browser"]


def _identifier_and_address_key() -> str:
    # Failed logins lock an account for one address only: a stranger who knows the number
    # cannot keep its owner out; the looser limit per account covers many addresses.
    return f"{_identifier_key()}@{get_remote_address()}"


# -- logging in and out ------------------------------------------------------------------


@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ADDRESS"],
    methods=["POST"],
    deduct_when=failed_attempt,
)
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"],
    methods=["POST"],
    key_func=_identifier_and_address_key,
    deduct_when=failed_attempt,
)
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT_ANYWHERE"],
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
        if user is not None and user.phone_verified_at is None:
            # The password is right but nobody proved the number: the code decides.
            try:
                ops.ask_for_code(user, CodePurpose.phone_verification)
            except ops.CodeTooSoonError as error:
                flash(error.message, "info")
            db.session.commit()
            session["verifying"] = {
                "user": user.get_id(),
                "remember": bool(form.remember.data),
                "next": safe_next(request.args.get("next")),
            }
            return redirect(url_for("accounts.verify_phone"))
        if user is not None:
            login_user(user, remember=form.remember.data)
            db.session.commit()  # a rehashed password is kept
            return redirect(safe_next(request.args.get("next")) or home_url_for(user))
        form.password.errors = [_("The phone number, e-mail or password is wrong.")]
    return render_template("accounts/login.html", form=form)


@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ADDRESS"],
    methods=["POST"],
    deduct_when=failed_attempt,
)
def verify_phone():
    """After a right password on an account whose number was never proven: the code sent
    to the number, and only then a session."""
    pending = session.get("verifying") or {}
    user = load_pending(pending.get("user"))
    if user is None:
        return redirect(url_for("accounts.login"))
    form = CodeForm()
    if form.validate_on_submit():
        if ops.consume_code(user, CodePurpose.phone_verification, form.code.data):
            session.pop("verifying", None)
            db.session.commit()
            login_user(user, remember=pending.get("remember", False))
            flash(_("Your phone number is confirmed."), "success")
            return redirect(pending.get("next") or home_url_for(user))
        db.session.commit()  # the failed try is counted
        form.code.errors = [_("The code is wrong or has expired. Ask for a new one.")]
    status = 422 if form.errors else 200
    return render_template("accounts/verify_phone.html", form=form, user=user), status


def load_pending(session_id: str | None) -> User | None:
    """The account a login is confirming the number of (its password still the same)."""
    user_id, _sep, version = (session_id or "").partition(".")
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user


def logout():
    """Logging out ends the session on the server too: a copied cookie or a "stay logged
    in" token stops working, on every device (the account's sessions share one version)."""
    if current_user.is_authenticated:
        current_user.session_version = (current_user.session_version or 0) + 1
        db.session.commit()
    logout_user()
    flash(_("You have logged out."), "info")
    return redirect(url_for("core.index"))


@limiter.limit(lambda: current_app.config["REGISTER_LIMIT"], methods=["POST"])
@limiter.limit(lambda: current_app.config["CODE_SEND_LIMIT"], methods=["POST"], key_func=_phone_key)
def register():
    """Step 1: the phone number; a code goes to it (or, if it has an account, a note)."""
    if current_user.is_authenticated:
        return redirect(home_url_for(current_user))
    form = RegisterPhoneForm()
    browser = code_browser("registering")
    if form.validate_on_submit():
        try:
            phone = registration.start_registration(
                form.phone.data, browser=browser, locale=_locale()
            )
        except ops.FieldError as error:
            db.session.rollback()
            apply_field_error(form, error)
        else:
            db.session.commit()
            session["registering"] = {"phone": phone, "browser": browser}
            # The same words whether or not the number has an account.
            flash(_("A message has been sent to %(phone)s.", phone=mask_phone(phone)), "info")
            return redirect(url_for("accounts.register_confirm"))
    return render_template("accounts/register.html", form=form, step=1)


@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ADDRESS"],
    methods=["POST"],
    deduct_when=failed_attempt,
)
def register_confirm():
    """Step 2: the code proves the number; then the account is opened (or taken over)."""
    registering = session.get("registering")
    phone = registering.get("phone") if isinstance(registering, dict) else None
    if not phone:
        return redirect(url_for("accounts.register"))
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user = registration.complete_registration(
                phone,
                form.code.data,
                **form.identity(),
                password=form.password.data,
                browser=registering["browser"],
            )
        except ops.FieldError as error:
            db.session.commit()  # a failed try at the code is counted
            apply_field_error(form, error)
        else:
            db.session.commit()
            session.pop("registering", None)
            login_user(user)
            flash(_("Your account is ready."), "success")
            return redirect(home_url_for(user))
    status = 422 if form.errors else 200
    page = render_template("accounts/register.html", form=form, step=2, phone=mask_phone(phone))
    return page, status


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
            # A code sent a moment ago still works; the answer stays the same.
            with contextlib.suppress(ops.CodeTooSoonError):
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
    key_func=_identifier_and_address_key,
    deduct_when=failed_attempt,
)
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT_ANYWHERE"],
    methods=["POST"],
    key_func=_identifier_key,
    deduct_when=failed_attempt,
)
def reset_password():
    # Locked per address like the login: the reset is how an owner gets back in, so a
    # stranger's wrong codes must not keep them out (each code also allows 5 tries only).
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
    return render_template(
        "accounts/account.html",
        user=current_user,
        zone_form=form,
        identity_form=OwnIdentityForm(data={"ethnicity": current_user.ethnicity}),
    )


@login_required
def save_identity():
    """A person gives or corrects their own ID number and ethnicity, until a mediator has
    confirmed them on camera (then they are fixed: ``ops.set_identity``)."""
    form = OwnIdentityForm()
    if form.validate_on_submit():
        try:
            ops.set_identity(
                current_user,
                id_number=form.id_number.data or None,
                ethnicity=form.ethnicity.data or None,
            )
        except FieldError as error:
            db.session.rollback()
            apply_field_error(form, error)
        else:
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for("accounts.account"))
    elif "csrf_token" in form.errors:
        abort(400)
    zone_form = TimeZoneForm(data={"time_zone": current_user.time_zone or _default_zone()})
    return render_template(
        "accounts/account.html", user=current_user, zone_form=zone_form, identity_form=form
    ), 422


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


def code_too_soon(error: ops.CodeTooSoonError):
    """Anywhere a code is asked for too soon: nothing is lost, the page says when the next
    one can be asked for (not a bare 429)."""
    db.session.rollback()
    if request.accept_mimetypes.best == "application/json":
        return {"error": error.message, "retry_at": error.retry_at.isoformat()}, 429
    flash(error.message, "error")
    # Back to the page the button was on (a POST-only address would answer 405).
    referrer = urlsplit(request.referrer or "")
    back = None
    if referrer.netloc == request.host:
        back = safe_next(referrer.path + (f"?{referrer.query}" if referrer.query else ""))
    return redirect(back or url_for("accounts.home"), code=303)
