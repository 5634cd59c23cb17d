"""Opening an account: the phone number is proven with a code before the account exists.

Whoever registered a number first proves nothing: an account is only ever opened (or taken
over) by the person who entered the code sent to that number, and the answers are the
same whether or not the number has an account, so registering tells nobody who is here.
"""

from __future__ import annotations

import contextlib

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from mediation.core.db import utcnow
from mediation.core.forms import FieldError
from mediation.extensions import db

from . import codes
from .identity import IdentityError, validate_id_number, validate_phone
from .models import CodePurpose, Role, User
from .operations import check_password_strength, check_unique, create_user, set_password


def start_registration(phone: str, *, browser: str, locale: str | None = None) -> str:
    """Step 1: a code to the number, before any account exists (returns the number in E.164).

    The answer is the same whether the number is free or not, so it tells nobody who is
    registered: a number whose owner has an account gets a message saying so instead of a
    code. The same request again from this browser (a double tap, a phone resending the
    POST: ``codes.SAME_REQUEST``) is answered as the first, and nothing more is sent: the
    code it needs was just sent to it."""
    try:
        phone = validate_phone(phone, current_app.config["DEFAULT_PHONE_REGION"])
    except IdentityError as error:
        raise FieldError("phone", str(error)) from None
    owner = db.session.scalar(select(User).where(User.phone == phone))
    with contextlib.suppress(codes.CodeJustSentError):
        if owner is not None and not _claimable(owner):
            with force_locale(owner.locale or locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
                codes.send_note(
                    owner,
                    CodePurpose.registration,
                    _(
                        "Someone asked to open an account on the mediation platform with "
                        "this number, which has an account already. To get in, log in or "
                        "reset your password. If it was not you, ignore this message."
                    ),
                    browser=browser,
                )
        else:
            codes.send_to_number(phone, CodePurpose.registration, browser=browser, locale=locale)
    return phone


def _claimable(user: User) -> bool:
    """An open account nobody proved yet, of a party only: whoever proves the number owns
    it. A closed one stays closed; a staff account not yet taken up is its staff member's,
    who sets a password by the code the administrator had sent."""
    return user.active and user.phone_verified_at is None and user.roles <= {Role.party}


def complete_registration(
    phone: str,
    code: str,
    *,
    real_name: str,
    id_number: str | None,
    email: str | None,
    password: str,
    browser: str,
) -> User:
    """Step 2: the code proves the number; the account is opened on it, or, when the
    number was named in a case or registered before without proof, taken over: the
    earlier password and sessions end, the name and ID number become the ones given here
    (the ID number still only claimed until a mediator confirms it)."""
    check_password_strength(password)
    real_name = real_name.strip()
    if not real_name:
        raise FieldError("real_name", _("Please enter the real name."))
    try:
        id_number = validate_id_number(id_number) if id_number else None
    except IdentityError as error:
        raise FieldError("id_number", str(error)) from None
    email = email.strip().lower() if email else None
    now = utcnow()
    if not codes.consume_for_number(
        phone, CodePurpose.registration, code, browser=browser, now=now
    ):
        raise FieldError("code", _("The code is wrong or has expired. Ask for a new one."))
    owner = db.session.scalar(select(User).where(User.phone == phone))
    if owner is None:
        return create_user(
            real_name=real_name,
            phone=phone,
            email=email,
            id_number=id_number,
            password=password,
            roles=[Role.party],
            verified=True,
        )
    if not _claimable(owner):
        # Proven by someone else since the code was sent.
        raise FieldError("code", _("The code is wrong or has expired. Ask for a new one."))
    # Nothing of whoever held the number before stays: not their e-mail (it would get the
    # owner's notices), nor their settings or a confirmation of their ID number.
    if email and email != owner.email:
        check_unique(email=email)
    owner.email, owner.locale, owner.time_zone = email, None, None
    if owner.id_number != id_number:
        owner.id_confirmed_at = owner.id_confirmed_by_id = None
    owner.real_name, owner.id_number = real_name, id_number
    owner.phone_verified_at = now
    set_password(owner, password)  # also ends every session opened before
    db.session.flush()
    return owner


def open_by_code(phone: str, code: str, *, real_name: str, browser: str) -> User:
    """The code sent by ``start_registration`` proves the number, and an account without a
    password is opened on it (or an unproven party account taken over), for a person who
    only wants to ask a question (mediation/consultation); a password can be chosen later
    with "forgot password". The same checks as ``complete_registration``."""
    real_name = real_name.strip()
    if not real_name:
        raise FieldError("real_name", _("Please enter the real name."))
    now = utcnow()
    if not codes.consume_for_number(
        phone, CodePurpose.registration, code, browser=browser, now=now
    ):
        raise FieldError("code", _("The code is wrong or has expired. Ask for a new one."))
    owner = db.session.scalar(select(User).where(User.phone == phone))
    if owner is None:
        return create_user(real_name=real_name, phone=phone, roles=[Role.party], verified=True)
    if not _claimable(owner):
        raise FieldError("code", _("The code is wrong or has expired. Ask for a new one."))
    # As in complete_registration: nothing of whoever held the number before stays.
    owner.email, owner.locale, owner.time_zone = None, None, None
    owner.id_number = owner.id_confirmed_at = owner.id_confirmed_by_id = None
    owner.real_name, owner.phone_verified_at = real_name, now
    owner.password_hash = None
    owner.session_version = (owner.session_version or 0) + 1
    db.session.flush()
    return owner
