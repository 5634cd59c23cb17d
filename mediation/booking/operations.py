"""Booking sessions: directly, or by offering times the parties choose from; rescheduling,
cancelling, and the parties' consent to separate sessions (SPC online mediation rules
art 16). Operations flush, never commit.

Double booking is impossible because the database refuses overlapping live sessions of one
mediator (see ``models.py``). Before inserting, each operation also takes the mediator's
calendar lock (an UPDATE of their settings row) so that the daily limit, which no constraint
expresses, is counted with nothing changing underneath; and so that the person booking gets
the precise reason ("outside your hours", "the day is full") instead of a bare conflict.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Collection
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from mediation.accounts import operations as accounts
from mediation.accounts.identity import IdentityError, validate_phone
from mediation.accounts.models import User
from mediation.cases import agency
from mediation.cases.labels import STATUS_NAMES
from mediation.cases.models import Case, Side
from mediation.cases.states import CaseStatus
from mediation.cases.workflow import NotPermittedError
from mediation.core.db import utcnow
from mediation.core.forms import FieldError
from mediation.extensions import db
from mediation.journal import operations as journal

from . import links, notices, reminders, repeats, slots
from .availability import settings_for
from .models import (
    BookingSettings,
    JoinsFrom,
    MediationSession,
    SessionParticipant,
    SessionStatus,
)
from .repeats import (
    CancelledAlreadyError,
    GuestInvitedAlreadyError,
    LinksJustSentError,
    MovedAlreadyError,
    StartedAlreadyError,
)
from .slots import SlotUnavailableError

# Sessions are for cases in which both sides agreed to mediate (art 15).
BOOKABLE = (CaseStatus.in_mediation, CaseStatus.agreement_drafted)
_BEFORE_MEDIATION = (
    CaseStatus.draft,
    CaseStatus.submitted,
    CaseStatus.declined,
    CaseStatus.awaiting_respondent,
)
MAX_OFFERED = 6
CLOSED = (CaseStatus.terminated, CaseStatus.confirmed, CaseStatus.rejected)
NOT_AGREED = _l("no time was agreed before it began")
CASE_ENDED = _l("the case has ended")
NEW_MEDIATOR = _l("the case has a new mediator, who will book again")
CONSENT_WITHDRAWN = _l("a party withdrew consent to separate sessions (art 16)")

CHOSEN_ELSEWHERE = _l("another offered time was chosen")


def lock_calendar(mediator_id: int, case_id: int | None = None) -> BookingSettings:
    """Serialise the bookings of one mediator until the transaction ends (row lock on
    PostgreSQL, the write lock on SQLite); then, for a step on ``case_id``'s sessions, the
    case's turn, before any session is written (core/locks.py: the order of locks; the
    room's end journals, then marks the session held)."""
    settings = settings_for(mediator_id)
    db.session.execute(
        update(BookingSettings)
        .where(BookingSettings.mediator_id == mediator_id)
        .values(version=BookingSettings.version + 1)
        .execution_options(synchronize_session=False)
    )
    if case_id is not None:
        journal.turn(case_id)
    return settings


def _must_be_mediator(case: Case, by: User) -> None:
    if case.mediator_id is None or case.mediator_id != by.id:
        raise NotPermittedError(_("Only the case's mediator can arrange its sessions."))
    if case.status not in BOOKABLE:
        if case.status in _BEFORE_MEDIATION:
            raise NotPermittedError(
                _("Sessions can be booked once both sides have agreed to mediate.")
            )
        # A page left open while the case was ended, or its agreement signed: said as it is.
        raise NotPermittedError(
            _(
                "This case is now %(status)s: no more sessions are arranged for it.",
                status=STATUS_NAMES[case.status],
            )
        )


def _must_be_fixed(session: MediationSession, otherwise: str) -> None:
    """The session is fixed (scheduled); a cancelled one says so, with the reason given,
    to a mediator whose page still showed it; ``otherwise`` is for times still offered."""
    if session.status == SessionStatus.cancelled:
        raise NotPermittedError(
            _(
                "This session was cancelled (%(reason)s); nothing more is done with it.",
                reason=session.cancel_reason or "",
            )
        )
    if session.status != SessionStatus.scheduled:
        raise NotPermittedError(otherwise)


