"""The same reception request arriving twice: a double tap, a phone resending the POST, two
tabs (as booking/repeats.py is for sessions).

The operations take turns first (the host's calendar lock to book, the talk's row lock for
everything done to a talk), so the second request waits for the first one's commit; then
these read what the first one stored and say whether it already did what the second asks.
The second is then answered as the first was, and nothing is done or sent twice. To a
caller that does not expect them, the errors are the refusals they were before (the time
is not free, the talk can no longer be cancelled, it was taken further already).
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select

from mediation.accounts.models import User
from mediation.booking.repeats import REPEAT_WINDOW
from mediation.cases.models import Case
from mediation.consultation.models import Question
from mediation.core.forms import FieldError
from mediation.extensions import db
from mediation.journal.models import JournalEntry

from .models import BookingStatus, ReceptionBooking


class BookedAlreadyError(FieldError):
    """The same booking form arrived again: ``booking_id`` is the talk the first one
    booked (and confirmed by text). To any other caller, the time is not free."""

    def __init__(self, booking_id: int) -> None:
        super().__init__("slot", _("This time is no longer free. Please choose another."))
        self.booking_id = booking_id


class CancelledAlreadyError(FieldError):
    """The same cancellation arrived again: the talk is cancelled, its time free."""

    def __init__(self) -> None:
        super().__init__("booking", _("This talk can no longer be cancelled."))


class TakenFurtherAlreadyError(FieldError):
    """The host's same "file a case" or "keep as an answer" arrived again: done, and the
    party was told. ``case_number``: the case the first one drafted (None: an answer)."""

    def __init__(self, case_number: str | None) -> None:
        super().__init__("notes", _("This talk has already been taken further."))
        self.case_number = case_number


def booked_just_now(
    booker: User, host: User, start: datetime, subject: str, now: datetime
) -> ReceptionBooking | None:
    """The talk ``booker`` booked with ``host`` at ``start`` about ``subject`` (as stored:
    its spaces collapsed) within the window, if any. Call with the host's calendar locked,
    so after the first request's commit."""
    return db.session.scalars(
        select(ReceptionBooking)
        .where(
            ReceptionBooking.booker_id == booker.id,
            ReceptionBooking.host_id == host.id,
            ReceptionBooking.start_at == start,
            ReceptionBooking.subject == subject,
            ReceptionBooking.status == BookingStatus.booked,
            ReceptionBooking.created_at > now - REPEAT_WINDOW,
        )
        .execution_options(populate_existing=True)
    ).first()


def cancelled_just_now(booking: ReceptionBooking, now: datetime) -> bool:
    """``booking`` (read again under its lock) was cancelled within the window: by its
    booker, the only one who cancels."""
    return (
        booking.status == BookingStatus.cancelled
        and booking.cancelled_at is not None
        and booking.cancelled_at > now - REPEAT_WINDOW
    )


def case_drafted_just_now(booking: ReceptionBooking, by: User, category: str, now: datetime):
    """The case ``by`` drafted from ``booking`` within the window, of ``category`` and with
    the record as it stands as its facts, if any (the journal's ``reception.converted``
    says who and when). A record corrected since is another request, refused as before
    (as ``answered_just_now`` compares the answer): answered as the first, the correction
    would be dropped without a word."""
    if booking.case_id is None:
        return None
    converted = db.session.scalars(
        select(JournalEntry)
        .where(
            JournalEntry.case_id == booking.case_id,
            JournalEntry.action == "reception.converted",
        )
        .order_by(JournalEntry.seq.desc())
        .limit(1)
    ).first()
    case = db.session.get(Case, booking.case_id)
    if (
        converted is None
        or converted.actor_id != by.id
        or converted.created_at <= now - REPEAT_WINDOW
        or case is None
        or case.category != category
        or case.facts != booking.notes
    ):
        return None
    return case


def answered_just_now(booking: ReceptionBooking, by: User, category: str) -> bool:
    """``booking`` was kept by ``by`` as the party's answer of ``category``, with the record
    as it stands. No window: the answer is dated by the talk's record (``recorded_at``),
    which may be long before the press, and a press asking for exactly the answer that
    exists (a double tap, or a page left open since) is answered by it."""
    if booking.question_id is None:
        return False
    question = db.session.get(Question, booking.question_id)
    return (
        question is not None
        and question.expert_id == by.id
        and question.category == category
        and question.answer == booking.notes
    )
