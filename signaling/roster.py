"""What the members of a room are told of it: each member's own layout (whom they connect
to and send to), the roster (the mediator's, with masked ID numbers, and everyone else's),
and the Socket.IO rooms they are addressed through. Arrivals and departures are told at
most once a tick per room (``Announcer``, issue 18: at 9:00 four arrivals within a second
would send everything four times over); a change the mediator makes is told at once
(``broadcast_state``). Sent after the change committed, from what the commit read
(``mediation.rooms.state``)."""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import current_app
from sqlalchemy import inspect

from mediation.accounts.identity import mask_id_number
from mediation.extensions import db, socketio
from mediation.rooms import layout, state
from mediation.rooms.models import Room
from signaling.delivery import send, send_each

log = logging.getLogger(__name__)


def personal(participant_id: int) -> str:
    return f"participant:{participant_id}"


def everyone(session_id: int) -> str:
    return f"session:{session_id}"


def recorder_room(session_id: int) -> str:
    return f"recorder:{session_id}"


def member_dict(member: state.Member, *, for_mediator: bool = False) -> dict:
    return {
        "id": member.participant_id,
        "name": member.name,
        # For the mediator only, masked: enough to compare with the card shown on camera.
        "id_number": mask_id_number(member.id_number)
        if for_mediator and member.id_number
        else None,
        # For the mediator: whether that number is confirmed (on camera, here or before),
        # and the ethnicity on record, for the identity step.
        "id_confirmed": member.id_confirmed if for_mediator else None,
        "ethnicity": member.ethnicity if for_mediator else None,
        "role": member.role,
        "side": member.side,
        "present": member.present,
        "admitted": member.admitted,
        "identity_confirmed": member.identity_confirmed,
        "warning_acknowledged": member.warning_acknowledged,
        "recording_consent": member.recording_consent,
        "hand_raised": member.hand_raised,
        "epoch": member.epoch,
    }


def layout_for(participant_id: int, room: Room | state.Snapshot, seats: list[layout.Seat]) -> dict:
    """What ``participant_id`` connects to and sends, under the room's current layout."""
    mine = next(s for s in seats if s.participant_id == participant_id)
    group = layout.group_of(mine, room.caucus_side) if room.ended_at is None else layout.LOBBY
    peers = layout.peers_of(mine, seats, room.caucus_side) if room.ended_at is None else []
    # Connections made ready without media while someone waits in the lobby (a waiting
    # person's to the mediator, the mediator's to each person waiting): the let-in only
    # puts the camera and microphone on them (layout.may_link; issue 18).
    links = layout.links_of(mine, seats) if room.ended_at is None else []
    epochs = {s.participant_id: s.epoch for s in seats}
    recording = (
        layout.recording_state(seats, room.caucus_side)
        if layout.RECORDER in peers or participant_id == layout.RECORDER
        else None
    )
    told = {
        "version": room.layout_version,
        "group": group,
        "caucus": room.caucus_side,
        "peers": peers,
        "links": links,
        # A peer's connection count: a new number means they came back (a reload), and
        # the media connection to them is made again.
        "epochs": {str(p): epochs[p] for p in peers + links},
        "cleared": mine.cleared,
        # Whom to send to is whom to connect to: nothing goes outside one's group.
        "send": {"audio": bool(peers), "video": bool(peers)},
        # Whether the recorder receives this participant now: "starting" from when it is
        # let in, "recording" (the red badge, ``recording``) only once every stream it
        # receives has frames written in a file; and whether the institution records
        # caucuses (shown to everyone before one begins).
        "recording_state": recording,
        "recording": recording == layout.RECORDING,
        "caucus_recorded": room.record_caucus,
        "started": room.started_at is not None,
        "ended": room.ended_at is not None,
    }
    if participant_id == layout.RECORDER:
        # The stretch the recorder's files belong to (``Recording.recorder_epoch``): a new
        # one closes every file and opens new ones.
        told["stretch"] = mine.epoch
        # Where the files end: the session's end on the server's clock (seconds since 1970).
        told["ended_at"] = room.ended_at.timestamp() if room.ended_at is not None else None
    return told


