"""Language selection: the visitor's explicit choice, else their account's, else Chinese."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app, has_request_context, request, session
from flask_login import current_user


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # a worker or a command: the platform's language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = session.get("locale")
    if chosen in languages:
        return chosen
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    # ?lang= lets a link in an SMS or e-mail open in the recipient's language.
    asked = request.args.get("lang")
    if asked in languages:
        return asked
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def html_lang(locale: str) -> str:
    """The BCP 47 tag for <html lang>: zh_Hans_CN -> zh-Hans-CN."""
    return locale.replace("_", "-")


def user_zone(user) -> ZoneInfo:
    """The zone ``user`` reads times in: their own choice, else the platform's."""
    name = getattr(user, "time_zone", None) or current_app.config["BABEL_DEFAULT_TIMEZONE"]
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def select_timezone() -> str:
    """Flask-Babel's time zone for formatting: the logged-in viewer's, else the platform's."""
    if has_request_context() and current_user and current_user.is_authenticated:
        return user_zone(current_user).key
    return current_app.config["BABEL_DEFAULT_TIMEZONE"]


def localtime(value, zone: ZoneInfo | None = None, format: str = "medium") -> str:
    """A UTC instant as the viewer (or ``zone``) reads it, in the current language; the
    zone's name is added when it is not the platform's own, so nobody is misled.

    ``format`` is a Babel format or pattern, or "when": the full date with the weekday and
    the time in hours and minutes, as an appointment is written (2026年11月24日星期二 09:00).
    """
    from babel.dates import format_date, format_datetime, format_time
    from flask_babel import get_locale

    zone = zone or ZoneInfo(select_timezone())
    locale = get_locale()
    if format == "when":
        local = value.astimezone(zone)
        day = format_date(local, "full", locale=locale)
        text = f"{day} {format_time(local, 'short', locale=locale)}"
    else:
        text = format_datetime(value, format, tzinfo=zone, locale=locale)
    named = format in ("when", "short", "medium", "long", "full")
    if named and zone.key != current_app.config["BABEL_DEFAULT_TIMEZONE"]:
        text += f" ({zone.key})"
    return text
