"""Events of the cases feature that other features react to, without cases knowing them."""

from __future__ import annotations

from blinker import Namespace
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from .models import Case

_signals = Namespace()

# Sent with the case as sender and ``previous`` (the former mediator's id), inside the
# operation's transaction: receivers flush their changes and never commit.
mediator_changed = _signals.signal("mediator-changed")

# Sent with the case as sender, ``source`` (the former status), ``action`` and ``by`` (the
# user who took the step, None for the platform's own) after every transition, inside the
# transaction.
status_changed = _signals.signal("status-changed")

# Sent with the case as sender, once, when the institution chosen for it (by an applicant or
# a delegating court, art 10) declined it or let its three working days pass (SPC online
# mediation rules art 12 para 2), inside the transaction: whoever chose may choose again,
# and a higher feature that chose (court delegation) tells its chooser. Receivers flush
# their changes and never commit.
choice_lapsed = _signals.signal("choice-lapsed")

# Sent with the case as sender from the flush that writes a change of what tells where the
# case belongs: its institution (chosen by an applicant or a court, assigned, transferred,
# declined) or its ``region_code``, set on the case's attributes (a Core ``update()`` of
# these columns does not send it: none is made), before any later read sees the case.
# Receivers may set the case's own columns (they are written by the same flush); they
# neither flush nor commit.
place_changed = _signals.signal("place-changed")

# Sent with the case as sender and ``user_id`` (the agent's) when a party said that person
# does not act for them (``agency.refuse``), inside the transaction: what seated or
# connected them as the party's agent ends. Receivers flush their changes and never commit.
agent_refused = _signals.signal("agent-refused")

# Sent by ``statistics.figures`` with the institution id (or None for the whole platform)
# as sender: a higher feature (consultation) answers with a dict of named counts, which
# the statistics page shows beside the cases'.
figures_asked = _signals.signal("figures-asked")

PLACE_FIELDS = ("institution", "institution_id", "region_code")


def _changes_place(case: Case) -> bool:
    """Whether the flush writes any of the place's fields. Any change counts, even one back
    to the value already stored (a value never loaded has no old value to compare with, so
    comparing would miss a change to None); placing again is idempotent."""
    attributes = inspect(case).attrs
    return any(attributes[name].history.has_changes() for name in PLACE_FIELDS)


@event.listens_for(Session, "before_flush")
def _place_changed(session: Session, _context, _instances) -> None:
    # Only cases already stored: every case is made a draft (``open_case``), and the submit
    # step places it.
    moved = [obj for obj in session.dirty if isinstance(obj, Case) and _changes_place(obj)]
    for case in moved:
        place_changed.send(case)