def _check_side(case: Case, side: str | None) -> None:
    if side is None:
        return
    if side not in set(Side):
        raise FieldError("side", _("Choose who takes part."))
    # Art 16: separate times for each side only with the consent of every party.
    if any(p.separate_sessions_at is None for p in case.parties):
        raise FieldError("side", _("Separate sessions need the consent of every party (art 16)."))


def _check_fits(
    settings: BookingSettings,
    start: datetime,
    end: datetime,
    now: datetime,
    *,
    ignore: int | None = None,
    offer_key: str | None = None,
) -> bool:
    """Refuse a time that cannot be booked, with the reason; else say whether it lies in
    the mediator's public reception hours."""
    day = start.astimezone(ZoneInfo(settings.time_zone)).date()
    rules = slots.load_rules(settings.mediator_id, day, day)
    busy = slots.load_busy(settings.mediator_id, day, day, ignore=ignore)
    why = slots.fits(rules, start, end, busy, now=now, offer_key=offer_key)
    if why is not None:
        raise SlotUnavailableError(why)
    return slots.in_reception(rules, start, end)


def _flush_or_taken() -> None:
    """Flush; the database's refusal of an overlapping session becomes a clear message."""
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as error:
        if "no_double_booking" in str(error.orig):
            raise SlotUnavailableError("taken") from None
        raise


def _new_session(
    case: Case,
    settings: BookingSettings,
    start: datetime,
    minutes: int,
    *,
    by: User,
    status: SessionStatus,
    side: str | None,
    at_site: Collection[int],
    note: str,
    reception: bool,
    offer_key: str | None = None,
) -> MediationSession:
    end = start + timedelta(minutes=minutes)
    session = MediationSession(
        case_id=case.id,
        mediator_id=case.mediator_id,
        start_at=start,
        end_at=end,
        busy_until=end + timedelta(minutes=settings.buffer_minutes),
        local_day=start.astimezone(ZoneInfo(settings.time_zone)).date(),
        status=status,
        offer_key=offer_key,
        side=side,
        uid=f"{uuid.uuid4()}@online-mediation",
        reception=reception,
        note=note.strip(),
        created_by_id=by.id,
    )
    session.participants.append(SessionParticipant(user_id=case.mediator_id, role="mediator"))
    for party in case.parties:
        if side is not None and party.side != side:
            continue
        session.participants.append(
            SessionParticipant(
                user_id=party.user_id,
                role="agent" if party.is_agent else "party",
                joins_from=JoinsFrom.site if party.user_id in at_site else JoinsFrom.home,
            )
        )
    db.session.add(session)
    _flush_or_taken()
    return session


def _journal(session: MediationSession, kind: str, by: User | None, **extra) -> None:
    journal.append(
        session.case_id,
        f"session.{kind}",
        {
            "session_id": session.id,
            "start": session.start_at.isoformat(),
            "end": session.end_at.isoformat(),
            "side": session.side,
            **extra,
        },
        actor_id=by.id if by else None,
    )


def book(
    case: Case,
    *,
    by: User,
    start: datetime,
    minutes: int | None = None,
    side: str | None = None,
    at_site: Collection[int] = (),
    note: str = "",
    now: datetime | None = None,
) -> MediationSession:
    """Book a session at ``start``; everyone is invited at once. The same form again a
    moment later (a double tap) raises ``BookedAlreadyError`` with what the first booked."""
    _must_be_mediator(case, by)
    _check_side(case, side)
    settings = lock_calendar(case.mediator_id, case.id)
    minutes = minutes or settings.session_minutes
    repeats.refuse_booked_just_now(case, by, [start], minutes, side, at_site, note, offered=False)
    reception = _check_fits(settings, start, start + timedelta(minutes=minutes), now or utcnow())
    session = _new_session(
        case,
        settings,
        start,
        minutes,
        by=by,
        status=SessionStatus.scheduled,
        side=side,
        at_site=at_site,
        note=note,
        reception=reception,
    )
    reminders.covered_by_notice(session, now or utcnow())
    _journal(session, "booked", by)
    notices.tell(session, notices.BOOKED, calendar="REQUEST")
    return session


def open_session_of(case: Case, now: datetime) -> MediationSession | None:
    """The case's session whose room is open at ``now`` (from shortly before its start to
    shortly after its end), if any; the earliest when there are several."""
    return next(
        (
            s
            for s in _live_of_case(case.id, since=now - links.AFTER_END)
            if links.window_open(s.status, s.start_at, s.end_at, now)
        ),
        None,
    )


