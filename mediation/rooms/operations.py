"""What happens in a room: arriving and leaving, admission, identity confirmation, the
sham-mediation warning, consent to recording, the caucus, chat, the end of the session.
Operations flush and journal; the socket and HTTP edges commit."""

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
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.util import identity_key

from mediation.accounts import operations as accounts
from mediation.accounts.models import User
from mediation.booking import links
from mediation.booking import operations as booking
from mediation.booking.models import MediationSession, SessionParticipant
from mediation.cases import agency
from mediation.cases.models import Case, CaseParty, Side
from mediation.cases.workflow import NotPermittedError
from mediation.core.db import utcnow
from mediation.core.forms import FieldError
from mediation.core.hardening import unstorable
from mediation.extensions import db
from mediation.journal import operations as journal
from mediation.minutes import operations as minutes
from mediation.recording import gaps
from mediation.recording.models import MAIN_SCOPES, Recording

from . import cache, layout, state
from .models import ChatMessage, Room, RoomMember
from .state import members, seat

MAX_CHAT = 2000


class RoomError(NotPermittedError):
    """A step the room does not allow now; ``code`` names it for clients."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def participant_for(session_id: int, user: User | None) -> SessionParticipant | None:
    """``user``'s place in the session, while its room is open (15 minutes before the start
    until 30 minutes after the end, not cancelled)."""
    if user is None or not user.is_authenticated:
        return None
    participant = db.session.scalar(
        select(SessionParticipant)
        .where(SessionParticipant.session_id == session_id, SessionParticipant.user_id == user.id)
        # Every arrival reads the session next (its hours, then its case): one statement.
        .options(joinedload(SessionParticipant.session))
    )
    if participant is None or not links.open_now(participant):
        return None
    return participant


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


def participant_after_end(session_id: int, user: User | None) -> SessionParticipant | None:
    """``user``'s place in a session the mediator has ended: its room page still opens,
    to say so and lead to the minutes (whenever it is opened again), but nobody connects."""
    if user is None or not user.is_authenticated:
        return None
    participant = db.session.scalar(
        select(SessionParticipant).where(
            SessionParticipant.session_id == session_id, SessionParticipant.user_id == user.id
        )
    )
    if participant is None or participant.session.ended_at is None:
        return None
    return participant


def room_of(session: MediationSession) -> Room:
    return _room(session.id)


def _room(session_id: int) -> Room:
    room = db.session.get(Room, session_id)
    if room is not None:
        return room
    try:
        with db.session.begin_nested():  # two people may arrive at the same moment
            room = Room(session_id=session_id)
            db.session.add(room)
    except IntegrityError:
        room = db.session.get(Room, session_id, populate_existing=True)
    return room


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


def _update(session_id: int, step: int) -> Room | None:
    """The room's row updated (its layout version plus ``step``, which takes its lock) and
    read back in the same statement."""
    return db.session.scalars(
        update(Room)
        .where(Room.session_id == session_id)
        .values(layout_version=Room.layout_version + step)
        .returning(Room)
        .execution_options(synchronize_session=False, populate_existing=True)
    ).one_or_none()


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
    """The room locked and given its new layout version (as ``_update``), read back as a
    plain row. None if the room is not made yet."""
    db.session.flush()  # what the caller changed is written first (as the ORM's autoflush)
    # On the session's connection: the ORM's execution of a plain statement cost as much
    # again as the statement (issue 18), and here there is nothing for it to load.
    connection = db.session.connection()
    row = connection.execute(_arrival_statement(), {"room": session_id}).one_or_none()
    loaded = db.session.identity_map.get(identity_key(Room, session_id))
    if loaded is not None:  # a Room this database session holds shows the new version
        db.session.expire(loaded, ["layout_version"])
    return row


def lock(room: Room) -> Room:
    """Take the room's row lock first, in every operation that changes the room, so that
    two operations never wait on each other's locks in opposite orders (on SQLite the
    database's write lock does the same). Returns the room as it is now."""
    return _update(room.session_id, 0)


def _changed(session_id: int) -> None:
    cache.changed(db.session, session_id)  # the relay's readings go once this commits
    state.wanted(db.session, session_id)  # read again, under the lock, before it commits


def bump_layout(room: Room) -> int:
    """A new layout version, counted in the database so that every server process agrees."""
    room = _update(room.session_id, 1)
    _changed(room.session_id)
    return room.layout_version


