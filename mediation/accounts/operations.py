"""Account actions: create users, authenticate, one-time codes, password reset.

Operations validate, change, and ``flush()``; the caller (a view or a CLI command)
commits once.
"""

from __future__ import annotations

import contextlib
import functools
import secrets
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import argon2.profiles
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from mediation.core import divisions
from mediation.core.db import utcnow
from mediation.core.forms import FieldError
from mediation.extensions import db

from .codes import (  # noqa: F401 - the codes' entry points, as callers know them
    CodeFor,
    CodeNotForThisError,
    CodeTooSoonError,
    ask_for_code,
    code_would_pass,
    consume_code,
    issue_code,
    next_code_at,
    prove_contact,
    retire_codes,
)
from .identity import IdentityError, validate_ethnicity, validate_id_number, validate_phone
from .models import (
    CodePurpose,
    Court,
    CourtLevel,
    Institution,
    MediatorProfile,
    Role,
    User,
    UserRole,
)


@functools.cache
def _hashers(profile: str) -> tuple[PasswordHasher, str]:
    """The argon2 hasher of a parameter profile, and a hash of nothing to verify against
    when there is no real hash, so that timing does not reveal which accounts exist."""
    hasher = PasswordHasher.from_parameters(getattr(argon2.profiles, profile))
    return hasher, hasher.hash(secrets.token_hex(16))


def _hasher() -> PasswordHasher:
    return _hashers(current_app.config["ARGON2_PROFILE"])[0]


def _dummy_hash() -> str:
    return _hashers(current_app.config["ARGON2_PROFILE"])[1]


MIN_PASSWORD_LENGTH = 8


# -- passwords ---------------------------------------------------------------------------


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise FieldError("password", _("Use at least %(n)d characters.", n=MIN_PASSWORD_LENGTH))


def set_password(user: User, password: str) -> None:
    check_password_strength(password)
    user.password_hash = _hasher().hash(password)
    user.session_version = (user.session_version or 0) + 1


def _check_password(user: User, password: str) -> bool:
    if not user.password_hash:
        # As slow as a real check: timing must not tell which accounts have no password.
        with contextlib.suppress(VerificationError):
            _hasher().verify(_dummy_hash(), password)
        return False
    try:
        _hasher().verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    if _hasher().check_needs_rehash(user.password_hash):
        user.password_hash = _hasher().hash(password)
    return True


def login_of(login_id: object) -> tuple[int, int] | None:
    """The user and session version a login names (Flask-Login's ``_user_id`` in the session
    cookie, "id.version"), or None if it names none."""
    user_id, _, version = login_id.partition(".") if isinstance(login_id, str) else ("", "", "")
    # ASCII digits only: str.isdigit also takes "²", which int() refuses.
    if not all(part.isascii() and part.isdecimal() for part in (user_id, version)):
        return None
    return int(user_id), int(version)


def login_holds(
    version: int, session_version: int, phone_verified_at: datetime | None, active: bool
) -> bool:
    """Whether a login of session ``version`` still stands for its user (the user loader's
    check, also made from plain columns by a room's connect): not logged out, nor the
    password changed, since it began (either moves the user's session version on), the
    phone number proved (no session is anyone's before), and the account not closed (a
    closed account's sessions end with it, not at their next login)."""
    return session_version == version and phone_verified_at is not None and active


def normalise_identifier(identifier: str) -> str:
    """One spelling per account: e-mail lower-cased, phone numbers in E.164."""
    identifier = identifier.strip()
    if "@" in identifier:
        return identifier.lower()
    try:
        return validate_phone(identifier, current_app.config["DEFAULT_PHONE_REGION"])
    except IdentityError:
        return identifier.lower()


def find_user(identifier: str) -> User | None:
    """Look a user up by e-mail address or phone number."""
    identifier = identifier.strip()
    if "@" in identifier:
        return db.session.scalar(select(User).where(func.lower(User.email) == identifier.lower()))
    try:
        phone = validate_phone(identifier, current_app.config["DEFAULT_PHONE_REGION"])
    except IdentityError:
        return None
    return db.session.scalar(select(User).where(User.phone == phone))


def authenticate(identifier: str, password: str) -> User | None:
    user = find_user(identifier)
    if user is None:
        with contextlib.suppress(VerificationError):
            _hasher().verify(_dummy_hash(), password)
        return None
    if not _check_password(user, password) or not user.active:
        return None
    return user


# -- creating users ----------------------------------------------------------------------


