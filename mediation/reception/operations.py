"""Booking, cancelling and recording reception talks; a talk turned into a case or a
consultation answer with one action.

A host is anyone with public reception hours in booking's availability rules (a mediator,
or a volunteer of the 两代表一委员 reception given such hours). Slots are booking's own
(booking.slots, ``reception_only``), of ``TALK_MINUTES``, minus the talks already booked.
Everything here flushes; the request edge commits.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import exists, insert, literal, or_, select, update
from sqlalchemy.exc import IntegrityError

from mediation.accounts.models import User
from mediation.booking import slots
from mediation.booking.models import AvailabilityRule
from mediation.booking.operations import lock_calendar
from mediation.booking.signals import busy_asked
from mediation.cases import regions
from mediation.cases.models import Case
from mediation.cases.operations import open_case
from mediation.consultation import operations as consultation
from mediation.core.db import utcnow
from mediation.core.forms import FieldError
from mediation.core.locks import lock_rows
from mediation.extensions import db
from mediation.journal import operations as journal

from . import notices, repeats
from .models import BookingStatus, Outcome, ReceptionBooking
from .repeats import BookedAlreadyError, CancelledAlreadyError, TakenFurtherAlreadyError

TALK_MINUTES = 30  # a reception talk: a first hearing, not a mediation session
BOOK_DAYS = 14  # as far ahead as the public reception page shows
# Against one person holding many slots (a flood): so many talks to come at once, and one
# a day with the same host. Cancelling frees the allowance.
MAX_UPCOMING = 3
MAX_SUBJECT = 200
MAX_NOTES = 10000


class NotAllowedError(Exception):
    """The step is not this person's to take (the view answers 404)."""


def is_host(user_id: int) -> bool:
    return bool(
        db.session.scalar(
            select(
                exists().where(
                    AvailabilityRule.mediator_id == user_id, AvailabilityRule.reception.is_(True)
                )
            )
        )
    )


def _live():
    return ReceptionBooking.status != BookingStatus.cancelled


def free_slots(host_id: int, first_day: date, *, now: datetime) -> list[slots.Slot]:
    """The host's free reception slots on ``BOOK_DAYS`` days from ``first_day``: none that
    overlaps a live talk (the host may have moved their hours since it was booked)."""
    found = slots.free_slots(
        host_id, first_day, BOOK_DAYS, now=now, minutes=TALK_MINUTES, reception_only=True
    )
    talks = db.session.execute(
        select(ReceptionBooking.start_at, ReceptionBooking.end_at).where(
            ReceptionBooking.host_id == host_id, _live(), ReceptionBooking.end_at > now
        )
    ).all()
    return [s for s in found if not any(s.start < end and start < s.end for start, end in talks)]


@busy_asked.connect
def _talks_take_time(host_id: int, since: datetime, until: datetime) -> list[slots.Busy]:
    """No case session is booked over a talk already promised (booking asks)."""
    rows = db.session.execute(
        select(ReceptionBooking.id, ReceptionBooking.start_at, ReceptionBooking.end_at).where(
            ReceptionBooking.host_id == host_id,
            _live(),
            ReceptionBooking.start_at < until,
            ReceptionBooking.end_at > since,
        )
    )
    return [
        slots.Busy(start, end, start.date(), f"reception#{id_}", counts=False)
        for id_, start, end in rows
    ]


