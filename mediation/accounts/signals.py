"""Events of the accounts feature that other features react to, without accounts knowing them."""

from __future__ import annotations

from blinker import Namespace
from sqlalchemy import event
from sqlalchemy.orm import Session, object_session

from .models import User

_signals = Namespace()

# Sent with the user's id as sender once a change of ``User.session_version`` is committed
# (a new password; a logout that ends every session): whatever keeps a session of that user
# open ends it, e.g. their video-room connections (signaling/rooms.py). Sent after the
# commit, from the ORM's event, so that every code path that bumps the version is covered
# and nothing is ended for a change that was rolled back. The committed database session
# can no longer run SQL then: receivers use a connection of their own.
sessions_ended = _signals.signal("sessions-ended")

_ENDED = "mediation.accounts.sessions_ended"


@event.listens_for(User.session_version, "set")
def _session_version_set(target: User, value, previous, initiator) -> None:
    session = object_session(target)
    if session is not None and target.id is not None and value != previous:
        session.info.setdefault(_ENDED, set()).add(target.id)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released: nothing is committed yet
    for user_id in sorted(session.info.pop(_ENDED, ())):
        sessions_ended.send(user_id)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    if not session.in_nested_transaction():  # a savepoint's rollback keeps earlier marks
        session.info.pop(_ENDED, None)
