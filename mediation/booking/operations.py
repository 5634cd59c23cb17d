"""Arranging a case's sessions: the booking feature's steps, one module each, named here for
the edges (views, the rooms, reception, the demo) and the tests.

The mediator books a session (scheduling.py: at a time they choose, or at once when the
parties agree, 立即调解), or offers several times the parties choose from (offers.py);
moves or cancels it, and the room marks it held (changes.py); invites guests, sends the
links again, and the parties consent to separate sessions (participants.py; SPC online
mediation rules art 16); the worker keeps the calendar true (cleanup.py). What every step
stands on, the mediator's calendar lock and the case's turn, the checks of a time, a new
session's rows, is arranging.py. Everything flushes; the edge commits.

The modules import downward only: arranging, then scheduling and changes, then
participants, offers and cleanup.
"""

from __future__ import annotations

from mediation.cases.workflow import NotPermittedError

from .arranging import BOOKABLE, lock_calendar, offered_with
from .changes import cancel, reschedule, session_ended
from .participants import (
    GUEST_RELATIONS,
    NEUTRAL_RELATIONS,
    consent_to_separate_sessions,
    invite_guest,
    resend_links,
)
from .repeats import (
    CancelledAlreadyError,
    GuestInvitedAlreadyError,
    LinksJustSentError,
    MovedAlreadyError,
    StartedAlreadyError,
)
from .scheduling import book, open_session_of, start_now
from .slots import SlotUnavailableError

__all__ = [
    "BOOKABLE",
    "GUEST_RELATIONS",
    "NEUTRAL_RELATIONS",
    "CancelledAlreadyError",
    "GuestInvitedAlreadyError",
    "LinksJustSentError",
    "MovedAlreadyError",
    "NotPermittedError",
    "SlotUnavailableError",
    "StartedAlreadyError",
    "book",
    "cancel",
    "consent_to_separate_sessions",
    "invite_guest",
    "lock_calendar",
    "offered_with",
    "open_session_of",
    "reschedule",
    "resend_links",
    "session_ended",
    "start_now",
]
