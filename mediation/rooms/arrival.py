"""A connection opening and closing in a room: who is arriving, their arrival (present
again, their place kept), the chat they are given, their departure. A connect's hot path:
plain statements and rows, no ORM object loaded (issue 18, cheap joins). Operations flush
and journal; the socket edge commits."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cache as memoized
from typing import NamedTuple

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm.util import identity_key

from mediation.accounts import operations as accounts
from mediation.accounts.models import User
from mediation.booking import links
from mediation.booking.models import MediationSession, SessionParticipant
from mediation.cases import agency
from mediation.cases.models import Case, CaseParty
from mediation.core.db import utcnow
from mediation.extensions import db
from mediation.journal import operations as journal

from . import layout
from .models import ChatMessage, Room, RoomMember
from .operations import RoomError, room_by_id, room_changed
from .state import seat


class Arriving(NamedTuple):
    """Who is arriving in a room, as plain values (a connect's hot path loads no participant
    or session object: issue 18, cheap joins)."""

    id: int  # the participant's
    session_id: int
    user_id: int
    role: str
    side: str | None  # a guest's, as booked
    case_id: int

    @classmethod
    def of(cls, participant: SessionParticipant) -> Arriving:
        return cls(
            participant.id,
            participant.session_id,
            participant.user_id,
            participant.role,
            participant.side,
            participant.session.case_id,
        )


def arriving_for(session_id: int, user: User | None) -> Arriving | None:
    """``participant_for`` as plain values, for the room's connect: ``user``'s place in the
    session while its room is open."""
    if user is None or not user.is_authenticated:
        return None
    query, values = _arriving_query(), {"session_id": session_id, "user_id": user.id}
    return _arriving(db.session.connection().execute(query, values).one_or_none())


def arriving_by_login(session_id: int, login_id: object) -> Arriving | None:
    """``arriving_for`` the user the session cookie's login names, in one statement of plain
    columns, checked as the user loader checks a login (``accounts.login_holds``: its
    session version, the verified phone), without loading the user (a connect's hot path,
    issue 18: loading the user object and asking Flask-Login cost more than the statement).
    None when it does not find them so: the caller then asks Flask-Login, which decides as
    on every request (and may also find a remember-me cookie)."""
    login = accounts.login_of(login_id)
    if login is None or login[0] > 2**31 - 1:
        return None
    user_id, version = login
    # Plain columns on the session's connection: the ORM's execution of the statement cost
    # as much again as running it (and there is nothing for it to load).
    query, values = _login_query(), {"session_id": session_id, "user_id": user_id}
    row = db.session.connection().execute(query, values).one_or_none()
    if row is None or not accounts.login_holds(
        version, row.session_version, row.phone_verified, row.active
    ):
        return None
    return _arriving(row)


def _arriving(row) -> Arriving | None:
    if row is None or not links.window_open(row.status, row.start_at, row.end_at):
        return None
    return Arriving(row.id, row.session_id, row.user_id, row.role, row.side, row.case_id)


def _arriving_columns() -> tuple:
    return (
        SessionParticipant.id,
        SessionParticipant.session_id,
        SessionParticipant.user_id,
        SessionParticipant.role,
        SessionParticipant.side,
        MediationSession.case_id,
        MediationSession.status,
        MediationSession.start_at,
        MediationSession.end_at,
    )


@memoized
def _arriving_query():
    # Composed once: composing a statement costs about as much as running it.
    return (
        select(*_arriving_columns())
        .join(MediationSession, MediationSession.id == SessionParticipant.session_id)
        .where(
            SessionParticipant.session_id == bindparam("session_id"),
            SessionParticipant.user_id == bindparam("user_id"),
        )
    )


@memoized
def _login_query():
    return (
        _arriving_query()
        .add_columns(
            User.session_version, User.phone_verified_at.label("phone_verified"), User.active
        )
        .join(User, User.id == SessionParticipant.user_id)
    )


def _side_of(participant: Arriving) -> str | None:
    if participant.role == "mediator":
        return None
    if participant.role == "guest":
        return participant.side  # None for an expert or an interpreter
    # The side alone, not the case and all its parties: this runs on first arrivals.
    return db.session.scalar(
        select(CaseParty.side)
        .where(
            CaseParty.case_id == participant.case_id,
            CaseParty.user_id == participant.user_id,
        )
        .order_by(CaseParty.id)
        .limit(1)
    )


@memoized
def _arrival_statement():
    # Composed once. Plain columns, not a Room object: an arrival needs the room's end, and
    # the ORM's loading of the whole row cost more than the statement (issue 18).
    table, room = Room.__table__, bindparam("room")
    return (
        update(table)
        .where(table.c.session_id == room)
        .values(layout_version=table.c.layout_version + 1)
        .returning(table.c.session_id, table.c.ended_at)
    )


@memoized
def _said_statement():
    chat = ChatMessage.__table__
    return select(select(chat.c.id).where(chat.c.session_id == bindparam("room")).exists())


def _arrival_update(session_id: int):
    """The room locked and given its new layout version (as ``operations.bump_layout``),
    read back as a plain row. None if the room is not made yet."""
    db.session.flush()  # what the caller changed is written first (as the ORM's autoflush)
    # On the session's connection: the ORM's execution of a plain statement cost as much
    # again as the statement (issue 18), and here there is nothing for it to load.
    connection = db.session.connection()
    row = connection.execute(_arrival_statement(), {"room": session_id}).one_or_none()
    loaded = db.session.identity_map.get(identity_key(Room, session_id))
    if loaded is not None:  # a Room this database session holds shows the new version
        db.session.expire(loaded, ["layout_version"])
    return row


def resume_token(member: RoomMember | Arrived) -> str:
    """What proves that a reconnecting page held this member's current connection: an HMAC
    of the participant, the epoch and that connection's id, told only to that page (the
    epoch alone is public: it is in everyone's roster)."""
    message = f"{member.participant_id}:{member.epoch}:{member.sid}".encode()
    return hmac.new(current_app.secret_key.encode(), message, hashlib.sha256).hexdigest()


