"""What participants are told about their sessions: a text message with their personal join
link, and an e-mail with the same text and the .ics that puts the session in their calendar."""

from __future__ import annotations

import base64
from datetime import datetime

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from mediation.accounts import codes
from mediation.accounts.models import CodePurpose
from mediation.core.i18n import localtime, user_zone
from mediation.notify import operations as notify

from . import ics, links
from .models import JoinsFrom, MediationSession, SessionParticipant

BOOKED = _l(
    "Case %(number)s: a mediation session by video is booked for %(when)s. "
    "Check your phone or computer beforehand and join here: %(link)s"
)
STARTED_NOW = _l(
    "Case %(number)s: as agreed with you, the mediator is starting a mediation session by video "
    "now. Join here: %(link)s"
)
RESCHEDULED = _l(
    "Case %(number)s: the mediation session has moved to %(when)s (%(reason)s). Join here: %(link)s"
)
CANCELLED = _l("Case %(number)s: the mediation session of %(when)s is cancelled (%(reason)s).")
WITHDRAWN = _l("Case %(number)s: the times offered for a session are withdrawn (%(reason)s).")
OFFERED = _l(
    "Case %(number)s: the mediator offers times for a video session. Please choose the times "
    "you can attend: %(link)s"
)
REMINDER = _l("Reminder: the mediation session of case %(number)s starts %(when)s. Join: %(link)s")
AT_SITE = _l("Please come to %(place)s to join the session there.")
SUBJECT = _l("Mediation session, case %(number)s")
SUMMARY = _l("Mediation session, case %(number)s")


def when(session: MediationSession, participant: SessionParticipant) -> str:
    """The start in the participant's zone and language, e.g. 2026年11月24日星期二 09:00."""
    with force_locale(participant.user.locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
        return localtime(session.start_at, user_zone(participant.user), "when")


def _site(session: MediationSession) -> str:
    institution = session.case.institution
    return institution.address if institution is not None else ""


def tell(
    session: MediationSession,
    message: LazyString,
    *,
    reason: str | LazyString = "",
    calendar: str | None = None,
    participants: list[SessionParticipant] | None = None,
    not_before: datetime | None = None,
) -> None:
    """Queue ``message`` to every participant (or those given), with a calendar attachment
    by e-mail: ``calendar`` is "REQUEST" (new or changed) or "CANCEL". ``not_before``: it
    waits in the outbox until then (paced: ``operations.resend_links``)."""
    number = session.case.number
    for participant in participants if participants is not None else session.participants:
        if not links.seat_holds(participant):
            continue  # an agent the party refused since: their seat is a record only
        user = participant.user
        with force_locale(user.locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
            link = links.url_for_participant(participant)
            text = str(message) % {
                "number": number,
                "when": when(session, participant),
                "link": link,
                "reason": str(reason),
            }
            at_site = participant.joins_from == JoinsFrom.site and _site(session)
            if at_site:
                text += " " + str(AT_SITE) % {"place": _site(session)}
            if user.phone:
                notify.queue_sms(user.phone, text, not_before=not_before)
            if user.email:
                attachments = []
                if calendar is not None:
                    ev = ics.event(
                        session,
                        summary=str(SUMMARY) % {"number": number},
                        description=text,
                        location=_site(session) if at_site else link,
                    )
                    data = ics.invitation(ev, cancel=calendar == "CANCEL")
                    attachments.append(
                        {
                            "filename": "invite.ics",
                            "content_type": "text/calendar",
                            "params": {"method": calendar, "charset": "utf-8"},
                            "data": base64.b64encode(data).decode(),
                        }
                    )
                notify.queue_email(
                    user.email,
                    str(SUBJECT) % {"number": number},
                    text,
                    attachments,
                    not_before=not_before,
                )


def tell_new_links(
    session: MediationSession, dead: dict[SessionParticipant, str], *, now: datetime
) -> datetime | None:
    """Send each participant in ``dead`` (with the link of theirs that just died) their new
    link, as the booking was told. Returns when the last of these messages goes, if any
    must wait.

    The links died at once; the messages are paced like codes (``codes.note_slot``: one a
    minute to a number, a few an hour), so a mediator who sends the links again and again
    cannot flood a party's phone: a message that may not go yet waits in the outbox for
    its turn, and a message of theirs still waiting with the dead link is taken back and
    this one takes its place and its turn. So a number gets at most one such message at a
    time, and the one it gets has the link that works."""
    last = None
    for participant, link in dead.items():
        user = participant.user
        if not (user.phone or user.email):
            continue
        addresses = [a for a in (user.phone, user.email) if a]
        at = notify.withdraw_waiting(addresses, link, now) or codes.note_slot(
            user, CodePurpose.session_links, now=now
        )
        later = at if at > now else None
        tell(session, BOOKED, calendar="REQUEST", participants=[participant], not_before=later)
        if later is not None:
            last = max(last or later, later)
    return last
