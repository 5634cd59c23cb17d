"""Reading a room: its members, everyone's seat in the layout (the recorder's included),
and the snapshot every relayed signaling message is checked against. Plain reads, but for
the recorder's stretch settled just before a change commits (``settle_recorder``);
``operations`` changes rooms."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from functools import cache as memoized

from flask import current_app, has_app_context
from sqlalchemy import Select, bindparam, event, exists, select, update
from sqlalchemy.orm import Session, aliased, joinedload, selectinload
from sqlalchemy.orm.util import identity_key

from mediation.accounts.models import Institution, User
from mediation.booking import links
from mediation.booking.models import MediationSession, SessionParticipant
from mediation.cases.models import Case
from mediation.extensions import db
from mediation.recording.models import Recording

from . import cache, layout
from .models import Room, RoomMember


def members(session_id: int) -> list[RoomMember]:
    return db.session.scalars(
        select(RoomMember)
        .where(RoomMember.session_id == session_id)
        .order_by(RoomMember.participant_id)
        .options(selectinload(RoomMember.participant).selectinload(SessionParticipant.user))
        .execution_options(populate_existing=True)
    ).all()


def _cleared(role: str, identity_confirmed, warning_acknowledged) -> bool:
    return role == "mediator" or (
        identity_confirmed is not None and warning_acknowledged is not None
    )


def seats(session_id: int) -> list[layout.Seat]:
    """Everyone's seat in the room, the recorder's included, read as plain rows."""
    rows = db.session.execute(select(*_seat_columns()).where(RoomMember.session_id == session_id))
    found = [_seat(row) for row in rows]
    room = db.session.execute(
        select(*_recorder_columns())
        .select_from(Room)
        .where(Room.session_id == session_id)
        .join(MediationSession, MediationSession.id == Room.session_id)
        .join(Case, Case.id == MediationSession.case_id)
        .outerjoin(Institution, Institution.id == Case.institution_id)
    ).one_or_none()
    return found if room is None else [*found, _recorder(room, found)]


def _recorder_columns() -> tuple:
    return (
        Room.recorder_sid,
        Room.recorder_epoch,
        Room.caucus_side,
        Room.started_at,
        Room.ended_at,
        Room.caucus_recorded,
        Room.recorder_on,
        Institution.record_caucus,
    )


def _record_caucus(row) -> bool:
    if row.caucus_side is not None and row.caucus_recorded is not None:
        return row.caucus_recorded
    return bool(row.record_caucus)


def _recorder(row, member_seats: list[layout.Seat]) -> layout.Seat:
    """The recorder's seat from a row of ``_recorder_columns()``."""
    return layout.recorder_seat(
        connected=row.recorder_sid is not None,
        epoch=row.recorder_epoch,
        caucus_side=row.caucus_side,
        record_caucus=_record_caucus(row),
        on=layout.recording_on(
            member_seats, started=row.started_at is not None, ended=row.ended_at is not None
        ),
    )


def _written():
    """Whether the member's file of the current stretch has frames written and is being
    written now: one open file of theirs with the recorder's epoch in the room and the
    member's own, and no gap open (a correlated EXISTS, so that every read of seats says it
    in the same statement)."""
    current = aliased(Room)
    return (
        exists()
        .where(
            Recording.participant_id == RoomMember.participant_id,
            Recording.member_epoch == RoomMember.epoch,
            Recording.status == "recording",
            Recording.written_at.is_not(None),
            Recording.gap_since.is_(None),
            current.session_id == RoomMember.session_id,
            Recording.session_id == current.session_id,
            Recording.recorder_epoch == current.recorder_epoch,
        )
        .correlate(RoomMember)
        .label("written")
    )


def _seat_columns() -> tuple:
    return (
        _written(),
        RoomMember.participant_id,
        RoomMember.role,
        RoomMember.side,
        RoomMember.admitted_at,
        RoomMember.sid,
        RoomMember.identity_confirmed_at,
        RoomMember.warning_acknowledged_at,
        RoomMember.epoch,
        RoomMember.recording_consent,
    )