def _log(
    member: RoomMember,
    action: str,
    by: User | None = None,
    *,
    sealed: dict | None = None,
    side: str | None = None,
    **payload,
) -> None:
    journal.append(
        member.participant.session.case_id,
        f"room.{action}",
        {"session_id": member.session_id, "participant_id": member.participant_id, **payload},
        actor_id=by.id if by is not None else member.participant.user_id,
        sealed=sealed,
        side=side,
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


def private_to(session: MediationSession, group: str) -> str | None:
    """The side that alone may read what is said in ``group``: that of a session held with
    one side (SPC online mediation rules art 16), whatever the group; in a joint session
    the side of a caucus, or of the side waiting meanwhile. None: said before everyone."""
    if session.side is not None:
        return session.side
    if group.startswith(("caucus:", "waiting:")):
        return group.split(":", 1)[1]
    return None


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
        room = _arrival_update(_room(participant.session_id).session_id)
    if room.ended_at is not None:
        raise RoomError("ended", _("This session has ended."))
    if participant.role == "agent" and agency.is_unconfirmed_agent(
        db.session.get(Case, participant.case_id), db.session.get(User, participant.user_id)
    ):
        # Taking part for a party is acting in their name (cases/agency.py): not before the
        # party confirmed, or the mediator checked with the party on camera.
        raise RoomError(
            "agency",
            _(
                "The party you act for has not confirmed you as their agent yet. They can "
                "confirm it from the message sent to their phone, or join themselves."
            ),
        )
    db.session.flush()  # an agent's objects, if read (as the ORM's autoflush)
    connection = db.session.connection()
    row = connection.execute(_member_query(), {"member": participant.id}).one_or_none()
    if row is None:  # a first arrival: the new row
        row = _Joining(
            role=participant.role,
            side=_side_of(participant),
            sid=None,
            epoch=0,
            # The mediator runs the room and needs no admission.
            admitted_at=utcnow() if participant.role == "mediator" else None,
            identity_confirmed_at=None,
            warning_acknowledged_at=None,
        )
    member = Arrived(
        participant.id, participant.session_id, participant.case_id, participant.user_id, *row
    )
    resumed = (
        resume is not None
        and member.sid is not None
        and hmac.compare_digest(resume, resume_token(member))
    )
    replaced = member.sid
    epoch = member.epoch if resumed else (member.epoch or 0) + 1
    member = replace(member, sid=sid, epoch=epoch)
    if isinstance(row, _Joining):
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
    _changed(room.session_id)  # the version was counted with the lock, above
    # Whether anything was said yet, asked after the journal entry: ``say`` does not take
    # the room's lock, but its journal entry takes the case's journal head, which the entry
    # above has just waited for; so a first line committed meanwhile is seen here
    # (PostgreSQL's READ COMMITTED gives each statement a fresh snapshot; asked in the
    # room's UPDATE above, it could miss that line, and the arriving person would never
    # get it).
    said = connection.execute(_said_statement(), {"room": room.session_id}).scalar()
    return Arrival(member, replaced, bool(said))


class _Joining(NamedTuple):
    """A member's row before their first arrival writes it (as ``_member_columns``)."""

    role: str
    side: str | None
    sid: str | None
    epoch: int
    admitted_at: datetime | None
    identity_confirmed_at: datetime | None
    warning_acknowledged_at: datetime | None


def recorder_arrive(room: Room, sid: str) -> str | None:
    """The recorder worker that holds the session's lease connected (the caller checked
    the lease): it takes the recorder's seat with a new epoch. Returns the connection it
    replaces (a worker taking over from a dead one)."""
    room = lock(room)
    if room.ended_at is not None:
        raise RoomError("ended", _("This session has ended."))
    replaced = room.recorder_sid
    room.recorder_sid = sid
    room.recorder_epoch = (room.recorder_epoch or 0) + 1
    db.session.flush()
    bump_layout(room)
    return replaced


def recorder_depart(room: Room, sid: str) -> bool:
    """The recorder's connection closed; True if it was the current one."""
    lock(room)
    gone = db.session.execute(
        update(Room)
        .where(Room.session_id == room.session_id, Room.recorder_sid == sid)
        .values(recorder_sid=None)
        .execution_options(synchronize_session=False)
    )
    if gone.rowcount != 1:
        return False
    bump_layout(room)
    return True


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
    _changed(who.session_id)
    return True


def _mediator_of(member: RoomMember, by: RoomMember) -> None:
    if by.role != "mediator" or by.session_id != member.session_id:
        raise RoomError("forbidden", _("Only the mediator can do this."))


def admit(member: RoomMember, *, by: RoomMember) -> None:
    _mediator_of(member, by)
    room = _update(member.session_id, 0)  # a member's room exists: locked
    db.session.refresh(member)  # as it is now, under the lock
    if not member.present:
        raise RoomError("absent", _("This person is not in the lobby."))
    if member.admitted_at is None:
        member.admitted_at = utcnow()
        db.session.flush()
        _log(member, "admitted", by.participant.user)
        bump_layout(room)


def confirm_identity(
    member: RoomMember,
    *,
    by: RoomMember,
    epoch: int | None = None,
    id_number: str | None = None,
    ethnicity: str | None = None,
) -> None:
    """The mediator compared the person on camera with the case record: name and ID
    number (SPC online mediation rules art 17; People's Mediation Law art 20 for agents
    and others who take part). A person with no number on record (an invited respondent
    who has not given one), or a wrong one, gets the number on the card the mediator types
    (``id_number``, with ``ethnicity``) before it is confirmed; a number confirmed already
    is not changed (``accounts.set_identity``)."""
    _mediator_of(member, by)
    room = _update(member.session_id, 0)  # a member's room exists: locked
    db.session.refresh(member)  # as it is now, under the lock
    if member.role == "mediator" or member.admitted_at is None or not member.present:
        raise RoomError("absent", _("This person is not in the lobby."))
    if epoch is not None and epoch != member.epoch:
        # The person reconnected (perhaps from another device) since the mediator looked.
        raise RoomError("changed", _("This person reconnected; please check again."))
    user = member.participant.user
    entered = bool((id_number or "").strip() or (ethnicity or "").strip())
    if entered:
        try:
            accounts.set_identity(user, id_number=id_number, ethnicity=ethnicity, vouched=True)
        except FieldError as problem:
            raise RoomError("invalid", problem.message) from None
    member.identity_confirmed_at = utcnow()
    # The ID number the person claimed is now confirmed (or found held by another account,
    # which the journal records for the mediator to resolve).
    id_confirmed = accounts.confirm_id_number(
        user, by=by.participant.user, now=member.identity_confirmed_at
    )
    db.session.flush()
    who = {"name": user.real_name, "id_number": user.id_number_masked}
    # Who came to a session held with one side (a relative, say) is that side's to know.
    side = member.participant.session.side
    _log(
        member,
        "identity_confirmed",
        by.participant.user,
        id_confirmed=id_confirmed,
        # The mediator typed or corrected the number (or ethnicity) from the card.
        entered_by_mediator=entered,
        role=member.role,
        **({} if side else who),
        sealed=who if side else None,
        side=side,
    )
    bump_layout(room)  # cleared: now connected to the other participants too


def acknowledge_warning(member: RoomMember) -> None:
    """SPC online mediation rules art 17: the party was told that a sham mediation to harm
    others' rights is unlawful, and says so."""
    if member.role == "mediator":
        raise RoomError("forbidden", _("Only parties and agents acknowledge the warning."))
    if member.warning_acknowledged_at is None:
        room = _update(member.session_id, 0)  # a member's room exists: locked
        member.warning_acknowledged_at = utcnow()
        db.session.flush()
        _log(member, "warning_acknowledged")
        bump_layout(room)


def recording_consent(member: RoomMember, consent: bool) -> None:
    """Whether this participant agrees that the session is recorded (asked of everyone;
    the recording itself needs every party's consent)."""
    room = _update(member.session_id, 0)  # a member's room exists: locked
    member.recording_consent = consent
    member.recording_consent_at = utcnow()
    if not consent and room.consent_refused_at is None:
        room.consent_refused_at = member.recording_consent_at
    db.session.flush()
    _log(member, "recording_consent", consent=consent)
    bump_layout(room)  # the recorder may start or stop receiving


def start(room: Room, *, by: RoomMember) -> None:
    """The mediator opens the session once every party present has been identified and has
    acknowledged the warning."""
    if by.role != "mediator":
        raise RoomError("forbidden", _("Only the mediator can do this."))
    lock(room)
    waiting = [
        m
        for m in members(room.session_id)
        if m.role != "mediator"
        and m.admitted_at is not None
        and (m.identity_confirmed_at is None or m.warning_acknowledged_at is None)
    ]
    if waiting:
        raise RoomError(
            "not_ready",
            _("Confirm everyone's identity, and let every party acknowledge the warning first."),
        )
    if room.started_at is None:
        room.started_at = utcnow()
        db.session.flush()
        _log(by, "started")
        bump_layout(room)  # recording, where everyone agreed, begins with the session


def caucus(room: Room, side: str | None, *, by: RoomMember) -> int:
    """Move into a private talk with one side (背靠背), or back to the joint session
    (``side`` None). Returns the new layout version."""
    if by.role != "mediator":
        raise RoomError("forbidden", _("Only the mediator can do this."))
    if side is not None and side not in set(Side):
        raise RoomError("invalid", _("Choose a side."))
    lock(room)
    if room.caucus_side == side:
        return room.layout_version
    room.caucus_side = side
    room.caucus_recorded = room.record_caucus if side else None
    # The recorder starts new connections (and files) for the new group: a new epoch tells
    # the browsers to drop their old connection to it.
    room.recorder_epoch = (room.recorder_epoch or 0) + 1
    db.session.flush()
    if side:
        # Whether the caucus is recorded is the institution's setting, journaled each time.
        _log(by, "caucus", side=side, recorded=room.record_caucus)
    else:
        _log(by, "joint", side=None)
    return bump_layout(room)


def raise_hand(member: RoomMember, raised: bool) -> None:
    member.hand_raised_at = utcnow() if raised else None
    db.session.flush()


def say(member: RoomMember, room: Room, text: str) -> ChatMessage:
    """A chat line, kept (and journaled) in the group the speaker is in."""
    text = text.strip()
    if not text or len(text) > MAX_CHAT:
        raise RoomError("invalid", _("A message has 1 to %(n)d characters.", n=MAX_CHAT))
    if unstorable(text):  # NUL, or a lone surrogate a JSON "\ud800" decodes to
        raise RoomError("invalid", _("This text contains characters that cannot be stored."))
    group = layout.group_of(seat(member), room.caucus_side)
    if group == layout.LOBBY:
        raise RoomError("forbidden", _("You can write once you have been admitted."))
    message = ChatMessage(
        session_id=member.session_id, participant_id=member.participant_id, scope=group, text=text
    )
    db.session.add(message)
    db.session.flush()
    side = private_to(member.participant.session, group)
    if side is None:
        _log(member, "chat", scope=group, text=text)
    else:
        # The journal (which goes whole to a court) keeps the words' hash only; the words
        # are that side's and the mediator's.
        _log(member, "chat", scope=group, message_id=message.id, sealed={"text": text}, side=side)
    return message


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


def recorded_throughout(room: Room) -> bool:
    """Whether everyone let in agreed to recording and nobody ever said no: only then may
    the recording stand in for the written minutes (SPC online mediation rules art 22)."""
    taking_part = [m for m in members(room.session_id) if m.admitted_at is not None]
    files = db.session.execute(
        select(Recording.participant_id, Recording.written_at).where(
            Recording.session_id == room.session_id,
            Recording.scope.in_(MAIN_SCOPES),
        )
    ).all()
    recorded = {participant for participant, written in files if written is not None}
    return (
        room.consent_refused_at is None
        and all(m.recording_consent is True for m in taking_part if m.role != "mediator")
        # ...and a recorder really recorded everyone (one may not be running at all).
        and all(m.participant_id in recorded for m in taking_part)
        # ...and every file it opened has something in it: one without a frame is a stretch
        # it has not received (yet), however sure the indicator on the page looks.
        and all(written is not None for _, written in files)
        # ...and no stream went unrecorded for a while (recording/watch.py reports it).
        and not gaps.any_in(room.session_id)
        # ...and no file stopped early because the recorder's disk was full.
        and not db.session.scalar(
            select(Recording.id)
            .where(Recording.session_id == room.session_id, Recording.status == "disk_full")
            .limit(1)
        )
    )


def end(room: Room, *, by: RoomMember, now: datetime | None = None) -> None:
    """The mediator ends the session: nobody exchanges media any more."""
    if by.role != "mediator":
        raise RoomError("forbidden", _("Only the mediator can do this."))
    lock(room)
    if (
        room.ended_at is None
        and not recorded_throughout(room)
        and not minutes.written(room.session_id)
    ):
        raise RoomError(
            "minutes_required",
            _(
                "Not everyone agreed to recording, so the minutes are the record: "
                "write them before ending the session."
            ),
        )
    if room.ended_at is None:
        room.ended_at = now or utcnow()
        # Nobody waits for the floor in a session that is over.
        db.session.execute(
            update(RoomMember)
            .where(RoomMember.session_id == room.session_id)
            .values(hand_raised_at=None)
            .execution_options(synchronize_session=False)
        )
        db.session.flush()
        _log(by, "ended")
        booking.session_ended(room.session, at=room.ended_at)
        minutes.session_ended(room.session)
        bump_layout(room)
