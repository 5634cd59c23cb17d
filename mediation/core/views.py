"""Pages that belong to no feature: home, language switch, health, error pages."""

from __future__ import annotations

import math
import time
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    g,
    has_request_context,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import text
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from werkzeug.exceptions import HTTPException, ServiceUnavailable
from werkzeug.routing import RequestRedirect

from mediation.extensions import db, limiter

from .db import is_unreachable
from .hardening import MalformedJson, NumberOutOfRange, UnusableText
from .sqlite import is_busy
from .storage import CorruptObjectError

bp = Blueprint("core", __name__)


def safe_next(target: str | None) -> str | None:
    """Only a path on this site may be a redirect target (no open redirects). Browsers read
    a backslash as a slash and drop tabs and newlines from addresses, so a path with a
    backslash or a control character could leave the site: it is refused."""
    if not target:
        return None
    if "\\" in target or any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target if _opens(parts.path) else None


def _opens(path: str) -> bool:
    """Whether a browser sent to ``path`` gets a page: a form's address that takes only
    POST (where a login interrupted a step, Flask-Login's "next") would answer 405."""
    if not has_request_context():
        return True
    adapter = current_app.url_map.bind_to_environ(request.environ)
    try:
        adapter.match(path, method="GET")
    except RequestRedirect:
        return True  # the same page with its slash
    except HTTPException:  # no such page, or not one to open
        return False
    return True


@bp.get("/")
def index():
    if current_user.is_authenticated:
        return redirect(url_for("accounts.home"))
    return render_template("core/index.html")


@bp.post("/language")
def set_language():
    locale = request.form.get("locale")
    if locale in current_app.config["LANGUAGES"]:
        session["locale"] = locale
        if current_user.is_authenticated:
            current_user.locale = locale
            db.session.commit()
    return redirect(safe_next(request.form.get("next")) or url_for("core.index"))


# Larger text for older readers (适老化, issue #16): a cookie of its own, not the session,
# so that it outlives a logout and is the same for everyone using that phone; read when
# the page is made (core.i18n.text_large), so the page never flickers from one size to
# the other.
TEXT_SIZE_COOKIE = "text_size"
TEXT_SIZE_DAYS = 400  # browsers keep a cookie at most about this long


@bp.post("/text-size")
def set_text_size():
    response = redirect(safe_next(request.form.get("next")) or url_for("core.index"))
    if request.form.get("size") == "large":
        response.set_cookie(
            TEXT_SIZE_COOKIE,
            "large",
            max_age=TEXT_SIZE_DAYS * 86400,
            httponly=True,
            samesite="Lax",
            secure=request.is_secure,
        )
    else:
        response.delete_cookie(TEXT_SIZE_COOKIE)
    return response


def text_large() -> bool:
    """Whether the page is made in larger text (a page rendered outside a request, for an
    e-mail, is not)."""
    return has_request_context() and request.cookies.get(TEXT_SIZE_COOKIE) == "large"


@bp.get("/healthz")
def healthz():
    """200 when the database answers, 503 when it does not (for load balancers)."""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        db.session.rollback()
        current_app.logger.warning("health check: database unavailable: %s", error)
        return {"status": "unavailable", "database": "unreachable"}, 503
    return {"status": "ok", "database": "ok"}


ERROR_MESSAGES = {
    400: lambda: _("The request could not be understood."),
    401: lambda: _("You need to sign in for this."),
    403: lambda: _("You do not have access to this page."),
    404: lambda: _("This page does not exist."),
    405: lambda: _("This action is not allowed here."),
    413: lambda: _("What you sent is too large."),
    429: lambda: _("Too many attempts. Please wait a few minutes and try again."),
    500: lambda: _("Something went wrong on our side. Please try again later."),
    503: lambda: _("The platform is busy. Please try again in a moment."),
}
BUSY_RETRY_AFTER = 5  # seconds


def database_busy(error: OperationalError):
    """A write that waited for another writer's lock longer than the platform waits
    (SQLite, core/sqlite.py), or a database that is away for a moment (PostgreSQL
    restarted, failing over): nothing was written; the user is asked to send it again."""
    if is_unreachable(error):
        db.session.rollback()
        current_app.logger.warning(
            "database unreachable: %s %s: %s", request.method, request.path, error
        )
        # The page is drawn without the database: whoever is signed in is not read again
        # (flask_login's per-request user), or the error page would fail the same way.
        g._login_user = current_app.login_manager.anonymous_user()
        return render_error(ServiceUnavailable(retry_after=BUSY_RETRY_AFTER))
    if not is_busy(error):
        raise error  # any other database error is a 500, logged as such
    db.session.rollback()
    current_app.logger.warning("database busy: %s %s", request.method, request.path)
    return render_error(ServiceUnavailable(retry_after=BUSY_RETRY_AFTER))


def _retry_after() -> int | None:
    """Seconds until the rate limit this request hit lets the next one through."""
    current = limiter.current_limit
    if current is None:
        return None
    return max(1, math.ceil(current.reset_at - time.time()))


def render_error(error: HTTPException):
    code = error.code or 500
    if isinstance(error, CSRFError):
        message = _(
            "This form has expired or was not sent from this site. "
            "Go back, reload the page and send it again."
        )
    elif isinstance(error, UnusableText):
        message = _(
            "What you sent contains characters that cannot be stored (a NUL character or "
            "broken Unicode). Remove them and send it again."
        )
    elif isinstance(error, CorruptObjectError):
        # Logged where it was found; the user learns it is not their doing (issue #19).
        message = _(
            "This file is damaged in storage and cannot be shown. The problem has "
            "been recorded; please contact the mediation centre."
        )
    elif isinstance(error, MalformedJson):
        message = _("The JSON sent is nested too deeply to be read.")
    elif isinstance(error, NumberOutOfRange):
        message = _("A number you sent is far too large. Correct it and send it again.")
    elif code == 429 and (wait := _retry_after()) is not None:
        # Say when, not "a few minutes": a seal holder behind an office's address must know
        # whether to wait or to call (issue #15 item 8).
        if wait < 120:
            message = _("Too many attempts. You can try again in %(n)d seconds.", n=wait)
        else:
            message = _(
                "Too many attempts. You can try again in %(n)d minutes.", n=(wait + 59) // 60
            )
    else:
        message = ERROR_MESSAGES.get(code, ERROR_MESSAGES[500])()
    # The exception's own headers stay: Allow on a 405 (RFC 9110 section 15.5.6),
    # WWW-Authenticate on a 401, Retry-After, Content-Range on a 416.
    headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
    if request.path.startswith("/api/"):
        # The court API answers in JSON whatever went wrong, in its own error shape.
        slug = (error.name or "error").lower().replace(" ", "_")
        return {"error": slug, "message": message}, code, headers
    if request.accept_mimetypes.best == "application/json":
        return {"error": message}, code, headers
    return render_template("errors.html", code=code, message=message), code, headers