_MEMBERS = RoomMember.__table__


@memoized
def _member_statement():
    return update(_MEMBERS).where(_MEMBERS.c.participant_id == bindparam("member"))


def _member_columns() -> tuple:
    m = _MEMBERS.c
    return (
        m.role,
        m.side,
        m.sid,
        m.epoch,
        m.admitted_at,
        m.identity_confirmed_at,
        m.warning_acknowledged_at,
    )


@memoized
def _member_query():
    return select(*_member_columns()).where(_MEMBERS.c.participant_id == bindparam("member"))


@dataclass(frozen=True)
class Arrived:
    """A member as their arrival left them, in plain values (``arrive`` loads no member
    object: issue 18, cheap joins). The mediator's operations take the ``RoomMember``."""

    participant_id: int
    session_id: int
    case_id: int
    user_id: int
    # The member's row, as ``_member_columns`` reads it (in that order).
    role: str
    side: str | None
    sid: str | None
    epoch: int
    admitted_at: datetime | None
    identity_confirmed_at: datetime | None
    warning_acknowledged_at: datetime | None

    @property
    def present(self) -> bool:
        return self.sid is not None


class Arrival(NamedTuple):
    """What ``arrive`` did: the member, the connection this one replaces (the caller closes
    it), and whether anything was said in the room yet (if not, ``history`` reads nothing)."""

    member: Arrived
    replaced: str | None
    chatted: bool = True


def arrive(
    participant: Arriving | SessionParticipant, sid: str, *, resume: str | None = None
) -> Arrival:
    """A connection of ``participant`` opened: they are present (again), and keep their
    place (admitted, joint or caucus). Returns the member and the connection this one
    replaces, which the caller closes.

    ``resume`` is the ``resume_token`` the page was given (a page reconnecting after a
    network drop): if the server still counts that connection present, the epoch stays and
    everyone's media connections to this page go on. A reload, another tab or device, or a
    return after the server saw the page leave is a new epoch, which peers connect to
    afresh (and whose identity the mediator confirms again).

    Plain statements and rows throughout, no ORM object loaded or flushed (issue 18: their
    loading was a third of a connect's CPU): the room locked and counted (1), the member
    read (1) and written (1; a first arrival: their side and the new row, 2), the journal
    entry (3), whether anything was said (1)."""
    if isinstance(participant, SessionParticipant):
        participant = Arriving.of(participant)
    # Locked and given its new layout version in one statement (made on the first arrival).
    room = _arrival_update(participant.session_id)
    if room is None:  # the first arrival ever: the room is made
        room = _arrival_update(room_by_id(participant.session_id).session_id)
    if room.ended_at is not None:
        raise RoomError("ended", _("This session has ended."))
    if participant.role == "agent":
        _check_agent(participant)
    db.session.flush()  # an agent's objects, if read (as the ORM's autoflush)
    connection = db.session.connection()
    row = connection.execute(_member_query(), {"member": participant.id}).one_or_none()
    ids = (participant.id, participant.session_id, participant.case_id, participant.user_id)
    if row is None:  # a first arrival: the new row, written below
        member = Arrived(
            *ids,
            role=participant.role,
            side=_side_of(participant),
            sid=None,
            epoch=0,
            # The mediator runs the room and needs no admission.
            admitted_at=utcnow() if participant.role == "mediator" else None,
            identity_confirmed_at=None,
            warning_acknowledged_at=None,
        )
    else:
        member = Arrived(*ids, *row)
    resumed = (
        resume is not None
        and member.sid is not None
        and hmac.compare_digest(resume, resume_token(member))
    )
    replaced = member.sid
    epoch = member.epoch if resumed else (member.epoch or 0) + 1
    member = replace(member, sid=sid, epoch=epoch)
    if row is None:
        connection.execute(
            insert(_MEMBERS),
            {
                "participant_id": member.participant_id,
                "session_id": member.session_id,
                "role": member.role,
                "side": member.side,
                "admitted_at": member.admitted_at,
                "sid": sid,
                "epoch": epoch,
            },
        )
    else:
        connection.execute(
            _member_statement(), {"member": member.participant_id, "sid": sid, "epoch": epoch}
        )
        loaded = db.session.identity_map.get(identity_key(RoomMember, member.participant_id))
        if loaded is not None:  # a RoomMember this database session holds is read again
            db.session.expire(loaded)
    journal.append(
        participant.case_id,
        "room.arrived",
        {"session_id": member.session_id, "participant_id": member.participant_id},
        actor_id=participant.user_id,
    )
    room_changed(room.session_id)  # the version was counted with the lock, above
    # Whether anything was said yet, asked after the journal entry: ``say`` does not take
    # the room's lock, but its journal entry takes the case's journal head, which the entry
    # above has just waited for; so a first line committed meanwhile is seen here
    # (PostgreSQL's READ COMMITTED gives each statement a fresh snapshot; asked in the
    # room's UPDATE above, it could miss that line, and the arriving person would never
    # get it).
    said = connection.execute(_said_statement(), {"room": room.session_id}).scalar()
    return Arrival(member, replaced, bool(said))