def _seat(row) -> layout.Seat:
    """A seat from a row of ``_seat_columns()``."""
    return layout.Seat(
        row.participant_id,
        row.role,
        row.side,
        admitted=row.admitted_at is not None,
        present=row.sid is not None,
        cleared=_cleared(row.role, row.identity_confirmed_at, row.warning_acknowledged_at),
        epoch=row.epoch,
        consent=row.recording_consent,
        written=bool(row.written),
    )


def seat(member: RoomMember) -> layout.Seat:
    return layout.Seat(
        member.participant_id,
        member.role,
        member.side,
        admitted=member.admitted_at is not None,
        present=member.present,
        cleared=_cleared(member.role, member.identity_confirmed_at, member.warning_acknowledged_at),
        epoch=member.epoch,
    )


def load(participant_id: int) -> tuple[RoomMember, Room] | None:
    """A member with their room, participant, user and session, in one query: what every
    socket event needs to check and act (the relay of ICE candidates is the hot path)."""
    row = db.session.execute(
        select(RoomMember, Room)
        .join(Room, Room.session_id == RoomMember.session_id)
        .where(RoomMember.participant_id == participant_id)
        .options(*_MEMBER_WITH_PERSON)
    ).one_or_none()
    return None if row is None else (row[0], row[1])


# A member with their participant, user and session joined in. The user's roles (a
# "selectin" relationship, one more statement for every user loaded) decide nothing in a
# room: they are read only if asked for.
_MEMBER_WITH_PERSON = (
    joinedload(RoomMember.participant).joinedload(SessionParticipant.user).lazyload(User.role_rows),
    joinedload(RoomMember.participant).joinedload(SessionParticipant.session),
)


def member_in(session_id: int, participant_id: int) -> RoomMember | None:
    """Another member of the same room (whom the mediator admits or identifies), with their
    participant, user and session, in one statement."""
    return db.session.scalar(
        select(RoomMember)
        .where(RoomMember.participant_id == participant_id, RoomMember.session_id == session_id)
        .options(*_MEMBER_WITH_PERSON)
    )


def still_welcome(member: RoomMember, room: Room) -> bool:
    """Whether this member may still act in the room: the session is on (not ended, not
    cancelled, within its hours) and their account is active. Checked on every event."""
    participant = member.participant
    session = participant.session
    return _welcome(
        room.ended_at, participant.user.active, session.status, session.start_at, session.end_at
    )


def _welcome(ended_at, active: bool, status, start_at, end_at) -> bool:
    return ended_at is None and active and links.window_open(status, start_at, end_at)


@dataclass(frozen=True)
class Snapshot:
    """A room as one relayed message needs it: the layout and whether the sender (a member,
    or the recorder) may still act, read in one query of plain rows (every ICE candidate
    passes here)."""

    session_id: int
    layout_version: int
    caucus_side: str | None
    record_caucus: bool
    started_at: datetime | None
    ended_at: datetime | None
    seats: dict[int, layout.Seat]
    sender_sid: str | None
    sender_epoch: int
    welcome: bool


@memoized
def _snapshot_query(by_session: bool) -> Select:
    # Built once: composing a statement of this size costs more than running it.
    if by_session:
        session_id = bindparam("session_id")
    else:
        sender = aliased(RoomMember)
        session_id = (
            select(sender.session_id)
            .where(sender.participant_id == bindparam("participant_id"))
            .scalar_subquery()
        )
    return (
        select(
            *_seat_columns(),
            *_recorder_columns(),
            Room.session_id,
            Room.layout_version,
            MediationSession.status,
            MediationSession.start_at,
            MediationSession.end_at,
            User.active,
        )
        .join(Room, Room.session_id == RoomMember.session_id)
        .join(MediationSession, MediationSession.id == RoomMember.session_id)
        .join(SessionParticipant, SessionParticipant.id == RoomMember.participant_id)
        .join(User, User.id == SessionParticipant.user_id)
        .join(Case, Case.id == MediationSession.case_id)
        .outerjoin(Institution, Institution.id == Case.institution_id)
        .where(RoomMember.session_id == session_id)
    )


