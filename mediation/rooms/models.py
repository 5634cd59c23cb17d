"""The state of a session's room, shared by every server process through the database."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mediation.booking.models import MediationSession, SessionParticipant
from mediation.core.db import UTCDateTime, utcnow
from mediation.extensions import db


class Room(db.Model):
    """One per session, made when the first participant arrives."""

    __tablename__ = "rooms"
    __table_args__ = (
        CheckConstraint(
            "caucus_side IS NULL OR caucus_side IN ('applicant', 'respondent')",
            name="known_caucus_side",
        ),
    )

    session_id: Mapped[int] = mapped_column(
        ForeignKey("mediation_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    # Grows with every change of who may exchange media with whom; a client acting on an
    # older layout is corrected.
    layout_version: Mapped[int] = mapped_column(Integer, default=1)
    # The side the mediator is talking with alone (背靠背), or None in the joint session.
    caucus_side: Mapped[str | None] = mapped_column(String(16))
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The recorder's connection (a hidden peer that only receives), and which one it is.
    recorder_sid: Mapped[str | None] = mapped_column(String(64))
    recorder_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Whether the recorder received anyone as of the last change (its seat present): when
    # that turns on again, the recorder's epoch grows, so that a file still closing from
    # the stretch before never counts as the new stretch's (``state.settle_recorder``).
    recorder_on: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # When someone first said no to recording: from then on the minutes are the record.
    consent_refused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The institution's caucus setting as it was when the current caucus began (what the
    # room was told and the journal says), None outside a caucus.
    caucus_recorded: Mapped[bool | None] = mapped_column(Boolean)

    session: Mapped[MediationSession] = relationship()

    @property
    def record_caucus(self) -> bool:
        """Whether a caucus is recorded: in one, as it was when it began; otherwise the
        institution's setting now."""
        if self.caucus_side is not None and self.caucus_recorded is not None:
            return self.caucus_recorded
        institution = self.session.case.institution
        return bool(institution is not None and institution.record_caucus)


class RoomMember(db.Model):
    """A participant's presence and the steps taken with them in the room."""

    __tablename__ = "room_members"
    __table_args__ = (Index("ix_room_members_session", "session_id"),)

    participant_id: Mapped[int] = mapped_column(
        ForeignKey("session_participants.id", ondelete="CASCADE"), primary_key=True
    )
    session_id: Mapped[int] = mapped_column(ForeignKey("mediation_sessions.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))  # mediator, party or agent
    side: Mapped[str | None] = mapped_column(String(16))  # None for the mediator
    # The Socket.IO connection now in use; None while away.
    sid: Mapped[str | None] = mapped_column(String(64))
    # Counts the member's connections: peers rebuild their media connection to a member
    # who came back (a reload), even when they never noticed the member was gone.
    epoch: Mapped[int] = mapped_column(Integer, default=0)
    arrived_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    admitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # People's Mediation Law art 20 and the SPC online mediation rules: the mediator checks
    # on camera that the person is who the case record says.
    identity_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # SPC online mediation rules art 17: the party was warned against sham mediation.
    warning_acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Asked of everyone for the recording (SPC rules art 22); None: not answered yet.
    recording_consent: Mapped[bool | None] = mapped_column(Boolean)
    recording_consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hand_raised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    participant: Mapped[SessionParticipant] = relationship()

    @property
    def present(self) -> bool:
        return self.sid is not None


class ChatMessage(db.Model):
    """A chat line; ``scope`` is the group it was said in: everyone in the joint session, or
    only those in a caucus (the mediator's private talk with one side)."""

    __tablename__ = "chat_messages"
    __table_args__ = (Index("ix_chat_messages_session", "session_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("mediation_sessions.id", ondelete="CASCADE"))
    participant_id: Mapped[int] = mapped_column(ForeignKey("session_participants.id"))
    scope: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
