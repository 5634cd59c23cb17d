"""Language selection: the visitor's explicit choice, else their account's, else Chinese."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app, has_request_context, request, session
from flask_babel import lazy_gettext as _l
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


# One way of writing a day and a time on every page and document (issue #16: pages wrote
# "星期一 7 十二月" and "周一 30 11月"): 2026年12月7日（周一）and 2026年12月7日（周一）09:30 in
# Chinese; the same parts in another language's own order.
WEEKDAY_ZH = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


def format_day(day: date | datetime | str, zone: ZoneInfo | None = None) -> str:
    """A calendar day as people write it: 2026年12月7日（周一）. An instant is first taken
    to ``zone`` (the viewer's, by default); a string is an ISO date (an agreement's
    deadline as its draft keeps it)."""
    from babel.dates import format_date
    from flask_babel import get_locale

    if isinstance(day, str):
        try:
            day = date.fromisoformat(day.strip())
        except ValueError:
            return day  # not a date: shown as it was written
    if isinstance(day, datetime):
        day = day.astimezone(zone or ZoneInfo(select_timezone())).date()
    locale = get_locale()
    if locale is not None and locale.language == "zh":
        return f"{day.year}年{day.month}月{day.day}日（{WEEKDAY_ZH[day.weekday()]}）"
    return format_date(day, "EEE d MMM y", locale=locale)


def format_month(month: str) -> str:
    """A calendar month named 'YYYY-MM' (as the region figures count them) as people write
    it: 2026年12月 in Chinese, "Dec 2026" in English."""
    from babel.dates import format_date
    from flask_babel import get_locale

    try:
        day = date(int(month[:4]), int(month[5:7]), 1)
    except (ValueError, IndexError):
        return month  # not a month: shown as it was written
    locale = get_locale()
    if locale is not None and locale.language == "zh":
        return f"{day.year}年{day.month}月"
    return format_date(day, "MMM y", locale=locale)


def format_clock(value: datetime | time, zone: ZoneInfo | None = None) -> str:
    """The time of day on a 24-hour clock: 09:30."""
    if isinstance(value, datetime):
        value = value.astimezone(zone or ZoneInfo(select_timezone()))
    return f"{value.hour:02d}:{value.minute:02d}"


def zone_name(zone: ZoneInfo | str | None = None) -> str:
    """A time zone as people name it: 北京时间 for the platform's, the place otherwise."""
    from babel.dates import get_timezone_location
    from flask_babel import get_locale

    key = zone if isinstance(zone, str) else (zone or ZoneInfo(select_timezone())).key
    if key in ("Asia/Shanghai", "Asia/Chongqing", "PRC"):
        return str(_l("Beijing time"))
    if key in ("UTC", "Etc/UTC"):
        return str(_l("Coordinated Universal Time"))
    try:
        return get_timezone_location(key, locale=get_locale())
    except LookupError:
        return key


def format_when(value: datetime, zone: ZoneInfo | None = None) -> str:
    """An instant as the viewer (or ``zone``) reads it: 2026年12月7日（周一）09:30; the zone
    is named when it is not the platform's own, so nobody is misled."""
    zone = zone or ZoneInfo(select_timezone())
    text = f"{format_day(value, zone)}{'' if _is_zh() else ' '}{format_clock(value, zone)}"
    if zone.key != current_app.config["BABEL_DEFAULT_TIMEZONE"]:
        text += f"（{zone_name(zone)}）" if _is_zh() else f" ({zone_name(zone)})"
    return text


def _is_zh() -> bool:
    from flask_babel import get_locale

    locale = get_locale()
    return locale is not None and locale.language == "zh"


NAMED_FORMATS = ("when", "short", "medium", "long", "full")


def localtime(value, zone: ZoneInfo | None = None, format: str = "medium") -> str:
    """A UTC instant as the viewer (or ``zone``) reads it, in the current language.

    Every named format ("when", "short", ...) is the one way of ``format_when``; a Babel
    pattern ("HH:mm", "yyyy-MM-dd HH:mm:ss") is used as it is (a document's fixed layout).
    """
    from babel.dates import format_datetime
    from flask_babel import get_locale

    if value is None:
        return ""
    zone = zone or ZoneInfo(select_timezone())
    if format in NAMED_FORMATS:
        return format_when(value, zone)
    return format_datetime(value, format, tzinfo=zone, locale=get_locale())


def datetime_filter(value, format: str = "medium") -> str:
    """Flask-Babel's ``datetimeformat`` filter, written the one way for named formats."""
    return localtime(value, None, format)


def date_filter(value, format: str = "medium") -> str:
    """Flask-Babel's ``dateformat`` filter, written the one way for named formats."""
    from babel.dates import format_date
    from flask_babel import get_locale

    if value is None:
        return ""
    # "long" is a day without its weekday (2026年12月7日): a date of birth, a document's date.
    if format in NAMED_FORMATS and format != "long":
        return format_day(value)
    if isinstance(value, str):  # an ISO date, as an agreement's draft keeps its deadlines
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            return value  # not a date: shown as it was written
    return format_date(value, format, locale=get_locale())