NOT_ACTING = "not_acting"  # the code a refused agent's page is told, at connect or after


def not_acting_message() -> str:
    return _(
        "You no longer act in this case: the party you acted for said you do not represent them."
    )


def _check_agent(participant: Arriving) -> None:
    """An agent takes part for a party while the party has them act for it (cases/agency.py):
    not after the party said they do not (a seat of theirs kept as a record stays, opening
    nothing: booking/cleanup.py), nor before the party confirmed them, or the mediator
    checked with the party on camera."""
    case = db.session.get(Case, participant.case_id)
    user = db.session.get(User, participant.user_id)
    if agency.agent_row(case, user) is None:
        raise RoomError(NOT_ACTING, not_acting_message())
    if agency.is_unconfirmed_agent(case, user):
        raise RoomError(
            "agency",
            _(
                "The party you act for has not confirmed you as their agent yet. They can "
                "confirm it from the message sent to their phone, or join themselves."
            ),
        )


@dataclass(frozen=True)
class Attendee:
    """Who a connection is, resolved once when it opens (``attendee``): what its departure
    needs, so that closing it reads nothing again (issue 18, cheap joins)."""

    participant_id: int
    session_id: int
    case_id: int
    user_id: int


def attendee(member: Arrived) -> Attendee:
    return Attendee(member.participant_id, member.session_id, member.case_id, member.user_id)


def depart(who: Attendee, sid: str) -> bool:
    """A connection closed. Only the current one counts: a reload opens the new
    connection before the old one is gone. True when the member is now away; False when
    nothing changed (the caller rolls back, which also undoes the version counted here).

    Six statements: the room locked and given its new layout version at once (the room's
    lock first, as in every change), the connection cleared if it is still the member's,
    the departure journaled (three) (who attended is evidence for the
    minutes: SPC online mediation rules art 22), the room read for everyone before the
    commit (``state.wanted``). Nothing about the member is read: ``who`` was resolved when
    the connection opened."""
    db.session.execute(
        update(Room.__table__)
        .where(Room.session_id == who.session_id)
        .values(layout_version=Room.layout_version + 1)
    )
    gone = db.session.execute(
        update(RoomMember.__table__)
        .where(RoomMember.participant_id == who.participant_id, RoomMember.sid == sid)
        .values(sid=None)
    )
    if gone.rowcount != 1:
        return False  # a replaced connection (a reload), or the room is gone
    journal.append(
        who.case_id,
        "room.left",
        {"session_id": who.session_id, "participant_id": who.participant_id},
        actor_id=who.user_id,
    )
    room_changed(who.session_id)
    return True


def history(member: RoomMember | Arrived, *, chatted: bool = True) -> list[ChatMessage]:
    """The chat ``member`` may read; ``chatted`` False: nothing was said in the room yet
    (``Arrival.chatted``, asked after the arrival's journal entry), and nothing is read."""
    if not chatted:
        return []
    scopes = layout.chat_scopes(seat(member))
    return db.session.scalars(
        select(ChatMessage)
        .where(ChatMessage.session_id == member.session_id, ChatMessage.scope.in_(scopes))
        .order_by(ChatMessage.id)
    ).all()