def create_user(
    *,
    real_name: str,
    roles: Iterable[Role],
    phone: str | None = None,
    email: str | None = None,
    id_number: str | None = None,
    password: str | None = None,
    institution_id: int | None = None,
    court_id: int | None = None,
    verified: bool = False,
) -> User:
    """Create an account after checking every identity field; raises ``FieldError``.

    ``verified``: the person proved they receive what is sent to the phone (or e-mail)
    just now, or an operator at the server's console vouches for them. Otherwise the
    account stays closed until a code sent there is entered."""
    real_name = real_name.strip()
    if not real_name:
        raise FieldError("real_name", _("Please enter the real name."))
    if not phone and not email:
        raise FieldError("phone", _("Enter a phone number or an e-mail address."))
    region = current_app.config["DEFAULT_PHONE_REGION"]
    try:
        phone = validate_phone(phone, region) if phone else None
    except IdentityError as error:
        raise FieldError("phone", str(error)) from None
    try:
        id_number = validate_id_number(id_number) if id_number else None
    except IdentityError as error:
        raise FieldError("id_number", str(error)) from None
    email = email.strip().lower() if email else None
    # The ID number is only claimed: it is unique once a mediator confirmed it, so neither
    # does a claim tell anyone that a number is taken nor lock its owner out.
    check_unique(phone=phone, email=email)
    user = User(
        real_name=real_name,
        phone=phone,
        email=email,
        id_number=id_number,
        institution_id=institution_id,
        court_id=court_id,
        role_rows=[UserRole(role=Role(role).value) for role in set(roles)],
        phone_verified_at=utcnow() if verified else None,
    )
    if password:
        set_password(user, password)
    db.session.add(user)
    db.session.flush()
    return user


_UNIQUE_MESSAGES = {
    "phone": _l("An account with this phone number exists already."),
    "email": _l("An account with this e-mail address exists already."),
}


def party_with_phone(phone: str, *, real_name: str, id_number: str | None = None) -> User:
    """The account that holds ``phone`` (already validated), or a new party account in that
    name: people named in a dispute or invited to a session need no sign-up of their own.

    An existing account is the number's owner only once it proved the number; until then
    nobody can log in to it (``load_user``), and whoever later proves the number with a
    code sent there takes it over (``prove_contact``). The name given here is kept on the
    case (``CaseParty.named_name``), never taken from the account to show the one who typed
    the number."""
    # What was typed is checked first, the same whether or not the number has an account,
    # so a refusal never tells that it has one.
    if not real_name.strip():
        raise FieldError("real_name", _("Please enter the real name."))
    try:
        id_number = validate_id_number(id_number) if id_number else None
    except IdentityError as error:
        raise FieldError("id_number", str(error)) from None
    user = db.session.scalar(select(User).where(User.phone == phone))
    if user is None:
        user = create_user(
            real_name=real_name, phone=phone, id_number=id_number, roles=[Role.party]
        )
    return user


def set_identity(
    user: User, *, id_number: str | None, ethnicity: str | None, vouched: bool = False
) -> bool:
    """Record the ID number (and ethnicity) ``user`` claims; True when anything changed.

    Only a claim: a mediator confirms it on camera later (``confirm_id_number``). Once
    confirmed, the number is fixed: nobody changes it here, neither the person (who could
    otherwise swap a confirmed number for another) nor a mediator; only an ethnicity that
    was never given may still be added, by the mediator who sees the card (``vouched``).
    Who may call this for whom is the caller's rule (the person themselves, or the
    mediator of one of their cases: ``cases.identity``). An empty ``id_number`` keeps the
    number on record. Raises ``FieldError``."""
    try:
        number = validate_id_number(id_number) if (id_number or "").strip() else None
    except IdentityError as error:
        raise FieldError("id_number", str(error)) from None
    try:
        code = validate_ethnicity(ethnicity)
    except IdentityError as error:
        raise FieldError("ethnicity", str(error)) from None
    changed = False
    if user.id_confirmed_at is not None:
        if number is not None and number != user.id_number:
            raise FieldError(
                "id_number",
                _("This ID number was confirmed on camera and can no longer be changed here."),
            )
        if code is not None and code != user.ethnicity:
            if user.ethnicity is not None or not vouched:
                raise FieldError(
                    "ethnicity",
                    _("This identity was confirmed on camera and can no longer be changed here."),
                )
            user.ethnicity, changed = code, True
    else:
        if number is not None and number != user.id_number:
            # Not checked against other accounts: a claim tells nobody whether the number
            # is held elsewhere (docs/security.md); confirmation is where it is decided.
            user.id_number, changed = number, True
        if code is not None and code != user.ethnicity:
            user.ethnicity, changed = code, True
    if user.id_number is None:
        raise FieldError("id_number", _("Please enter the resident ID number."))
    db.session.flush()
    return changed


