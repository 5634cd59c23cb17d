"""The signing form's round trip, shared by every document signed in turn (the agreement,
the application for judicial confirmation): "send me the code" shows the page again with
everything drawn and typed; "sign" signs; a refused code, drawing or stale document comes
back next to its field; a step that is no longer possible goes back with a message."""

from __future__ import annotations

from collections.abc import Callable

from flask import Response, current_app, flash, redirect, request
from flask_babel import gettext as _
from flask_login import current_user

from mediation.cases.workflow import NotPermittedError, TransitionError
from mediation.core.forms import FieldError
from mediation.extensions import db, limiter

from .forms import SignForm, drawing_from_data_url
from .signing import SignedAlreadyError


def _signer_key() -> str:
    return f"signer:{current_user.get_id()}"


def code_limit(action: str):
    """Codes asked for on a signing page (the form's ``action``), counted per signer, not
    per address: people who sign together at the mediation office share one address, one
    after another, and each code goes to the signer's own phone, which the database paces
    per recipient (accounts/codes.py)."""
    return limiter.limit(
        lambda: current_app.config["CODE_SEND_LIMIT"],
        methods=["POST"],
        key_func=_signer_key,
        exempt_when=lambda: request.form.get("action") != action,
    )


# (form, status, errors by field) -> the signing page
Page = Callable[[SignForm, int, dict[str, str]], Response]


def answer(
    form: SignForm,
    action: str | None,
    *,
    send_code: Callable[..., None],
    sign: Callable[..., object],
    current_sha256: Callable[[], str | None],
    page: Page,
    back: str,
    refuse: Callable[[str], None] | None = None,
    signed_message: Callable[[], str],
) -> Response:
    if not form.validate_on_submit():
        return page(form, 422, {})
    try:
        if action == "code":
            send_code(shown_sha256=form.shown.data or "")  # the code signs what was shown
            db.session.commit()
            flash(_("A code has been sent to %(phone)s.", phone=current_user.phone_masked), "info")
            return page(form, 200, {})
        if action == "refuse" and refuse is not None:
            if not form.confirm_refusal.data:  # the page again, the reason typed kept
                message = _("Tick the box to confirm that you refuse to sign.")
                return page(form, 422, {"confirm_refusal": message})
            refuse(form.reason.data or "")
            db.session.commit()
            flash(_("Your refusal is recorded; the mediation has ended."), "info")
            return redirect(back)
        sign(
            code=(form.code.data or "").strip(),
            shown_sha256=form.shown.data or "",
            drawing=drawing_from_data_url(form.drawing.data),
        )
    except FieldError as error:
        db.session.commit()  # a wrong code counts as a try
        if error.field == "document":
            form.shown.data = current_sha256()  # what they see now is the current one
        return page(form, 422, {error.field: error.message})
    except (NotPermittedError, TransitionError) as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(back)
    except SignedAlreadyError:
        db.session.rollback()
        flash(_("Your signature was already added."), "info")
        return redirect(back)
    db.session.commit()
    flash(signed_message(), "success")
    return redirect(back)