def snapshot(participant_id: int, *, at_least: int = 0) -> Snapshot | None:
    """The room of ``participant_id`` now, or None if they never arrived. ``at_least``: a
    layout version the caller knows of (an older reading in memory is not used)."""
    found = _reading(participant_id=participant_id, at_least=at_least)
    if found is not None and participant_id not in found.senders:
        found = _reading(participant_id=participant_id, fresh=True)  # a newcomer
    if found is None or participant_id not in found.senders:
        return None
    sid, epoch, active = found.senders[participant_id]
    return replace(found.room, sender_sid=sid, sender_epoch=epoch, welcome=found.welcome_of(active))


def recorder_snapshot(session_id: int, *, at_least: int = 0) -> Snapshot | None:
    """The room as the recorder, the sender of a relayed message, sees it."""
    found = _reading(session_id=session_id, at_least=at_least)
    if found is None:
        return None
    sid, epoch = found.recorder
    return replace(found.room, sender_sid=sid, sender_epoch=epoch, welcome=found.welcome_of(True))


@dataclass(frozen=True)
class _Reading:
    """A room as read once for the relay: its snapshot without a sender, and what each
    possible sender needs (kept in ``cache.rooms``)."""

    room: Snapshot
    senders: dict[int, tuple[str | None, int, bool]]  # participant: sid, epoch, active
    recorder: tuple[str | None, int]
    window: tuple  # ended_at, the session's status, start_at, end_at
    recorder_on: bool = False  # as stored (``Room.recorder_on``), not as the seats say now

    def welcome_of(self, active: bool) -> bool:
        ended_at, status, start_at, end_at = self.window
        return _welcome(ended_at, active, status, start_at, end_at)  # the hours, now


def _reading(
    *,
    participant_id: int | None = None,
    session_id: int | None = None,
    at_least: int = 0,
    fresh: bool = False,
) -> _Reading | None:
    if session_id is None:
        session_id = cache.rooms().session_of(participant_id)
    if session_id is not None and not fresh:
        found = cache.rooms().get(session_id, at_least)
        if found is not None:
            return found
    token = cache.rooms().token()
    if session_id is not None:
        rows = db.session.execute(_snapshot_query(True), {"session_id": session_id}).all()
    else:
        rows = db.session.execute(_snapshot_query(False), {"participant_id": participant_id})
        rows = rows.all()
    if not rows:
        return None
    found = _reading_of(rows)
    cache.rooms().put(rows[0].session_id, found, rows[0].layout_version, token, found.senders)
    return found


def _reading_of(rows) -> _Reading:
    first = rows[0]
    return _Reading(
        room=_snapshot(rows),
        senders={r.participant_id: (r.sid, r.epoch, r.active) for r in rows},
        recorder=(first.recorder_sid, first.recorder_epoch),
        window=(first.ended_at, first.status, first.start_at, first.end_at),
        recorder_on=bool(first.recorder_on),
    )


def _snapshot(rows) -> Snapshot:
    """The room from rows of ``_snapshot_query``, without a sender (``snapshot`` and
    ``recorder_snapshot`` name one)."""
    room = rows[0]
    member_seats = [_seat(r) for r in rows]
    seats = {s.participant_id: s for s in member_seats}
    seats[layout.RECORDER] = _recorder(room, member_seats)
    return Snapshot(
        session_id=room.session_id,
        layout_version=room.layout_version,
        caucus_side=room.caucus_side,
        record_caucus=_record_caucus(room),
        started_at=room.started_at,
        ended_at=room.ended_at,
        seats=seats,
        sender_sid=None,
        sender_epoch=0,
        welcome=False,
    )


@dataclass(frozen=True)
class Member:
    """A member as the roster shows them (``signaling.rooms`` turns it into the event)."""

    participant_id: int
    name: str
    id_number: str | None  # as on record: masked for the mediator's roster only
    id_confirmed: bool
    ethnicity: str | None
    role: str
    side: str | None
    present: bool
    admitted: bool
    identity_confirmed: bool
    warning_acknowledged: bool
    recording_consent: bool | None
    hand_raised: bool
    epoch: int


@dataclass(frozen=True)
class View:
    """A room as an arrival, a departure or a change tells it to everyone: the layout's
    inputs (``room``) and the roster, from one query of plain rows."""

    room: Snapshot
    members: list[Member]
    reading: _Reading  # the same, as the relay keeps it

    @property
    def seats(self) -> list[layout.Seat]:
        return list(self.room.seats.values())


