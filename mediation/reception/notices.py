"""Who is told what about a reception talk: the booker when it is booked (with the time
and place), and when the host opened a case from it."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l

from mediation.notify import operations as notify

from .models import ReceptionBooking

BOOKED = _l(
    "Your reception talk is booked: %(day)s at %(time)s with %(host)s, at %(place)s. To "
    "cancel, log in to the mediation platform."
)
CASE_OPENED = _l(
    "A dispute application was drafted for you from your reception talk \u201c%(what)s\u201d. "
    "Log in to the mediation platform to check it and submit it."
)


def booked(booking: ReceptionBooking, zone: ZoneInfo) -> None:
    # The day in the booker's own zone (notify writes it); the time as the host's hours.
    notify.tell(
        booking.booker,
        BOOKED,
        day=booking.start_at,
        time=booking.start_at.astimezone(zone).strftime("%H:%M"),
        host=booking.host.real_name,
        place=booking.place,
    )


def case_opened(booking: ReceptionBooking) -> None:
    notify.tell(booking.booker, CASE_OPENED, what=booking.subject[:30])