def confirm_id_number(user: User, *, by: User, now: datetime | None = None) -> bool:
    """A mediator saw the person and their identity card on camera: the ID number they
    claimed is theirs (SPC online mediation rules art 17). False when there is no number to
    confirm, or another account holds it confirmed already (then both claims need a
    closer look, and nothing is decided here)."""
    if not user.id_number or user.id_confirmed_at is not None:
        return user.id_confirmed_at is not None
    try:
        # The unique index on confirmed numbers decides, also between two mediators at the
        # same moment (no read first: every identity confirmation in a room pays for it).
        with db.session.begin_nested():
            user.id_confirmed_at, user.id_confirmed_by_id = now or utcnow(), by.id
            db.session.flush()
    except IntegrityError:
        db.session.refresh(user)
        return False
    return True


def check_unique(**values: str | None) -> None:
    for field, value in values.items():
        if value and db.session.scalar(select(User.id).where(getattr(User, field) == value)):
            raise FieldError(field, str(_UNIQUE_MESSAGES[field]))


# -- organisations and staff -------------------------------------------------------------

# Which organisation each staff role belongs to.
INSTITUTION_ROLES = frozenset({Role.mediator, Role.institution_admin})
COURT_ROLES = frozenset({Role.court_clerk, Role.judge})


def check_division(field: str, code: str | None) -> None:
    """A division code an administrator typed names a division of the list (core.divisions):
    a mistyped digit would otherwise file an institution's cases, or a region's staff, under
    a place that does not exist, and their pages would stay empty without saying why."""
    if code and not divisions.exists(divisions.prefix(code)):
        raise FieldError(
            field,
            _(
                "No administrative division has the code %(code)s. Check it against the "
                "list of division codes; a division created after %(year)s is added by the "
                "platform's operator.",
                code=code,
                year=divisions.LIST_YEAR,
            ),
        )


def create_institution(
    *, name: str, region_code: str, address: str, street_code: str | None = None
) -> Institution:
    if db.session.scalar(select(Institution.id).where(Institution.name == name.strip())):
        raise FieldError("name", _("An institution with this name exists already."))
    check_division("region_code", region_code)
    check_division("street_code", street_code)
    # A street within the served division, whatever its level (320000 serves 320102001).
    if street_code and not divisions.within(street_code, divisions.prefix(region_code)):
        raise FieldError("street_code", _("The street must lie in the region served."))
    institution = Institution(
        name=name.strip(),
        region_code=region_code,
        address=address.strip(),
        area_code=divisions.prefix(street_code) or divisions.prefix(region_code) or None,
    )
    db.session.add(institution)
    db.session.flush()
    return institution


def create_court(*, name: str, level: CourtLevel, region_code: str, address: str = "") -> Court:
    if db.session.scalar(select(Court.id).where(Court.name == name.strip())):
        raise FieldError("name", _("A court with this name exists already."))
    check_division("region_code", region_code)
    court = Court(
        name=name.strip(), level=CourtLevel(level), region_code=region_code, address=address
    )
    db.session.add(court)
    db.session.flush()
    return court


def create_staff(
    *,
    role: Role,
    institution_id: int | None = None,
    court_id: int | None = None,
    profile: dict[str, Any] | None = None,
    area_code: str | None = None,
    **identity: str | None,
) -> User:
    """Open a staff account; the person chooses a password with the code sent to them."""
    role = Role(role)
    area = divisions.prefix(area_code)
    if role == Role.governance and not area:
        raise FieldError("area_code", _("Enter the code of the region this person watches."))
    if role == Role.governance:
        check_division("area_code", area_code)
    if role in INSTITUTION_ROLES and not db.session.get(Institution, institution_id or 0):
        raise FieldError("institution_id", _("Choose the institution this person works for."))
    if role in COURT_ROLES and not db.session.get(Court, court_id or 0):
        raise FieldError("court_id", _("Choose the court this person works for."))
    user = create_user(
        roles=[role],
        institution_id=institution_id if role in INSTITUTION_ROLES else None,
        court_id=court_id if role in COURT_ROLES else None,
        **identity,
    )
    if role == Role.governance:
        user.area_code = area
    if role == Role.mediator:
        # What parties see when they choose a mediator (SPC online mediation rules art 5).
        user.mediator_profile = MediatorProfile(**(profile or {}))
    issue_code(user, CodePurpose.password_reset)
    return user


# -- one-time codes (codes.py) and registration (registration.py) ------------------------


def reset_password(user: User, code: str, new_password: str) -> None:
    check_password_strength(new_password)
    if not consume_code(user, CodePurpose.password_reset, code):
        raise FieldError("code", _("The code is wrong or has expired. Ask for a new one."))
    set_password(user, new_password)
    db.session.flush()


def set_time_zone(user: User, name: str) -> None:
    """The zone ``user`` reads times in (IANA name); times are stored in UTC regardless."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise FieldError("time_zone", _("Unknown time zone.")) from None
    user.time_zone = name
    db.session.flush()
