"""Who records which room (a lease), and the files recorded."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mediation.booking.models import SessionParticipant
from mediation.core.db import UTCDateTime, utcnow
from mediation.extensions import db

JOINT = "joint"
# SPC online mediation rules art 16: a session held with one side alone is recorded as that
# side's ("separate:applicant"), never as "joint": only that side and the mediator play it.
SEPARATE = "separate:"
# A session's main group (not a caucus): the files its review video is made of.
MAIN_SCOPES = (JOINT, f"{SEPARATE}applicant", f"{SEPARATE}respondent")


def file_scope(group: str, session_side: str | None) -> str:
    """The label a file recorded in ``group`` gets: the group, except that the main group
    of a session with one side is that side's."""
    if session_side is not None and group == JOINT:
        return f"{SEPARATE}{session_side}"
    return group


def side_of_scope(scope: str) -> str | None:
    """The side a file belongs to alone (a caucus, a session with one side), or None."""
    kind, _, side = scope.partition(":")
    return side if kind in ("caucus", "separate") and side else None


class RecordingLease(db.Model):
    """The one recorder worker recording a session's room, until ``expires_at``: the holder
    renews it twice a second; when it dies, another worker takes the room over."""

    __tablename__ = "recording_leases"

    session_id: Mapped[int] = mapped_column(
        ForeignKey("mediation_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    holder: Mapped[str] = mapped_column(String(120))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Recording(db.Model):
    """One file: one participant's audio and video from one stretch of recording. A new
    stretch (consent given again, a caucus, another worker taking over) is a new part."""

    __tablename__ = "recordings"
    __table_args__ = (
        Index("ix_recordings_session", "session_id"),
        # Every recorder looks for files left open twice a second.
        Index("ix_recordings_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("mediation_sessions.id", ondelete="CASCADE"))
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("session_participants.id", ondelete="CASCADE")
    )
    # Path under STORAGE_DIR; the file is WebM (VP8 and Opus as the browser sent them).
    path: Mapped[str] = mapped_column(String(300), unique=True)
    holder: Mapped[str] = mapped_column(String(120))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the recorder wrote the file's first frame (None: nothing yet, or never).
    written_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when the file is closed, by its writer or by the worker that took the room over.
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duration_seconds: Mapped[float | None] = mapped_column(Float)
    size: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    # "recording", "finished", "interrupted" (its worker died; closed by another),
    # "disk_full", or "empty" (nothing reached the recorder: no file, a gap journaled).
    status: Mapped[str] = mapped_column(String(16), default="recording")
    # "joint", "caucus:<side>" (a caucus), or "separate:<side>" (a session held with one
    # side alone, art 16): the last two are private to their side.
    scope: Mapped[str] = mapped_column(String(32), default="joint")
    # The stretch the file belongs to: the recorder's epoch in the room (a new connection, a
    # caucus, recording on again) and the participant's (a reload) when it was opened. The
    # room says "recording" only once each stream it records has a written file of the
    # current stretch (``rooms.layout.recording_state``); None for files made before.
    recorder_epoch: Mapped[int | None] = mapped_column(Integer)
    member_epoch: Mapped[int | None] = mapped_column(Integer)
    # Since when the stream has not reached the recorder while the file is open (a gap begun
    # and not ended, ``gaps.begin``): the room does not say "recording" for it meanwhile,
    # though the file has frames from before (a phone that lost its network). Kept on a file
    # closed within a gap; it counts only while the file is open.
    gap_since: Mapped[datetime | None] = mapped_column(UTCDateTime)

    participant: Mapped[SessionParticipant] = relationship()


class Composition(db.Model):
    """The review video of a session: everyone side by side, sound mixed (made once, after
    the session, by whichever worker claims it first)."""

    __tablename__ = "compositions"

    session_id: Mapped[int] = mapped_column(
        ForeignKey("mediation_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    path: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(16), default="composing")  # or finished, failed
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    duration_seconds: Mapped[float | None] = mapped_column(Float)
    size: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