def start_now(
    case: Case,
    *,
    by: User,
    parties_agreed: bool,
    minutes: int | None = None,
    now: datetime | None = None,
) -> MediationSession:
    """立即调解: a session of the whole case starting now, when the parties agree to meet at
    once (a call from the mediator, or all of them at the institution's office).

    No minimum notice, weekly hours or daily limit apply: they exist so that parties have
    time to arrange to be free, and here they have agreed to start. No rule asks for notice:
    the People's Mediation Law wants disputes mediated "in good time" (及时, art 21), and
    under the SPC online mediation rules the mediator, having confirmed how the parties take
    part, appoints the time at which they all log in (art 16 (1)), online mediation needing
    their consent (art 4). The mediator states that the parties agreed, and the journal keeps
    it. Sessions already in the mediator's calendar still may not overlap.

    The parties get one text each with their personal link (no reminder follows: it would
    arrive at the same moment); the mediator, who pressed the button, goes to the room."""
    _must_be_mediator(case, by)
    if not parties_agreed:
        raise FieldError(
            "parties_agreed",
            _("Start at once only when the parties have agreed to it, and tick the box."),
        )
    settings = lock_calendar(case.mediator_id, case.id)
    now = (now or utcnow()).replace(microsecond=0)
    open_now = open_session_of(case, now)
    if open_now is not None and repeats.started_just_now(open_now, by):
        raise StartedAlreadyError(open_now)  # the same press again: its room is the answer
    if open_now is not None:
        raise NotPermittedError(_("A session of this case is open now: enter its room."))
    minutes = minutes or settings.session_minutes
    end = now + timedelta(minutes=minutes)
    day = now.astimezone(ZoneInfo(settings.time_zone)).date()
    busy = slots.load_busy(case.mediator_id, day, day)
    if slots.conflicts(now, end, busy, timedelta(minutes=settings.buffer_minutes)):
        raise NotPermittedError(
            _(
                "Another session in your calendar falls within the next %(minutes)d minutes: "
                "move it, or book this one for later.",
                minutes=minutes + settings.buffer_minutes,
            )
        )
    session = _new_session(
        case,
        settings,
        now,
        minutes,
        by=by,
        status=SessionStatus.scheduled,
        side=None,
        at_site=(),
        note="",
        reception=False,
    )
    reminders.covered_by_notice(session, now)
    _journal(session, "started_now", by, parties_agreed=True)
    notices.tell(
        session,
        notices.STARTED_NOW,
        calendar="REQUEST",
        participants=[p for p in session.participants if p.role != "mediator"],
    )
    return session


def offered_with(session: MediationSession) -> list[MediationSession]:
    """The times offered together with ``session`` that are still open, by start, as the
    database has them now (call with the calendar locked)."""
    key = session.offer_key
    query = select(MediationSession).where(MediationSession.status == SessionStatus.offered)
    query = query.where(
        MediationSession.offer_key == key if key else MediationSession.id == session.id
    )
    return db.session.scalars(
        query.order_by(MediationSession.start_at).execution_options(populate_existing=True)
    ).all()


def _locked(session: MediationSession, *, calendar: bool = True) -> MediationSession:
    """Lock the mediator's calendar and take the case's turn, then read ``session`` again:
    whatever another request or worker did to it before the lock is seen, and nothing
    changes it until the commit. ``calendar=False``: the case's turn alone, for a step that
    holds it already (a calendar is taken before any case's turn, never after)."""
    if calendar:
        lock_calendar(session.mediator_id, session.case_id)
    else:
        journal.turn(session.case_id)
    db.session.refresh(session)
    return session


def _not_held(session: MediationSession) -> None:
    """A session that took place (ended in its room) is a record now: not moved,
    cancelled, re-sent or joined by more people."""
    if session.ended_at is not None:
        raise NotPermittedError(_("This session has already taken place."))


def session_ended(session: MediationSession, *, at: datetime) -> None:
    """The mediator ended the session in its room (the rooms feature journals it as
    ``room.ended``): it took place, and its pages say so from now on."""
    if session.ended_at is None:
        session.ended_at = at
        if at < session.end_at:
            # Ended early: what the calendar holds is the time it really took, so the
            # mediator may begin again (a session ended by mistake) or take the next one.
            # The booked buffer after it is for sessions that run their length.
            session.end_at = max(at, session.start_at + timedelta(minutes=1))
            session.busy_until = session.end_at
        db.session.flush()


