"""What every event of the room namespace goes through first: its size and shape checked
(``_field``), its rate limited (``_within_limits``, signaling/limits.py), and refusals sent
to the caller as ``error`` events (``_error``); shared by the members' handlers
(signaling/rooms.py) and the recorder's (signaling/recorder.py)."""

from __future__ import annotations

import json
from typing import Any

from flask import current_app, session
from flask_babel import gettext as _
from flask_socketio import disconnect

from signaling import limits
from signaling.delivery import send
from signaling.guard import ThrottledLog

# Floods are logged, one line now and then (a flood of log lines would be one more flood).
flood_log = ThrottledLog()

NAMESPACE = "/room"
MAX_EVENT_BYTES = 64 * 1024  # an SDP offer with many candidates stays far below


class MalformedEventError(Exception):
    """The event is malformed: wrong shape, wrong type, too large."""


def _size_checked(data: Any) -> Any:
    try:
        # UTF-8 as on the wire; a lone surrogate ("\ud800", which JSON can carry) is no
        # text and fails here, not in the database or a PDF later.
        size = len(json.dumps(data, ensure_ascii=False).encode())
    except (TypeError, ValueError, RecursionError):
        raise MalformedEventError("not JSON") from None
    if size > MAX_EVENT_BYTES:
        raise MalformedEventError("too large")
    return data


MAX_ID = 2**31 - 1  # ids are 32-bit in the database


def _field(data: Any, name: str, kind: type | tuple[type, ...], *, optional: bool = False):
    if not isinstance(data, dict):
        raise MalformedEventError("an object is expected")
    value = data.get(name)
    if value is None and optional:
        return None
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        raise MalformedEventError(f"{name} is missing or of the wrong type")
    if kind is int and not 0 <= value <= MAX_ID:
        raise MalformedEventError(f"{name} is out of range")
    return value


def _error(code: str, message: str, event: str, **extra) -> None:
    send("error", {"code": code, "message": message, "event": event, **extra})


def _within_limits(event: str, kind: str | None = None) -> bool:
    """Count the event against its limit (signaling/limits.py); over it, refused, and a
    client that keeps on regardless is disconnected. Checked before anything is read."""
    room_limits = current_app.extensions[limits.KEY]
    kind = kind or (event if event in ("signal", "chat", "minutes") else "events")
    limit = room_limits.limits[kind]
    participant_id = session.get("participant_id")
    if kind in limits.PER_PARTICIPANT and participant_id is not None:
        bucket = room_limits.participants.get((kind, participant_id), limit)
    else:  # this connection's own, kept with it
        mine = session.setdefault("rate_limits", {})
        bucket = mine.get(kind) or mine.setdefault(kind, limits.Bucket(limit))
    if bucket.take():
        return True
    if bucket.abused:
        flood_log.warning(
            "room: disconnected participant %s: over %s %s events", participant_id, limit, kind
        )
        _error("flood", _("Too many messages: the connection is closed."), event)
        disconnect()
        return False
    _error(
        "rate_limited",
        _("Too many messages. Please wait a moment and try again."),
        event,
        retry_after=bucket.retry_after(),
    )
    return False
