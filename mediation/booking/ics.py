"""RFC 5545 calendar data: invitations by e-mail (iTIP REQUEST and CANCEL, RFC 5546) and
the mediator's private calendar feed.

Each session keeps one UID for life and a SEQUENCE that grows with every change, so that a
calendar program replaces the event it already holds instead of adding a second one.
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from icalendar import Calendar, Event, vCalAddress, vText

from mediation.core.db import utcnow

from . import links
from .models import MediationSession, SessionStatus

PRODID = "-//Online Mediation Platform//Booking//ZH"


def _calendar(method: str | None, name: str | None = None) -> Calendar:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    if method:
        cal.add("method", method)
    if name:
        cal.add("x-wr-calname", name)
    return cal


def _address(email: str | None, name: str, role: str | None = None) -> vCalAddress:
    # An attendee without e-mail still needs a URI; "invalid:" is the RFC 5545 convention.
    address = vCalAddress(f"mailto:{email}" if email else "invalid:nomail")
    address.params["cn"] = vText(name)
    if role:
        address.params["role"] = vText(role)
    return address


def event(
    session: MediationSession,
    *,
    summary: str,
    description: str,
    location: str,
    stamp: datetime | None = None,
) -> Event:
    ev = Event()
    ev.add("uid", session.uid)
    ev.add("sequence", session.sequence)
    ev.add("dtstamp", stamp or utcnow())
    ev.add("dtstart", session.start_at)
    ev.add("dtend", session.end_at)
    ev.add("summary", summary)
    ev.add("description", description)
    ev.add("location", location)
    cancelled = session.status == SessionStatus.cancelled
    ev.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    ev.add(
        "organizer",
        _address(current_app.config["MAIL_FROM"], session.mediator.real_name),
    )
    for p in session.participants:
        if links.seat_holds(p):  # not an agent the party refused since
            ev.add("attendee", _address(p.user.email, p.user.real_name, "REQ-PARTICIPANT"))
    return ev


def invitation(ev: Event, *, cancel: bool) -> bytes:
    """One event as an e-mail attachment: METHOD:REQUEST, or METHOD:CANCEL to withdraw it."""
    cal = _calendar("CANCEL" if cancel else "REQUEST")
    cal.add_component(ev)
    return cal.to_ical()


def feed(events: list[Event], name: str) -> bytes:
    """A subscribable calendar of many events (no METHOD: it is published, not sent)."""
    cal = _calendar(None, name)
    for ev in events:
        cal.add_component(ev)
    return cal.to_ical()
