"""A mediator's booking settings, weekly hours and date exceptions (operations: they flush)."""

from __future__ import annotations

from datetime import date, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from mediation.core.forms import FieldError
from mediation.extensions import db

from .models import AvailabilityException, AvailabilityRule, BookingSettings, new_feed_token


def settings_for(mediator_id: int) -> BookingSettings:
    """The mediator's settings, created with the defaults on first use."""
    settings = db.session.get(BookingSettings, mediator_id)
    if settings is not None:
        return settings
    try:
        with db.session.begin_nested():  # another request may create it at the same moment
            settings = BookingSettings(
                mediator_id=mediator_id,
                time_zone=current_app.config["BABEL_DEFAULT_TIMEZONE"],
                min_notice_hours=current_app.config["BOOKING_MIN_NOTICE_HOURS"],
            )
            db.session.add(settings)
    except IntegrityError:
        settings = db.session.get(BookingSettings, mediator_id, populate_existing=True)
    return settings


def check_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise FieldError("time_zone", _("Unknown time zone.")) from None
    return name


def update_settings(settings: BookingSettings, **values) -> None:
    check_zone(values.get("time_zone", settings.time_zone))
    for key, value in values.items():
        setattr(settings, key, value)
    db.session.flush()


def _hours(starts: time, ends: time) -> None:
    if starts >= ends:
        raise FieldError("ends", _("The end must be later than the start."))


def add_rule(
    mediator_id: int, weekday: int, starts: time, ends: time, *, reception: bool, place: str
) -> AvailabilityRule:
    _hours(starts, ends)
    clash = db.session.scalar(
        select(AvailabilityRule.id).where(
            AvailabilityRule.mediator_id == mediator_id,
            AvailabilityRule.weekday == weekday,
            AvailabilityRule.starts < ends,
            starts < AvailabilityRule.ends,
        )
    )
    if clash is not None:
        raise FieldError("starts", _("These hours overlap hours you already have that day."))
    rule = AvailabilityRule(
        mediator_id=mediator_id,
        weekday=weekday,
        starts=starts,
        ends=ends,
        reception=reception,
        place=place.strip(),
    )
    db.session.add(rule)
    db.session.flush()
    return rule


def add_exception(
    mediator_id: int,
    day: date,
    starts: time | None,
    ends: time | None,
    *,
    available: bool,
    note: str,
) -> AvailabilityException:
    if (starts is None) != (ends is None):
        raise FieldError("ends", _("Give both a start and an end, or neither (the whole day)."))
    if starts is not None:
        _hours(starts, ends)
    elif available:
        raise FieldError("starts", _("Extra hours need a start and an end."))
    exception = AvailabilityException(
        mediator_id=mediator_id,
        day=day,
        starts=starts,
        ends=ends,
        available=available,
        note=note.strip(),
    )
    db.session.add(exception)
    db.session.flush()
    return exception


def remove(model: type[AvailabilityRule | AvailabilityException], mediator_id: int, id_: int):
    """Delete one of the mediator's own rules or exceptions; True if there was one."""
    result = db.session.execute(
        delete(model).where(model.id == id_, model.mediator_id == mediator_id)
    )
    return result.rowcount == 1


def renew_feed_token(settings: BookingSettings) -> None:
    """A new secret for the calendar feed URL: the old URL stops working."""
    settings.feed_token = new_feed_token()
    db.session.flush()