def _reason(reason: str | LazyString) -> str:
    if isinstance(reason, LazyString):  # the platform's own reason: stored in its language
        with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
            reason = str(reason)
    reason = reason.strip()
    if not reason:
        raise FieldError("reason", _("Please give the reason; everyone is told."))
    return reason[:500]


def reschedule(
    session: MediationSession,
    *,
    by: User,
    start: datetime,
    reason: str,
    minutes: int | None = None,
    now: datetime | None = None,
) -> MediationSession:
    """Move a fixed session; calendars replace the event (same UID, higher SEQUENCE). The
    same move again a moment later (a double tap, two tabs) raises ``MovedAlreadyError``:
    the first one's commit is read under the calendar lock."""
    reason = _reason(reason)
    settings = lock_calendar(session.mediator_id, session.case_id)
    db.session.refresh(session)
    _must_be_mediator(session.case, by)
    _must_be_fixed(session, _("Only a fixed session can be moved."))
    _not_held(session)
    length = timedelta(minutes=minutes) if minutes else session.end_at - session.start_at
    if repeats.moved_just_now(session, by, start, length, reason):
        raise MovedAlreadyError  # done, and everyone was told: no second set of texts
    reception = _check_fits(settings, start, start + length, now or utcnow(), ignore=session.id)
    before = session.start_at
    session.start_at = start
    session.end_at = start + length
    session.busy_until = session.end_at + timedelta(minutes=settings.buffer_minutes)
    session.local_day = start.astimezone(ZoneInfo(settings.time_zone)).date()
    session.reception = reception
    session.sequence += 1
    session.reminded_day_at = session.reminded_hour_at = None  # due again for the new time
    reminders.covered_by_notice(session, now or utcnow())
    _flush_or_taken()
    _journal(session, "rescheduled", by, reason=reason, previous_start=before.isoformat())
    notices.tell(session, notices.RESCHEDULED, reason=reason, calendar="REQUEST")
    return session


def _cancel_rows(rows: list[MediationSession], by: User | None, reason: str, now: datetime) -> None:
    for each in rows:
        each.status = SessionStatus.cancelled
        each.cancelled_at = now
        each.cancel_reason = reason
        each.sequence += 1
        _journal(each, "cancelled", by, reason=reason)
    db.session.flush()


def cancel(
    session: MediationSession,
    *,
    by: User | None,
    reason: str | LazyString,
    now: datetime | None = None,
    calendar: bool = True,
) -> None:
    """Call a session off (or withdraw all the times offered with it); the slot is free
    again at once and everyone is told. ``calendar=False`` for a step that holds the case's
    turn already (``_locked``)."""
    told = reason  # a platform reason is told in each participant's language
    reason = _reason(reason)
    _locked(session, calendar=calendar)
    if by is not None:
        _must_be_mediator(session.case, by)
    if session.status == SessionStatus.cancelled:
        if by is not None and repeats.cancelled_just_now(session, by, reason):
            raise CancelledAlreadyError  # the same form again: done, everyone was told
        raise NotPermittedError(_("This session is already cancelled."))
    _not_held(session)
    now = now or utcnow()
    if session.status == SessionStatus.scheduled:
        _cancel_rows([session], by, reason, now)
        notices.tell(session, notices.CANCELLED, reason=told, calendar="CANCEL")
    else:
        _cancel_rows(offered_with(session), by, reason, now)
        notices.tell(session, notices.WITHDRAWN, reason=told)


GUEST_RELATIONS = ("relative", "neighbour", "colleague", "expert", "interpreter", "other")
# Who comes with no side: they are neutral, and wait alone while a side is in a caucus.
NEUTRAL_RELATIONS = ("expert", "interpreter")


