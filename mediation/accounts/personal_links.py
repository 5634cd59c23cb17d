"""Personal links sent by SMS (the minutes to confirm, an agreement to sign): a signed
token naming the person and what they are asked to do. The link alone shows nothing: a
party without a password proves it is them with a code sent to their phone, and is then
logged in; anyone with a password logs in as usual."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user
from itsdangerous import BadSignature, URLSafeSerializer

from mediation.extensions import db, limiter
from mediation.journal import operations as journal

from . import operations as accounts
from .forms import CodeForm, SendCodeForm
from .models import CodePurpose, Role, User


def _link_key() -> str:
    return f"link:{request.path}"


def limited(view):
    """The limits of a personal link's page, counted per link (its own address), not per
    the visitor's address: people who sign together at an office share one. Its posts, and
    the codes it sends (only ever to the link's own person, whose phone the database paces
    per recipient too)."""
    view = limiter.limit(
        lambda: current_app.config["CODE_SEND_LIMIT"],
        methods=["POST"],
        key_func=_link_key,
        exempt_when=lambda: request.form.get("action") != "send",
    )(view)
    return limiter.limit("30 per minute", methods=["POST"], key_func=_link_key)(view)


def token(salt: str, *values: Any) -> str:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=salt).dumps(list(values))


def values(salt: str, signed: str) -> list | None:
    try:
        found = URLSafeSerializer(current_app.config["SECRET_KEY"], salt=salt).loads(signed)
    except (BadSignature, ValueError, TypeError):
        return None
    return found if isinstance(found, list) else None


def ids(salt: str, signed: str, count: int = 2) -> list[int] | None:
    """The ``count`` ids a link was signed with (a case and a person, say); None for a link
    the platform did not sign, or one of another shape."""
    found = values(salt, signed)
    if found is None or len(found) != count or not all(type(v) is int for v in found):
        return None
    return found


def url(path: str) -> str:
    """An address for a text message (built from BASE_URL: workers have no request)."""
    return f"{current_app.config['BASE_URL'].rstrip('/')}{path}"


def gone(message: str) -> Response:
    """The answer to a genuine link whose person no longer takes part in what it was sent
    for (an agent the party refused, say): said plainly (410 Gone, not "not found"), before
    any code is sent, and nothing of the case: whoever holds the link may not be them."""
    return Response(render_template("errors.html", code=410, message=message), status=410)


NO_LONGER_IN_CASE = _l("This link no longer applies: you no longer take part in this case.")


def may_enter_by_code(user: User) -> bool:
    """Only a party holding no other role proves who they are by a code sent to their
    phone; staff log in with their password."""
    return user.active and user.roles == {Role.party} and bool(user.phone)


def enter(user: User, *, case_id: int | None, target: str, via: str, title: str) -> Response:
    """The page behind a personal link: on to ``target`` for the person themselves, the
    code step for a party who is not logged in, the login page for everyone else.
    ``case_id``: the case whose journal records the entry (None: a link of no case, such
    as a consultation's answer)."""
    if current_user.is_authenticated and current_user.id == user.id:
        return redirect(target)
    if current_user.is_authenticated:
        return someone_else(request.path)
    if not may_enter_by_code(user):
        return redirect(url_for("accounts.login", next=target))
    code_form = CodeForm()
    if request.method == "POST":
        if request.form.get("action") == "send" and SendCodeForm().validate_on_submit():
            accounts.ask_for_code(user, CodePurpose.invitation_login)
            db.session.commit()
            flash(_("A code has been sent to %(phone)s.", phone=user.phone_masked), "info")
        elif code_form.validate_on_submit():
            if accounts.consume_code(
                user, CodePurpose.invitation_login, code_form.code.data.strip()
            ):
                if case_id is not None:
                    journal.append(
                        case_id,
                        "party.entered",
                        {"user_id": user.id, "via": via},
                        actor_id=user.id,
                    )
                db.session.commit()
                login_user(user)
                return redirect(target)
            db.session.commit()  # the failed try is counted
            code_form.code.errors = [_("The code is wrong or has expired. Ask for a new one.")]
    page = render_template(
        "accounts/personal_link.html",
        user=user,
        title=title,
        code_form=code_form,
        send_form=SendCodeForm(),
    )
    return Response(page, status=422 if code_form.errors else 200)


def someone_else(link: str) -> Response:
    """The answer to whoever is logged in on this device when it is not the person
    ``link`` (a personal link's address) was sent to: people who sign together at the
    mediation office, one after another, pass one tablet or computer round. The link's
    own person goes on once the other one is logged out here (in this browser only: their
    sessions on their own devices go on). Nothing of the link's case or person is shown."""
    switching = request.method == "POST" and request.form.get("action") == "switch"
    if switching and SendCodeForm().validate_on_submit():
        logout_user()
        return redirect(link)
    page = render_template(
        "accounts/personal_link.html",
        user=None,
        title=_("A personal link"),
        other=current_user,
        send_form=SendCodeForm(),
        link=link,
    )
    return Response(page, status=403)  # not for the person logged in: only the way out
