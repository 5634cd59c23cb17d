"""The recorder's side of the room namespace: the recorder worker holding a session's lease
connects as the hidden peer ``RECORDER`` (signaling/rooms.py sends it here), reports the
streams it does not record and when they flow again (``recording_gap``), and says when a
file has its first frames written (``recording_written``): the room says "recording" only
of streams written now (``layout.recording_state``; SPC online mediation rules art 22)."""

from __future__ import annotations

from typing import Any

from flask import request, session
from flask_babel import gettext as _
from flask_socketio import ConnectionRefusedError, disconnect, join_room
from sqlalchemy import select

from mediation.extensions import db
from mediation.recording import gaps
from mediation.recording import operations as recording
from mediation.rooms import layout, state
from mediation.rooms import operations as rooms
from mediation.rooms.models import Room, RoomMember
from signaling.delivery import send
from signaling.edge import (
    NAMESPACE,
    MalformedEventError,
    _error,
    _field,
    _size_checked,
    _within_limits,
)
from signaling.roster import broadcast_state, everyone, layout_for, personal, recorder_room


class RecorderEvents:
    """The recorder's events, a part of ``RoomNamespace``."""

    def _connect_recorder(self, auth: dict) -> None:
        """The recorder worker holding the session's lease joins as a hidden peer that
        only receives; it proves the lease with a token signed by the platform's key."""
        try:
            session_id = _field(auth, "session", int)
            token = _field(auth, "recorder", str)
        except MalformedEventError:
            raise ConnectionRefusedError("unauthorized") from None
        room = db.session.get(Room, session_id)
        if room is None or not recording.may_connect(token, session_id):
            raise ConnectionRefusedError("unauthorized")
        try:
            replaced = rooms.recorder_arrive(room, request.sid)
            db.session.commit()
        except rooms.RoomError as refusal:
            db.session.rollback()
            raise ConnectionRefusedError(refusal.code) from None
        if replaced is not None:
            disconnect(replaced, namespace=NAMESPACE)
        session["recorder_session"] = session_id
        join_room(recorder_room(session_id))
        join_room(everyone(session_id))
        found = state.committed(session_id) or state.view(session_id)
        if found is None:  # nobody in the room yet
            seats, epoch = state.seats(session_id), room.recorder_epoch
            recorder_layout = layout_for(layout.RECORDER, room, seats)
        else:
            epoch = found.reading.recorder[1]
            recorder_layout = layout_for(layout.RECORDER, found.room, found.seats)
        send(
            "welcome",
            {
                "you": {"id": layout.RECORDER, "role": "recorder", "epoch": epoch},
                "session": session_id,
                "layout": recorder_layout,
                "chat": [],
            },
        )
        if found is not None:
            broadcast_state(session_id, found)

    def on_recording_gap(self, data: Any = None, *_more: Any) -> None:
        """The recorder reports a stream it does not (or no longer) record: every mediator
        in the room is told at once (the recorder has journaled it; the minutes list it).
        Arguments past the first (no recorder sends them) are ignored, as by every event."""
        session_id = _recorder_of_the_room("recording_gap")
        if session_id is None:
            return
        try:
            notice = recording_notice(session_id, _size_checked(data))
        except MalformedEventError as problem:
            _error("invalid", _("The request is malformed: %(why)s", why=str(problem)), "")
            return
        for mediator in db.session.scalars(
            select(RoomMember.participant_id).where(
                RoomMember.session_id == session_id, RoomMember.role == "mediator"
            )
        ).all():
            send("recording_gap", notice, to=personal(mediator))
        # A stream stopped (its gap begun, or its file closed by a full disk) or flows again:
        # every page reads whether it is 录制中 again. A gap of frames arriving late (the
        # recorder behind) changes no stream's state, and comes and goes as the load does.
        if notice["participant"] is None or notice["reason"] == "overloaded":
            return
        if rooms.recording_changed(session_id, request.sid):
            db.session.commit()
            broadcast_state(session_id)
        else:
            db.session.rollback()

    def on_recording_written(self, data: Any = None, *_more: Any) -> None:
        """The recorder wrote the first frames of a file (``{"file": id}``). Only the room's
        current recorder may say so, of a file of this room that its worker holds; when
        the file is of the current stretch, everyone gets the layout again (the room may
        now say "recording")."""
        session_id = _recorder_of_the_room("recording_written")
        if session_id is None:
            return
        try:
            file_id = _field(_size_checked(data), "file", int)
        except MalformedEventError as problem:
            why = _("The request is malformed: %(why)s", why=str(problem))
            _error("invalid", why, "recording_written")
            return
        try:
            changed = rooms.recording_written(session_id, file_id, request.sid)
            db.session.commit()
        except rooms.RoomError as refusal:
            db.session.rollback()
            _error(refusal.code, str(refusal), "recording_written")
            return
        if changed:
            broadcast_state(session_id)


def _recorder_of_the_room(event: str) -> int | None:
    """The session whose recorder sent ``event``, within its rate; None (refused, and told
    so unless over the rate) when the sender is no recorder: only the recorder reports what
    it records."""
    session_id = session.get("recorder_session")
    # The recorder's reports have a limit of their own: the badge depends on each of them.
    if not _within_limits(event, "recorder" if session_id is not None else None):
        return None
    if session_id is None:
        _error("forbidden", _("This request is not known."), event)
    return session_id


def recording_notice(session_id: int, data: Any) -> dict:
    """What the mediator is shown of a gap the recorder reports (SPC online mediation rules
    art 22: the minutes become the record where the recording is incomplete)."""
    participant = _field(data, "participant", int, optional=True)
    reason = _field(data, "reason", str)
    state_ = _field(data, "state", str)
    if reason not in gaps.REASONS or state_ not in ("started", "ended"):
        raise MalformedEventError("unknown reason or state")
    seconds = data.get("seconds")
    if seconds is not None and not (
        isinstance(seconds, (int, float)) and not isinstance(seconds, bool) and 0 <= seconds < 1e7
    ):
        raise MalformedEventError("seconds is out of range")
    return gaps.notice(session_id, participant, reason, state_, seconds)
