"""Rows of the notification table (:mod:`mediation.notify.table`) for the sessions: booking,
moving and cancelling them and their reminders, the room, and the minutes' review."""

from __future__ import annotations

from .notice import Notice

N = Notice
ROWS: tuple[Notice, ...] = (
    # Booking: every notice carries each person's own join link; e-mails carry the .ics.
    N(
        "booking",
        "session booked",
        "participants",
        "both",
        "booking/scheduling.py",
        "with the personal join link; the e-mail adds the calendar invitation",
    ),
    N(
        "booking",
        "session started now",
        "invitees",
        "both",
        "booking/scheduling.py",
        "立即调解, as the parties agreed: one message each with the join link; no reminder "
        "follows, and the mediator, who started it, goes to the room",
    ),
    N(
        "booking",
        "session booked less than an hour ahead",
        "participants",
        "both",
        "booking/scheduling.py",
        "the booking's own message only: the reminders it comes within are not sent on top "
        "(issue #16: six texts at once)",
    ),
    N(
        "booking",
        "times offered",
        "invitees",
        "both",
        "booking/offers.py",
        "each party chooses the times they can attend",
    ),
    N(
        "booking",
        "times chosen by every party",
        "participants",
        "both",
        "booking/offers.py",
        "the session is fixed at the earliest time all chose",
    ),
    N(
        "booking",
        "session moved",
        "participants",
        "both",
        "booking/changes.py",
        "with the reason; calendars replace the event",
    ),
    N(
        "booking",
        "session cancelled",
        "participants",
        "both",
        "booking/changes.py",
        "with the reason; calendars drop the event",
    ),
    N(
        "booking",
        "offered times withdrawn",
        "participants",
        "both",
        "booking/changes.py",
        "with the reason",
    ),
    N(
        "booking",
        "guest invited",
        "guest",
        "both",
        "booking/participants.py",
        "PML art 20; with their own link",
    ),
    N(
        "booking",
        "links sent again",
        "invitees",
        "both",
        "booking/participants.py",
        "the links sent before stop working at once; paced to each number like a code: "
        "within the pace the message waits, and takes the place of one still waiting",
    ),
    N(
        "booking",
        "session a day away",
        "participants",
        "both",
        "booking/reminders.py",
        "not when the hour's reminder is due at the same time",
    ),
    N(
        "booking",
        "session an hour away",
        "participants",
        "both",
        "booking/reminders.py",
        "the last reminder",
    ),
    N(
        "booking",
        "offered times all passed unchosen",
        "participants",
        "both",
        "booking/cleanup.py",
        "the offer is withdrawn",
    ),
    N(
        "booking",
        "case ended with a session ahead",
        "participants",
        "both",
        "booking/cleanup.py",
        "the session is cancelled",
    ),
    # The room.
    N(
        "room",
        "someone enters, is admitted, raises a hand, a caucus starts",
        "nobody",
        "none",
        "rooms/",
        "everyone concerned is in the room and sees it there",
    ),
    N(
        "room",
        "session ended",
        "reviewers",
        "sms",
        "minutes/review.py",
        "art 22: the minutes are sent for review (the row below)",
    ),
    # Minutes.
    N(
        "minutes",
        "minutes sent for review",
        "reviewers",
        "sms",
        "minutes/review.py",
        "art 22: read, dispute passages, confirm with a code",
    ),
    N(
        "minutes",
        "party confirms the minutes",
        "nobody",
        "none",
        "minutes/review.py",
        "nothing to decide: the mediator sees it on the minutes page; the last confirmation "
        "makes the minutes final",
    ),
    N(
        "minutes",
        "party disputes passages of the minutes",
        "mediator",
        "sms",
        "minutes/review.py",
        "art 22: only undisputed facts are confirmed; the mediator amends or makes them final "
        "with the objection marked; nothing is made final without them",
    ),
    N(
        "minutes",
        "mediator makes the minutes final",
        "nobody",
        "none",
        "minutes/review.py",
        "the PDF is on the case page; the parties answered already",
    ),
)
del N