def book(
    booker: User, host: User, start: datetime, subject: str, *, now: datetime | None = None
) -> ReceptionBooking:
    """The slot at ``start`` for ``booker``, or a FieldError saying why not.

    Two people booking one slot at once: the host's calendar is locked, the insert is
    conditional (no live booking of the slot), and the partial unique index refuses what
    any other writer might slip past both; one wins, the other is told the slot was just
    taken. The same form again a moment later (a double tap, two tabs) raises
    ``BookedAlreadyError`` with the talk the first one booked."""
    now = now or utcnow()
    if not booker.is_verified:
        raise FieldError("slot", _("Prove your phone number by a code before booking."))
    subject = " ".join(subject.split())
    if not subject or len(subject) > MAX_SUBJECT:
        raise FieldError("subject", _("Say in a few words what you want to talk about."))
    if not host.active or not is_host(host.id):
        raise NotAllowedError
    if host.id == booker.id:
        raise FieldError("slot", _("You cannot book a talk with yourself."))
    # One host's bookings one after another (and after their case sessions' bookings): the
    # row lock on PostgreSQL, the write lock taken before reading on SQLite.
    # A time the pages never offer (years away, or before the calendar begins) is refused
    # before any date arithmetic on it.
    if not now - timedelta(days=1) <= start.astimezone(UTC) <= now + timedelta(days=BOOK_DAYS + 1):
        raise FieldError("slot", _("This time is no longer free. Please choose another."))
    lock_calendar(host.id)
    again = repeats.booked_just_now(booker, host, start, subject, now)
    if again is not None:
        raise BookedAlreadyError(again.id)  # booked and confirmed by text: not twice
    zone = slots.load_rules(host.id, now.date(), now.date()).zone
    day = start.astimezone(zone).date()
    slot = next((s for s in free_slots(host.id, day, now=now) if s.start == start), None)
    if slot is None:
        raise FieldError("slot", _("This time is no longer free. Please choose another."))
    mine = select(ReceptionBooking).where(
        ReceptionBooking.booker_id == booker.id,
        ReceptionBooking.status == BookingStatus.booked,
        ReceptionBooking.end_at > now,
    )
    upcoming = db.session.scalars(mine).all()
    if len(upcoming) >= MAX_UPCOMING:
        raise FieldError(
            "slot",
            _("You already have %(n)d talks booked. Cancel one to book another.", n=MAX_UPCOMING),
        )
    if any(b.host_id == host.id and b.start_at.astimezone(zone).date() == day for b in upcoming):
        raise FieldError("slot", _("You already have a talk with this host on that day."))
    values = {
        "host_id": host.id,
        "booker_id": booker.id,
        "start_at": slot.start,
        "end_at": slot.end,
        # The column holds what a reception rule's place holds; an institution's address
        # may be longer.
        "place": (slot.place or (host.institution.address if host.institution else ""))[:200],
        "subject": subject,
        "status": BookingStatus.booked,
        "notes": "",
        "created_at": now,
    }
    taken = exists().where(
        ReceptionBooking.host_id == host.id, ReceptionBooking.start_at == slot.start, _live()
    )
    columns = list(values)
    row = select(
        *[literal(v, ReceptionBooking.__table__.c[k].type) for k, v in values.items()]
    ).where(~taken)
    try:
        with db.session.begin_nested():
            inserted = db.session.execute(
                insert(ReceptionBooking).from_select(columns, row).returning(ReceptionBooking.id)
            ).scalar()
    except IntegrityError:
        inserted = None
    if inserted is None:
        raise FieldError("slot", _("Someone has just booked this time. Please choose another."))
    booking = db.session.get(ReceptionBooking, inserted)
    notices.booked(booking, zone)
    return booking


def cancel(booking: ReceptionBooking, by: User, *, now: datetime | None = None) -> None:
    """The booker calls the talk off before it starts; the slot is free again. The same
    press again a moment later raises ``CancelledAlreadyError``."""
    if by.id != booking.booker_id:
        raise NotAllowedError
    _locked(booking)
    now = now or utcnow()
    if repeats.cancelled_just_now(booking, now):
        raise CancelledAlreadyError
    if booking.status != BookingStatus.booked or booking.start_at <= now:
        raise FieldError("booking", _("This talk can no longer be cancelled."))
    booking.status, booking.cancelled_at = BookingStatus.cancelled, now
    db.session.flush()


def can_view(user: User, booking: ReceptionBooking) -> bool:
    return user.is_authenticated and user.id in (booking.booker_id, booking.host_id)


def mine(booker: User, *, now: datetime) -> list[ReceptionBooking]:
    """The person's talks not long past, soonest first."""
    return db.session.scalars(
        select(ReceptionBooking)
        .where(ReceptionBooking.booker_id == booker.id, ReceptionBooking.end_at > now - _WEEK)
        .order_by(ReceptionBooking.start_at)
    ).all()


_WEEK = timedelta(days=7)


def day_list(host: User, today: date, zone: ZoneInfo) -> list[ReceptionBooking]:
    """The host's live talks from the start of their ``today`` on, in time order."""
    since = datetime.combine(today, time(), tzinfo=zone).astimezone(UTC)
    return db.session.scalars(
        select(ReceptionBooking)
        .where(ReceptionBooking.host_id == host.id, _live(), ReceptionBooking.start_at >= since)
        .order_by(ReceptionBooking.start_at)
    ).all()


def _locked(booking: ReceptionBooking) -> None:
    """Steps on one talk one after another (its row's write lock), each reading what the
    one before it stored: a double tap's second request finds the first one's work."""
    lock_rows(ReceptionBooking.id, booking.id)
    db.session.refresh(booking)


def _hosted(booking: ReceptionBooking, by: User) -> None:
    if by.id != booking.host_id:
        raise NotAllowedError
    _locked(booking)
    if booking.status == BookingStatus.cancelled:
        raise FieldError("notes", _("The party cancelled this talk."))


