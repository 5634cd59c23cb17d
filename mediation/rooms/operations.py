"""What happens in a room: admission, identity confirmation, the sham-mediation warning,
consent to recording, the caucus, chat, the recorder's seat, the end of the session. (A
member's connection arriving and leaving is ``arrival``'s, which builds on this module.)
Operations flush and journal; the socket and HTTP edges commit."""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from mediation.accounts import operations as accounts
from mediation.accounts.models import User
from mediation.booking import links
from mediation.booking import operations as booking
from mediation.booking.models import MediationSession, SessionParticipant
from mediation.cases.models import Side
from mediation.cases.workflow import NotPermittedError
from mediation.core.db import utcnow
from mediation.core.forms import FieldError
from mediation.core.hardening import unstorable
from mediation.extensions import db
from mediation.journal import operations as journal
from mediation.minutes import operations as minutes
from mediation.recording import gaps
from mediation.recording import operations as recording
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
    if participant is None or not links.open_now(participant) or not links.seat_holds(participant):
        return None
    return participant


def recorded_seats(user_id: int) -> set[int]:
    """The seats of ``user_id`` a room records: they arrived (and whatever they said, and
    their recordings, name that seat)."""
    return set(
        db.session.scalars(
            select(RoomMember.participant_id)
            .join(SessionParticipant, SessionParticipant.id == RoomMember.participant_id)
            .where(SessionParticipant.user_id == user_id)
        )
    )


def case_of(session_id: int) -> int | None:
    return db.session.scalar(
        select(MediationSession.case_id).where(MediationSession.id == session_id)
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
    if not links.seat_holds(participant):
        return None
    return participant


def room_of(session: MediationSession) -> Room:
    return room_by_id(session.id)


def room_by_id(session_id: int) -> Room:
    """The session's room, made on the first need of it."""
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


_ROOMS = Room.__table__


def _count(session_id: int, step: int) -> int | None:
    """The room's layout version plus ``step`` (which takes the row's lock), as plain SQL
    that returns the new version alone: a change that needs nothing else of the room saves
    the ORM's UPDATE … RETURNING of the whole room (~170 µs each, twice a change; issue 18).
    A room loaded in this session is told its new version."""
    version = db.session.execute(
        update(_ROOMS)
        .where(_ROOMS.c.session_id == session_id)
        .values(layout_version=_ROOMS.c.layout_version + step)
        .returning(_ROOMS.c.layout_version)
    ).scalar_one_or_none()
    loaded = db.session.identity_map.get(identity_key(Room, session_id))
    if loaded is not None and version is not None:
        set_committed_value(loaded, "layout_version", version)
    return version


def lock(room: Room) -> Room:
    """Take the room's row lock first, in every operation that changes the room, so that
    two operations never wait on each other's locks in opposite orders (on SQLite the
    database's write lock does the same). Returns the room as it is now."""
    return _update(room.session_id, 0)


def room_changed(session_id: int) -> None:
    """The room changed in this transaction (the caller counted its new layout version)."""
    cache.changed(db.session, session_id)  # the relay's readings go once this commits
    state.wanted(db.session, session_id)  # read again, under the lock, before it commits


def bump_layout(room: Room | int) -> int:
    """A new layout version, counted in the database so that every server process agrees."""
    session_id = room if isinstance(room, int) else room.session_id
    version = _count(session_id, 1)
    room_changed(session_id)
    return version


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


def private_to(session: MediationSession, group: str) -> str | None:
    """The side that alone may read what is said in ``group``: that of a session held with
    one side (SPC online mediation rules art 16), whatever the group; in a joint session
    the side of a caucus, or of the side waiting meanwhile. None: said before everyone."""
    if session.side is not None:
        return session.side
    if group.startswith(("caucus:", "waiting:")):
        return group.split(":", 1)[1]
    return None


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


def recording_written(session_id: int, recording_id: int, sid: str) -> bool:
    """The room's recorder (connection ``sid``) wrote the first frames of a file: it counts
    as written (if the recorder's own mark did not reach the database first). Refused unless
    ``sid`` is the room's current recorder and the file is this room's, still open, and
    its worker holds the room's lease. True when the file is of the current stretch: the
    room's recording state may have changed (``layout.recording_state``), a new layout
    version tells everyone."""
    room = _update(session_id, 0)  # locked, as it is now
    if room is None or room.recorder_sid != sid:
        raise RoomError("forbidden", _("Only the room's recorder can report this."))
    file = db.session.get(Recording, recording_id, populate_existing=True)
    if (
        file is None
        or file.session_id != session_id
        or file.status != "recording"
        or not recording.holds(session_id, file.holder)
    ):
        raise RoomError("unknown", _("There is no such recording in this session."))
    if file.written_at is None:
        file.written_at = utcnow()
        db.session.flush()
    member = db.session.get(RoomMember, file.participant_id, populate_existing=True)
    if (
        room.ended_at is not None
        or file.recorder_epoch != room.recorder_epoch
        or member is None
        or file.member_epoch != member.epoch
    ):
        return False  # a stretch that is over: the room's state is not its
    bump_layout(room)
    return True


def recording_changed(session_id: int, sid: str) -> bool:
    """The room's recorder (connection ``sid``) told of a stream it no longer records (its
    file closed by a full disk, or its gap begun: ``Recording.gap_since``) or records again
    (the gap over): a new layout version, so that every page reads the recording state
    again and says "recording" only of what is (SPC online mediation rules art 22). False
    when ``sid`` is not the room's recorder or the session is over."""
    room = _update(session_id, 0)  # locked, as it is now
    if room is None or room.recorder_sid != sid or room.ended_at is not None:
        return False
    bump_layout(room)
    return True


def _mediator_of(member: RoomMember, by: RoomMember) -> None:
    if by.role != "mediator" or by.session_id != member.session_id:
        raise RoomError("forbidden", _("Only the mediator can do this."))


def admit(member: RoomMember, *, by: RoomMember) -> None:
    _mediator_of(member, by)
    _count(member.session_id, 0)  # a member's room exists: locked
    db.session.refresh(member)  # as it is now, under the lock
    if not member.present:
        raise RoomError("absent", _("This person is not in the lobby."))
    if member.admitted_at is None:
        member.admitted_at = utcnow()
        db.session.flush()
        _log(member, "admitted", by.participant.user)
        bump_layout(member.session_id)


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
    _count(member.session_id, 0)  # a member's room exists: locked
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
    bump_layout(member.session_id)  # cleared: now connected to the other participants too


def acknowledge_warning(member: RoomMember) -> None:
    """SPC online mediation rules art 17: the party was told that a sham mediation to harm
    others' rights is unlawful, and says so."""
    if member.role == "mediator":
        raise RoomError("forbidden", _("Only parties and agents acknowledge the warning."))
    if member.warning_acknowledged_at is None:
        _count(member.session_id, 0)  # a member's room exists: locked
        member.warning_acknowledged_at = utcnow()
        db.session.flush()
        _log(member, "warning_acknowledged")
        bump_layout(member.session_id)


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