def invite_guest(
    session: MediationSession,
    *,
    by: User,
    real_name: str,
    phone: str,
    relation: str,
    side: str | None,
    id_number: str | None = None,
) -> SessionParticipant:
    """People's Mediation Law art 20: the mediator may invite a party's relatives,
    neighbours or colleagues, or people with special knowledge, to take part. They get their
    own link, and their identity is confirmed on camera like everyone's."""
    _locked(session)
    _must_be_mediator(session.case, by)
    _must_be_fixed(session, _("Guests are invited once the parties have chosen the time."))
    _not_held(session)
    if relation not in GUEST_RELATIONS:
        raise FieldError("relation", _("Choose how the person is related to the dispute."))
    if relation in NEUTRAL_RELATIONS:
        side = None
    elif side not in set(Side):
        raise FieldError("side", _("Choose whose side the person comes with."))
    elif session.side is not None and side != session.side:
        # A separate session (art 16) is for one side: its guests come with that side.
        raise FieldError("side", _("This session is for the other side only."))
    try:
        phone = validate_phone(phone, current_app.config["DEFAULT_PHONE_REGION"])
    except IdentityError as error:
        raise FieldError("phone", str(error)) from None
    guest = accounts.party_with_phone(phone, real_name=real_name, id_number=id_number)
    if guest.real_name != real_name.strip():
        # The number belongs to someone else: their name is not revealed.
        raise FieldError("phone", _("This number belongs to a person with another name."))
    if any(p.user_id == guest.id for p in session.case.parties):
        raise FieldError("phone", _("This person is a party to the case, not a guest."))
    present = next((p for p in session.participants if p.user_id == guest.id), None)
    if present is not None:
        if (present.role, present.relation, present.side) == ("guest", relation, side):
            # The same invitation again (a double tap, a phone resending the POST, a second
            # tab: the calendar lock above made it wait for the first one): done already.
            raise GuestInvitedAlreadyError
        raise FieldError("phone", _("This person already takes part in the session."))
    participant = SessionParticipant(user_id=guest.id, role="guest", relation=relation, side=side)
    session.participants.append(participant)
    db.session.flush()
    _journal(session, "guest_invited", by, user_id=guest.id, relation=relation, guest_side=side)
    notices.tell(session, notices.BOOKED, calendar="REQUEST", participants=[participant])
    return participant


def resend_links(
    session: MediationSession,
    *,
    by: User,
    shown: str | None = None,
    now: datetime | None = None,
) -> datetime | None:
    """New personal links for everyone but the mediator, sent again (a party lost the
    message, or a link went to the wrong hands): the links sent before stop working at
    once. ``shown``: the links the form was shown with (``repeats.links_shown``): the same
    form again within the window is a repeat (``LinksJustSentError``), a form shown after
    the renewal a new request, however soon. Returns when the last message goes, if some
    must wait for their turn to a number (``notices.tell_new_links``)."""
    now = now or utcnow()
    _locked(session)
    _must_be_mediator(session.case, by)
    _must_be_fixed(session, _("Links are sent again once the parties have chosen the time."))
    _not_held(session)
    # Read after the calendar lock: the same request twice at once takes turns here, and
    # the second one sees the first one's entry.
    if shown is not None and repeats.links_renewed_from(session, shown, now):
        raise LinksJustSentError
    dead = {}
    for participant in session.participants:
        if participant.role != "mediator":
            dead[participant] = links.url_for_participant(participant)
            participant.link_nonce = secrets.token_hex(8)
    db.session.flush()
    # The form's own links, even on a page older than the window: its repeat is known too.
    _journal(session, "links_renewed", by, form=shown or repeats.links_shown(session))
    return notices.tell_new_links(session, dead, now=now)


def consent_to_separate_sessions(case: Case, user: User, consent: bool) -> None:
    """A party's consent (or its withdrawal) to being heard at separate times (art 16).
    Without every party's consent, separate sessions still to come are cancelled."""
    agency.check_may_act(case, user)
    party = next((p for p in case.parties if p.user_id == user.id), None)
    if party is None or case.status not in BOOKABLE:
        raise NotPermittedError(_("You may not take this step in this case."))
    party.separate_sessions_at = utcnow() if consent else None
    db.session.flush()
    journal.append(
        case.id,
        "session.separate_consent" if consent else "session.separate_consent_withdrawn",
        {},
        actor_id=user.id,
    )
    if not consent:
        for session in _live_of_case(case.id, since=utcnow()):
            if session.side is not None and session.status != SessionStatus.cancelled:
                cancel(session, by=None, reason=CONSENT_WITHDRAWN)


def _live_of_case(case_id: int, *, since: datetime) -> list[MediationSession]:
    return db.session.scalars(
        select(MediationSession)
        .where(
            MediationSession.case_id == case_id,
            MediationSession.status != SessionStatus.cancelled,
            MediationSession.ended_at.is_(None),
            MediationSession.end_at > since,
        )
        .order_by(MediationSession.start_at)
    ).all()
