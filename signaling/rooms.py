"""The room namespace: a thin Socket.IO edge over ``mediation.rooms.arrival`` (a member's
connect and disconnect) and ``mediation.rooms.operations`` (everything else).

A connection belongs to one booked session and one participant, checked on connect (the
logged-in user, while the room is open). Every event is parsed, checked, handed to an
operation, committed, and its effects sent to whom they concern: the layout to each member
personally, the roster to everyone (both made in signaling/roster.py), chat to the group it
was said in. WebRTC offers, answers and ICE candidates are relayed only between two members
the current layout joins. See docs/signaling.md for every event.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import current_app, g, has_app_context, request, session
from flask_babel import gettext as _
from flask_login import current_user
from flask_socketio import ConnectionRefusedError, Namespace, disconnect, join_room
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from mediation.accounts.signals import sessions_ended
from mediation.booking.models import MediationSession, SessionParticipant
from mediation.cases import signals as case_signals
from mediation.cases.models import CaseParty
from mediation.cases.workflow import NotPermittedError
from mediation.core.db import is_unreachable
from mediation.core.forms import FieldError
from mediation.core.sqlite import is_busy
from mediation.extensions import db, socketio
from mediation.minutes import operations as minutes
from mediation.rooms import arrival, layout, state
from mediation.rooms import operations as rooms
from mediation.rooms.models import Room, RoomMember
from signaling import limits
from signaling.delivery import send, send_to_all
from signaling.edge import (
    MAX_ID,
    NAMESPACE,
    MalformedEventError,
    _error,
    _field,
    _size_checked,
    _within_limits,
    flood_log,
)
from signaling.recorder import RecorderEvents
from signaling.roster import (
    announce,
    broadcast_state,
    everyone,
    layout_for,
    member_dict,
    personal,
    recorder_room,
)

log = logging.getLogger(__name__)

SIGNAL_KINDS = {"offer", "answer", "candidate", "restart"}
# The database session's mark: agents refused in it, as (user id, case id), whose room
# connections close once it commits.
_REFUSED = "signaling.refused_agents"


def _known_version(args: tuple) -> int:
    data = args[0] if len(args) == 1 else None
    version = data.get("version") if isinstance(data, dict) else None
    return version if isinstance(version, int) and 0 <= version <= MAX_ID else 0


def _commit() -> None:
    """Commit what the handler did, if it touched the database at all: a relay checked
    against the room as kept in memory opens no database session, and making one only to
    commit nothing cost ~75 µs a message (issue 18)."""
    if db.session.registry.has() and db.session().in_transaction():
        db.session.commit()


def handler(event: str, *, changes_room: bool = False, relay: bool = False) -> Callable:
    """Wrap a handler: the caller's member and room are loaded and checked; a malformed
    event or a step the room refuses becomes an ``error`` event to the caller. The change is
    committed here, once (Flask's request hooks do not run for socket events), before anyone
    is told (if the handler opened a transaction at all): with ``changes_room`` everyone
    gets the new state, and a callable the handler returns runs after the commit. A
    ``relay`` handler changes nothing and gets the room as a ``state.Snapshot`` of plain
    rows instead of the member and room objects."""

    def decorator(function: Callable) -> Callable:
        @wraps(function)
        def wrapped(self, *args: Any):
            if not _within_limits(event):
                return
            participant_id = session.get("participant_id", -1)
            if relay:
                # The layout version the sender acts on: a reading in memory older than it
                # is not used.
                known = _known_version(args)
                recording = session.get("recorder_session")
                if recording is not None:  # the recorder: it only relays its own signals
                    participant_id = layout.RECORDER
                    view = state.recorder_snapshot(recording, at_least=known)
                else:
                    view = state.snapshot(participant_id, at_least=known)
                loaded = (participant_id, view) if view is not None else None
                sid, welcome = (view.sender_sid, view.welcome) if view else (None, False)
            else:
                loaded = state.load(participant_id)
                sid = loaded[0].sid if loaded else None
                welcome = loaded is not None and state.still_welcome(*loaded)
            if loaded is None or sid != request.sid:
                _error("gone", _("Please join the session again."), event)
                disconnect()
                return
            if not welcome:
                # Cancelled, ended, over, or the account closed since they connected.
                _error("ended", _("This session has ended."), event)
                disconnect()
                return
            member, room = loaded
            try:
                if len(args) > 1:
                    raise MalformedEventError("one argument is expected")
                after = function(self, member, room, _size_checked(args[0] if args else None))
                _commit()
            except MalformedEventError as problem:
                db.session.rollback()
                _error("invalid", _("The request is malformed: %(why)s", why=str(problem)), event)
                return
            except rooms.RoomError as refusal:
                db.session.rollback()
                _error(refusal.code, str(refusal), event)
                return
            if changes_room:
                broadcast_state(room)
            if callable(after):
                after()

        return wrapped

    return decorator


def _chat_dict(message) -> dict:
    return {
        "id": message.id,
        "from": message.participant_id,
        "text": message.text,
        "scope": message.scope,
        "at": message.created_at.isoformat(),
    }


def _target(member: RoomMember, data: Any) -> RoomMember:
    target = state.member_in(member.session_id, _field(data, "participant", int))
    if target is None:
        raise rooms.RoomError("unknown", _("There is no such participant in this session."))
    return target


def _login_read_plainly() -> bool:
    """Whether the login in the session cookie may be checked without Flask-Login: unless
    its "strong" session protection is on, Flask-Login takes the user its user loader
    returns for the session's ``_user_id``, which ``arrival.arriving_by_login`` checks alike.
    (With "strong" a login from another address or browser is logged out first.)"""
    manager = current_app.login_manager
    return current_app.config.get("SESSION_PROTECTION", manager.session_protection) != "strong"


class RoomNamespace(RecorderEvents, Namespace):
    def trigger_event(self, event: str, *args: Any) -> Any:
        """An event without a handler is answered (and counted) by ``on_unknown``.
        (Clients cannot send ``connect`` or ``disconnect``: signaling/guard.py.)"""
        if event not in ("connect", "disconnect") and not hasattr(self, f"on_{event}"):
            return super().trigger_event("unknown", *args)
        return super().trigger_event(event, *args)

    def on_unknown(self, *args: Any) -> None:
        if _within_limits("unknown"):
            _error("invalid", _("This request is not known."), "")

    def on_connect(self, auth: Any = None) -> None:
        if isinstance(auth, dict) and "recorder" in auth:
            self._connect_recorder(auth)
            return
        try:
            session_id = _field(auth, "session", int)
            resume = _field(auth, "resume", str, optional=True)
        except MalformedEventError:
            raise ConnectionRefusedError("unauthorized") from None
        # The login's user and their place here in one statement of plain columns, the login
        # checked as the user loader checks it; else Flask-Login decides, as on every request.
        participant = None
        if _login_read_plainly():
            participant = arrival.arriving_by_login(session_id, session.get("_user_id"))
        if participant is None:
            participant = arrival.arriving_for(session_id, current_user)
        if participant is None:
            raise ConnectionRefusedError("unauthorized")
        # Each arrival is journaled: reconnecting in a loop must not write without end.
        room_limits = current_app.extensions[limits.KEY]
        limit = room_limits.limits["connect"]
        if not room_limits.participants.get(("connect", participant.id), limit).take():
            flood_log.warning(
                "room: refused participant %s: over %s arrivals", participant.id, limit
            )
            raise ConnectionRefusedError("rate_limited")
        participant_id = participant.id
        try:
            member, replaced, chatted = arrival.arrive(participant, request.sid, resume=resume)
            # Read before the commit: nothing is loaded again after it.
            mediator = member.role == "mediator"
            who = arrival.attendee(member)
            resume_token = arrival.resume_token(member)
            chat = [_chat_dict(m) for m in arrival.history(member, chatted=chatted)]
            # The minutes so far, for the mediator who writes them (after a reload too).
            minutes_so_far = minutes.text_of(session_id) if mediator else None
            db.session.commit()  # reads the room for everyone just before (state.committed)
        except rooms.RoomError as refusal:
            db.session.rollback()
            raise ConnectionRefusedError(refusal.code) from None
        if replaced is not None:  # a reload or a second tab: the earlier one is closed
            # and says so (static/js/room.js): Socket.IO does not try again after the server
            # closed it, and "reconnecting" would be untrue for ever.
            told = {
                "code": "replaced",
                "message": _(
                    "This session is now open in another window or on another device, and "
                    "this window has left it. To take part here, reload this page."
                ),
            }
            socketio.emit("error", told, to=replaced, namespace=NAMESPACE)
            disconnect(replaced, namespace=NAMESPACE)
        session["participant_id"] = participant_id
        session["attendee"] = who
        join_room(personal(participant_id))
        join_room(everyone(session_id))
        found = state.committed(session_id) or state.view(session_id)
        you = next(m for m in found.members if m.participant_id == participant_id)
        send(
            "welcome",
            {
                # "resume" for this page only: sent back when it reconnects (arrival.arrive).
                "you": member_dict(you, for_mediator=mediator) | {"resume": resume_token},
                "session": session_id,
                "layout": layout_for(participant_id, found.room, found.seats),
                "chat": chat,
                "minutes": minutes_so_far,
            },
        )
        announce(session_id, found)

    def on_disconnect(self, reason: Any = None) -> None:
        recorded = session.get("recorder_session")
        if recorded is not None:
            room = db.session.get(Room, recorded)
            if room is not None and rooms.recorder_depart(room, request.sid):
                db.session.commit()
                broadcast_state(recorded)
            return
        who = session.get("attendee")  # resolved when the connection opened
        if who is None:
            return  # refused at connect: never in the room
        if arrival.depart(who, request.sid):
            db.session.commit()
            announce(who.session_id, state.committed(who.session_id))
        else:
            db.session.rollback()

    @handler("signal", relay=True)
    def on_signal(self, sender: int, room: state.Snapshot, data: Any) -> None:
        """Relay one WebRTC message to one peer, if the current layout joins the two."""
        to = _field(data, "to", int)
        kind = _field(data, "kind", str)
        version = _field(data, "version", int)
        payload = _field(data, "payload", (dict, str), optional=True)
        if kind not in SIGNAL_KINDS:
            raise MalformedEventError("unknown kind")
        seats = room.seats
        if version != room.layout_version:
            # Acting on an old layout: corrected with the current one. The message still
            # goes through when the current layout joins the two (an arrival elsewhere in
            # the room must not break a negotiation under way).
            send("layout", layout_for(sender, room, list(seats.values())))
        if (
            to not in seats
            or room.ended_at is not None
            or not layout.may_signal(seats[sender], seats[to], room.caucus_side)
        ):
            raise rooms.RoomError(
                "forbidden_pair", _("You may not connect to this participant now.")
            )
        # A person not yet let in signals the mediator on a budget of their own, counted
        # per participant (reconnecting does not refill it): a page in the lobby sends a
        # few dozen messages to make its link, and a flood of offers from the lobby must
        # not keep the mediator's browser making connection after connection.
        lobby = layout.may_link(seats[sender], seats[to]) and seats[sender].role != "mediator"
        if lobby and not _within_limits("signal", "lobby_signal"):
            return
        send(
            "signal",
            {
                "from": sender,
                # Which connection of the sender this comes from (see layout "epochs").
                "epoch": room.sender_epoch,
                "kind": kind,
                "payload": payload,
                "version": room.layout_version,
            },
            to=recorder_room(room.session_id) if to == layout.RECORDER else personal(to),
        )

    @handler("admit", changes_room=True)
    def on_admit(self, member: RoomMember, room: Room, data: Any) -> None:
        rooms.admit(_target(member, data), by=member)

    @handler("confirm_identity", changes_room=True)
    def on_confirm_identity(self, member: RoomMember, room: Room, data: Any) -> None:
        epoch = _field(data, "epoch", int, optional=True)
        # Typed by the mediator from the card on camera when the person has no number on
        # record or a wrong one (checked by the operation: GB 11643, the 56 ethnicities).
        id_number = _field(data, "id_number", str, optional=True)
        ethnicity = _field(data, "ethnicity", str, optional=True)
        if len(id_number or "") > 40 or len(ethnicity or "") > 8:
            raise MalformedEventError("id_number or ethnicity is too long")
        rooms.confirm_identity(
            _target(member, data),
            by=member,
            epoch=epoch,
            id_number=id_number,
            ethnicity=ethnicity,
        )

    @handler("acknowledge_warning", changes_room=True)
    def on_acknowledge_warning(self, member: RoomMember, room: Room, data: Any) -> None:
        rooms.acknowledge_warning(member)

    @handler("recording_consent", changes_room=True)
    def on_recording_consent(self, member: RoomMember, room: Room, data: Any) -> None:
        rooms.recording_consent(member, _field(data, "consent", bool))

    @handler("start", changes_room=True)
    def on_start(self, member: RoomMember, room: Room, data: Any) -> None:
        rooms.start(room, by=member)

    @handler("caucus", changes_room=True)
    def on_caucus(self, member: RoomMember, room: Room, data: Any) -> None:
        rooms.caucus(room, _field(data, "side", str, optional=True), by=member)

    @handler("raise_hand", changes_room=True)
    def on_raise_hand(self, member: RoomMember, room: Room, data: Any) -> None:
        rooms.raise_hand(member, _field(data, "raised", bool))

    @handler("chat")
    def on_chat(self, member: RoomMember, room: Room, data: Any) -> Callable:
        message = rooms.say(member, room, _field(data, "text", str))
        line = _chat_dict(message)

        def tell_the_group() -> None:
            for other in state.seats(room.session_id):
                if layout.group_of(other, room.caucus_side) == message.scope:
                    send("chat", line, to=personal(other.participant_id))

        return tell_the_group

    @handler("minutes")
    def on_minutes(self, member: RoomMember, room: Room, data: Any) -> Callable:
        """The mediator saves the minutes (every part sent is replaced)."""
        if not isinstance(data, dict):
            raise MalformedEventError("an object is expected")
        participant = member.participant
        rooms.lock(room)  # one save at a time, and never beside an "end"
        try:
            saved = minutes.save(participant.session, data, by=participant.user)
        except FieldError as problem:
            raise rooms.RoomError("invalid", str(problem)) from None
        except NotPermittedError as refusal:
            raise rooms.RoomError("forbidden", str(refusal)) from None
        version = saved.version
        return lambda: send("minutes_saved", {"version": version})

    @handler("end", changes_room=True)
    def on_end(self, member: RoomMember, room: Room, data: Any) -> Callable:
        rooms.end(room, by=member)
        return lambda: send_to_all("ended", {}, to=everyone(room.session_id))


def on_error(error: Exception) -> None:
    """Anything a handler did not expect: rolled back, logged for the developers, and the
    client is told; the connection and the server go on."""
    if isinstance(error, ConnectionRefusedError):
        raise error  # a refused connection is an answer, not a failure
    db.session.rollback()
    # Another writer held SQLite's lock too long (core/sqlite.py), or the database is away
    # for a moment (restarted): nothing was written; the client is asked to send it again.
    unreachable = is_unreachable(error)
    busy = is_busy(error) or unreachable
    if unreachable:
        # The message below is said without the database: the user is not read again for
        # their language (flask_login's per-request user), or it would fail the same way.
        g._login_user = current_app.login_manager.anonymous_user()
    if busy:
        log.warning("room event: database busy or unreachable: %s", error)
    else:
        log.exception("room event failed: %s", error)
    if request.event and request.event.get("message") == "connect":
        return False  # a connection that could not be set up is refused, not left half-made
    if busy:
        message = _("The platform is busy. Please try again in a moment.")
        send("error", {"code": "busy", "message": message})
        return None
    send("error", {"code": "internal", "message": _("Something went wrong. Please try again.")})


@sessions_ended.connect
def end_connections(user_id: int, **_: Any) -> None:
    """A new password or a logout ends every session of the user, and with them their
    connections to rooms (issue 15): an open connection would otherwise outlive the login
    it was opened with."""
    _close_connections(user_id)


@case_signals.agent_refused.connect
def _note_refused_agent(case: Any, *, user_id: int, **_: Any) -> None:
    """The party said this person does not act for them (cases/agency.refuse): once that is
    committed, their connections to the case's rooms close, as at a logout. The peers drop
    their media connections with them as with anyone who leaves, and their next arrival is
    refused (rooms/arrival.py)."""
    db.session.info.setdefault(_REFUSED, set()).add((user_id, case.id))


@event.listens_for(Session, "after_commit")
def _close_refused_agents(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released: nothing is committed yet
    for user_id, case_id in sorted(session.info.pop(_REFUSED, ())):
        _close_connections(user_id, case_id)


@event.listens_for(Session, "after_rollback")
def _forget_refused_agents(session: Session) -> None:
    if not session.in_nested_transaction():  # a savepoint's rollback keeps earlier marks
        session.info.pop(_REFUSED, None)


def _still_agent(user_id: int, case_id: int):
    return select(CaseParty.id).where(
        CaseParty.case_id == case_id, CaseParty.user_id == user_id, CaseParty.is_agent
    )


def _close_connections(user_id: int, case_id: int | None = None) -> None:
    """Close the user's room connections (of ``case_id``'s sessions only, if given). One
    held by another web process is closed there, through Socket.IO's message queue
    (python-socketio publishes the disconnection on Redis). Called after a commit."""
    if not has_app_context() or socketio.server is None:
        return
    query = (
        select(RoomMember.sid)
        .join(SessionParticipant, SessionParticipant.id == RoomMember.participant_id)
        .where(SessionParticipant.user_id == user_id, RoomMember.sid.is_not(None))
    )
    if case_id is not None:
        query = query.join(
            MediationSession, MediationSession.id == SessionParticipant.session_id
        ).where(MediationSession.case_id == case_id)
    with db.engine.connect() as connection:  # the committed session can run no SQL now
        if case_id is not None and connection.scalar(_still_agent(user_id, case_id)):
            return  # marked in a savepoint rolled back since: the agent still acts
        sids = connection.scalars(query).all()
    # Their departures are written by ``on_disconnect`` in a database session of its own
    # (one per app context): the one that just committed cannot write.
    with current_app.app_context():
        for sid in sids:
            if case_id is not None:  # the page says why, and stops (static/js/room.js)
                told = {"code": arrival.NOT_ACTING, "message": arrival.not_acting_message()}
                socketio.emit("error", told, to=sid, namespace=NAMESPACE)
            socketio.server.disconnect(sid, namespace=NAMESPACE)