@memoized
def _view_query() -> Select:
    # The relay's query and the roster's columns: one statement for everything an arrival
    # or a change sends (composed once, like the relay's).
    return (
        _snapshot_query(True)
        .add_columns(
            User.real_name,
            User.id_number,
            User.id_confirmed_at,
            User.ethnicity,
            RoomMember.hand_raised_at,
        )
        .order_by(RoomMember.participant_id)
    )


def view(session_id: int) -> View | None:
    """The room of ``session_id`` with its roster, or None while nobody ever arrived. Read
    inside the transaction that changed the room (under its lock), it is what commits."""
    # On the session's connection, not through the ORM's execution (a third of the read's
    # CPU, on every arrival: issue 18); flushed first, as the ORM would.
    db.session.flush()
    rows = db.session.connection().execute(_view_query(), {"session_id": session_id}).all()
    if not rows:
        return None
    reading = _reading_of(rows)
    return View(
        room=reading.room,
        reading=reading,
        members=[
            Member(
                participant_id=r.participant_id,
                name=r.real_name,
                id_number=r.id_number,
                id_confirmed=r.id_confirmed_at is not None,
                ethnicity=r.ethnicity,
                role=r.role,
                side=r.side,
                present=r.sid is not None,
                admitted=r.admitted_at is not None,
                identity_confirmed=r.identity_confirmed_at is not None,
                warning_acknowledged=r.warning_acknowledged_at is not None,
                recording_consent=r.recording_consent,
                hand_raised=r.hand_raised_at is not None,
                epoch=r.epoch,
            )
            for r in rows
        ],
    )


_WANTED = "mediation.rooms.wanted"
_VIEWS = "mediation.rooms.views"


def wanted(session: Session, session_id: int) -> None:
    """The room changed under its lock in this transaction: read it once more just before
    the commit (``_read_before_commit``), for whoever tells everyone (``committed``) and
    for the relay's readings (``cache.prime``)."""
    session.info.setdefault(_WANTED, set()).add(session_id)


def committed(session_id: int) -> View | None:
    """The room as the last commit of this database session left it, if that commit
    changed it under its lock (read then); None otherwise. Taken once."""
    return db.session.info.get(_VIEWS, {}).pop(session_id, None)


def settle_recorder(found: View | None) -> View | None:
    """The one write of this module, made under the room's lock just before a change
    commits: when the recorder's seat turns present again (everyone agreed once more,
    someone who had not answered left), its epoch grows. A file of the stretch before, still
    closing, then never counts as written for the new one (``layout.recording_state``), and
    the recorder and the browsers make new connections for it (as for a caucus). Returns the
    room as it commits."""
    if found is None:
        return None
    on = found.room.seats[layout.RECORDER].present
    if on == found.reading.recorder_on:
        return found
    session_id = found.room.session_id
    db.session.execute(
        update(Room)
        .where(Room.session_id == session_id)
        .values(
            recorder_on=on,
            recorder_epoch=Room.recorder_epoch + 1 if on else Room.recorder_epoch,
        )
        .execution_options(synchronize_session=False)
    )
    loaded = db.session.identity_map.get(identity_key(Room, session_id))
    if loaded is not None:
        db.session.expire(loaded, ["recorder_on", "recorder_epoch"])
    return view(session_id)


@event.listens_for(Session, "before_commit")
def _read_before_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return
    # Only the last commit's readings are ever used: a later change (a hand raised, which
    # takes no lock) is read afresh.
    views = session.info[_VIEWS] = {}
    session_ids = session.info.pop(_WANTED, None)
    if not session_ids or not has_app_context() or cache.KEY not in current_app.extensions:
        return
    primed = session.info.setdefault(cache.PRIMED, {})
    for session_id in sorted(session_ids):
        token = cache.rooms().own_token(session_id)
        found = settle_recorder(view(session_id))
        if found is not None:
            views[session_id] = found
            primed[session_id] = (found.reading, found.room.layout_version, token)


@event.listens_for(Session, "after_rollback")
def _forget_readings(session: Session) -> None:
    if not session.in_nested_transaction():
        session.info.pop(_WANTED, None)
        session.info.pop(_VIEWS, None)