def broadcast_state(room: Room | int, found: state.View | None = None) -> None:
    """Everyone's own layout, and the roster, after any change: as the change committed
    (read under the room's lock just before, ``state.committed``), else read now."""
    # The key as the identity map holds it: reading the attribute of a room the commit
    # expired would load it again.
    session_id = room if isinstance(room, int) else inspect(room).identity[0]
    found = found or state.committed(session_id) or state.view(session_id)
    if found is not None:
        _send_state(found)


def _send_state(found: state.View) -> None:
    room, seats = found.room, found.seats
    # Two rosters, whatever the room's size: the mediator's (with the masked ID numbers)
    # and everyone else's. Versioned like the layout: two broadcasts from concurrent
    # arrivals can reach a page in either order, and the older one must not hide the
    # newer arrival. Each roster is encoded once for all who get it (``send_each``); each
    # member gets their own layout before it.
    rosters: dict[bool, list[str]] = {}
    for member in found.members:
        if not member.present:
            continue
        to = personal(member.participant_id)
        send("layout", layout_for(member.participant_id, room, seats), to=to)
        rosters.setdefault(member.role == "mediator", []).append(to)
    for mediator, addressees in rosters.items():
        roster = {
            "members": [member_dict(m, for_mediator=mediator) for m in found.members],
            "version": room.layout_version,
        }
        send_each("roster", roster, to=addressees)
    if found.reading.recorder[0] is not None:  # the recorder is connected
        recorder_layout = layout_for(layout.RECORDER, room, seats)
        send("layout", recorder_layout, to=recorder_room(room.session_id))


class Announcer:
    """Arrivals and departures are told to the room at most once per ``ROOM_BROADCAST_TICK``
    (seconds): at 9:00 the four members of a room arrive within a second, and each arrival
    told at once would send everyone's layout and the roster four times over. The first
    change in a quiet room is told at once (from what its commit read); later ones within
    the tick wait for its end and are told together, read afresh then. Each member still
    gets their own layout and roster, with the newest version; the newcomer has theirs in
    its ``welcome`` already. Changes the mediator makes (admission, a caucus) are told at
    once, not here."""

    KEY = "signaling.rooms.announcer"
    MAX_ROOMS = 10_000

    def __init__(self) -> None:
        self._due: set[int] = set()  # rooms whose broadcast waits for the tick's end
        self._last: dict[int, float] = {}  # room -> when it was last told

    def announce(self, session_id: int, found: state.View | None) -> None:
        tick = current_app.config["ROOM_BROADCAST_TICK"]
        if session_id in self._due:
            return  # told at the tick's end, as it is then
        now = time.monotonic()
        wait = self._last.get(session_id, -tick) + tick - now
        if tick <= 0 or (wait <= 0 and found is not None):
            self._told(session_id, now)
            _send_state(found)
            return
        self._due.add(session_id)
        app = current_app._get_current_object()
        socketio.start_background_task(self._later, app, session_id, max(wait, 0))

    def _told(self, session_id: int, now: float) -> None:
        if len(self._last) >= self.MAX_ROOMS:
            self._last = {s: at for s, at in self._last.items() if now - at < 60}
        self._last[session_id] = now

    def _later(self, app: Any, session_id: int, wait: float) -> None:
        socketio.sleep(wait)
        with app.app_context():
            # Not due any more before it is read: a change from now on is told again.
            self._due.discard(session_id)
            self._told(session_id, time.monotonic())
            try:
                found = state.view(session_id)
                db.session.rollback()  # a read only: end its transaction
                if found is not None:
                    _send_state(found)
            except Exception:
                log.exception("room %s: telling its members the change failed", session_id)


def announce(session_id: int, found: state.View | None) -> None:
    announcer = current_app.extensions.get(Announcer.KEY)
    if announcer is None:
        announcer = current_app.extensions[Announcer.KEY] = Announcer()
    announcer.announce(session_id, found)
