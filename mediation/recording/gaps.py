"""Streams the recorder should have recorded and did not (fully): a gap is journaled when it
begins (``recording.gap_started``) and when it ends (``recording.gap``, with its length),
so that the record says so even if the recorder dies in between. While a stream's gap is
open its file says so too (``Recording.gap_since``): the room then shows it as not being
recorded (``rooms.state``), whatever was written before.

A recording with a gap cannot stand in for the written minutes (SPC online mediation rules
art 22): ``rooms.recorded_throughout`` asks ``any_in`` and the minutes (page and PDF) list
``of_session``. Nothing here is a table of its own: the journal is the record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from mediation.booking.models import MediationSession, SessionParticipant
from mediation.extensions import db
from mediation.journal import operations as journal
from mediation.journal.models import JournalEntry

from .models import Recording

STARTED = "recording.gap_started"
ENDED = "recording.gap"
# Why a stream was not (fully) recorded, as the mediator and the minutes say it.
REASONS = {
    "no_media": _l("no sound or picture reached the recorder"),
    "stalled": _l("sound and picture stopped reaching the recorder"),
    "overloaded": _l("the recorder was overloaded and fell behind"),
    # The recorder's disk ran out (recording.stopped_disk_full journals that file's stop).
    "disk_full": _l("the recorder's disk was full"),
    # The recorder stopped (a crash, a lost machine) and another took the room over.
    "interrupted": _l("the recorder stopped and another took over"),
}


@dataclass
class Gap:
    key: str
    participant_id: int | None  # None: the whole room (the recorder overloaded)
    reason: str
    began: datetime
    seconds: float | None = None  # None: until the recording of the stream ended

    @property
    def why(self) -> str:
        return str(REASONS.get(self.reason, self.reason))


def _case_of(session_id: int) -> int:
    return db.session.get(MediationSession, session_id).case_id


def begin(
    session_id: int,
    participant_id: int | None,
    reason: str,
    key: str,
    began: datetime,
    file_id: int | None = None,
) -> None:
    """Journal that ``participant_id``'s stream (None: every stream) is not being recorded,
    and mark its open file ``file_id`` so."""
    journal.append(
        _case_of(session_id),
        STARTED,
        {
            "gap": key,
            "session_id": session_id,
            "participant_id": participant_id,
            "reason": reason,
            "began_at": began.isoformat(),
        },
        actor_id=None,  # the platform's recorder
    )
    _mark(file_id, began)


def end(
    session_id: int,
    participant_id: int | None,
    reason: str,
    key: str,
    began: datetime,
    ended: datetime,
    file_id: int | None = None,
) -> None:
    """Journal the gap's end and its length; the open file ``file_id`` gets frames again."""
    journal.append(
        _case_of(session_id),
        ENDED,
        {
            "gap": key,
            "session_id": session_id,
            "participant_id": participant_id,
            "reason": reason,
            "began_at": began.isoformat(),
            "ended_at": ended.isoformat(),
            "seconds": round((ended - began).total_seconds(), 1),
        },
        actor_id=None,
    )
    _mark(file_id, None)


def _mark(file_id: int | None, since: datetime | None) -> None:
    """The stream's open file does not get its frames since ``since`` (None: it does again).
    A whole room's gap (the recorder overloaded) has no file: its files still get frames,
    some late or lost, and the mediator is told."""
    if file_id is None:
        return
    db.session.execute(
        update(Recording)
        .where(Recording.id == file_id, Recording.status == "recording")
        .values(gap_since=since)
        .execution_options(synchronize_session=False)
    )


def missed(
    session_id: int,
    participant_id: int,
    reason: str,
    key: str,
    began: datetime,
    ended: datetime,
) -> None:
    """Journal a gap known only once it was over: a stretch that closed with nothing received,
    sooner than the watch calls a silent stream a gap (``RECORDER_MEDIA_WITHIN``)."""
    begin(session_id, participant_id, reason, key, began)
    end(session_id, participant_id, reason, key, began, ended)


def _entries(session_id: int) -> list[JournalEntry]:
    session = db.session.get(MediationSession, session_id)
    if session is None:
        return []
    entries = db.session.scalars(
        select(JournalEntry)
        .where(JournalEntry.case_id == session.case_id, JournalEntry.action.in_((STARTED, ENDED)))
        .order_by(JournalEntry.seq)
    ).all()
    return [e for e in entries if e.payload.get("session_id") == session_id]


def of_session(session_id: int) -> list[Gap]:
    """The session's gaps, in the order they began (a stream's from its last frame, which
    may be before an earlier-journaled one's); one whose end was never journaled (the
    recorder stopped first) has no length."""
    gaps: dict[str, Gap] = {}
    for entry in _entries(session_id):
        p = entry.payload
        gap = gaps.setdefault(
            p["gap"],
            Gap(
                key=p["gap"],
                participant_id=p.get("participant_id"),
                reason=p.get("reason", ""),
                began=datetime.fromisoformat(p["began_at"]),
            ),
        )
        if entry.action == ENDED:
            gap.seconds = p.get("seconds")
    return sorted(gaps.values(), key=lambda gap: gap.began)


def any_in(session_id: int) -> bool:
    return bool(_entries(session_id))


def names(session_id: int) -> dict[int, str]:
    """Participant id -> real name, for the gaps' lines."""
    rows = db.session.scalars(
        select(SessionParticipant).where(SessionParticipant.session_id == session_id)
    ).all()
    return {p.id: p.user.real_name for p in rows}


def notice(
    session_id: int, participant_id: int | None, reason: str, state: str, seconds: float | None
) -> dict:
    """What the mediator is shown of a gap the recorder reports, at once (art 22: where the
    recording is incomplete, the written minutes are the record)."""
    who = names(session_id).get(participant_id) if participant_id is not None else None
    why = str(REASONS[reason])
    if state == "started" and who:
        message = _(
            "Not being recorded: %(name)s (%(why)s). Write the minutes: they are the record.",
            name=who,
            why=why,
        )
    elif state == "started":
        message = _(
            "Recording has fallen behind (%(why)s). Write the minutes: they are the record.",
            why=why,
        )
    else:
        message = _(
            "Not recorded for %(seconds)s seconds: %(name)s (%(why)s).",
            seconds=format(seconds or 0, ".0f"),
            name=who or _("everyone"),
            why=why,
        )
    return {
        "participant": participant_id,
        "reason": reason,
        "state": state,
        "seconds": seconds,
        "message": message,
    }