def record(booking: ReceptionBooking, by: User, notes: str, *, now: datetime | None = None) -> None:
    """The host's record of the talk (People's Mediation Law art 27: the mediator records
    the mediation). The host may record a talk early: a party sometimes comes before the
    time booked, and the host, not the clock, knows that the talk took place."""
    _hosted(booking, by)
    notes = notes.strip()
    if not notes:
        raise FieldError("notes", _("Write down what was said and advised."))
    if len(notes) > MAX_NOTES:
        raise FieldError(
            "notes", _("The record is too long: at most %(n)d characters.", n=MAX_NOTES)
        )
    if booking.recorded_at is not None and notes == booking.notes:
        return  # saved again as it stands (a double tap, two tabs): nothing changes
    # The record's time is the first save's (art 27: the record of the work, kept true):
    # an answer kept from the talk is dated by it; a later change is told apart from it.
    if booking.recorded_at is None:
        booking.recorded_at = now or utcnow()
    else:
        booking.edited_at = now or utcnow()
    booking.notes = notes
    booking.status = BookingStatus.held
    if booking.outcome is None:
        booking.outcome = Outcome.advised
    db.session.flush()


def _region(host: User) -> str:
    code = host.institution.region_code if host.institution else ""
    if not regions.province_code(code):
        raise FieldError("category", _("Your account belongs to no institution with a region."))
    return code


def _not_yet_turned(booking: ReceptionBooking) -> None:
    if booking.case_id is not None or booking.question_id is not None:
        raise FieldError("notes", _("This talk has already been taken further."))


def _claim(booking: ReceptionBooking, outcome: Outcome) -> None:
    """The talk taken further once: the outcome is claimed by a conditional UPDATE, so of a
    double click (or a case and an answer at once) one request goes on and the other is
    refused, and the edge rolls back what it had made."""
    claimed = db.session.execute(
        update(ReceptionBooking)
        .where(
            ReceptionBooking.id == booking.id,
            ReceptionBooking.case_id.is_(None),
            ReceptionBooking.question_id.is_(None),
            or_(
                ReceptionBooking.outcome.is_(None),
                ReceptionBooking.outcome.not_in([Outcome.case, Outcome.answer]),
            ),
        )
        .values(outcome=outcome)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        raise FieldError("notes", _("This talk has already been taken further."))
    booking.outcome = outcome


def to_case(booking: ReceptionBooking, by: User, category: str) -> Case:
    """Escalation: a draft case with the booker as applicant, carrying the subject and the
    host's record as its facts; the booker completes and submits it (art 17: the party
    applies). Once only: the same press again a moment later raises
    ``TakenFurtherAlreadyError`` with the case the first one drafted."""
    _hosted(booking, by)
    drafted = repeats.case_drafted_just_now(booking, by, category, utcnow())
    if drafted is not None:
        raise TakenFurtherAlreadyError(drafted.number)  # the party was told once
    _not_yet_turned(booking)
    if not booking.notes:
        raise FieldError("notes", _("Write down what was said and advised."))
    case = open_case(
        title=booking.subject,
        category=category,
        applicants=[booking.booker],
        respondents=[],
        facts=booking.notes,
        # Opened in the booker's name: the case's first entry is one the respondent reads,
        # and a host (a mediator not of the case) opening it would tell them of the talk,
        # which is the applicant's (cases/privacy.py OWN_SIDE_ENTRIES). The host who
        # drafted it is in ``reception.converted``, which the respondent does not see.
        by=booking.booker,
    )
    case.region_code = _region(by)
    db.session.flush()
    journal.append(
        case.id,
        "reception.converted",
        {
            "booking_id": booking.id,
            "at": booking.start_at.isoformat(),
            # The facts are the record as it stands: when it was written, and changed.
            "recorded": booking.recorded_at.isoformat(),
            "edited": booking.edited_at.isoformat() if booking.edited_at else None,
        },
        actor_id=by.id,
    )
    _claim(booking, Outcome.case)
    booking.case_id = case.id
    db.session.flush()
    notices.case_opened(booking)
    return case


def to_answer(booking: ReceptionBooking, by: User, category: str) -> None:
    """The host's record kept as the booker's consultation, answered (the booker is told
    and reads it among their questions). Once only: the same press again a moment later
    raises ``TakenFurtherAlreadyError``."""
    _hosted(booking, by)
    if repeats.answered_just_now(booking, by, category):
        raise TakenFurtherAlreadyError(None)  # the party was told once
    _not_yet_turned(booking)
    question = consultation.answered_in_person(
        booking.booker,
        by,
        category=category,
        region_code=_region(by),
        subject=booking.subject,
        text=booking.subject,
        answer_text=booking.notes,
        now=booking.recorded_at,
    )
    _claim(booking, Outcome.answer)
    booking.question_id = question.id
    db.session.flush()
