"""Availability rules, sessions and who takes part in them.

Times of day in the rules are the mediator's local times; instants are stored in UTC. No two
live sessions of one mediator overlap (buffer included): the database refuses them, with an
exclusion constraint on PostgreSQL and a trigger on SQLite (see the migration), so that the
guarantee holds whatever code or process writes the row.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime, time
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    text,
)
from sqlalchemy.dialects.postgresql import ExcludeConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mediation.accounts.models import User
from mediation.cases.models import Case
from mediation.core.db import UTCDateTime, utcnow
from mediation.extensions import db


def new_feed_token() -> str:
    return secrets.token_urlsafe(24)


class SessionStatus(StrEnum):
    offered = "offered"  # one of several times offered; held until the parties choose
    scheduled = "scheduled"  # fixed; everyone is invited
    cancelled = "cancelled"  # called off, or an offered time nobody chose (frees the slot)


class JoinsFrom(StrEnum):
    home = "home"
    # A party without a phone or computer joins from the institution's office (art 16).
    site = "site"


class BookingSettings(db.Model):
    """One mediator's booking rules. Its row is also the lock that makes one mediator's
    bookings happen one after another (see ``operations.lock_calendar``)."""

    __tablename__ = "booking_settings"
    __table_args__ = (
        CheckConstraint("session_minutes BETWEEN 15 AND 480", name="session_length"),
        CheckConstraint("buffer_minutes BETWEEN 0 AND 240", name="buffer_length"),
        CheckConstraint("max_sessions_per_day BETWEEN 1 AND 20", name="daily_limit"),
    )

    mediator_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    time_zone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    session_minutes: Mapped[int] = mapped_column(Integer, default=60)
    buffer_minutes: Mapped[int] = mapped_column(Integer, default=15)
    # Enough to arrange to be free and test a device, and still book later the same day;
    # new mediators start with the installation's BOOKING_MIN_NOTICE_HOURS. No rule sets a
    # notice period: the People's Mediation Law asks for mediation "in good time" (art 21),
    # and a session can also start at once when the parties agree (operations.start_now).
    min_notice_hours: Mapped[int] = mapped_column(Integer, default=2)
    max_sessions_per_day: Mapped[int] = mapped_column(Integer, default=4)
    # State Council public holidays are off unless an exception opens hours on that day.
    holidays_off: Mapped[bool] = mapped_column(Boolean, default=True)
    # The secret of the private calendar feed URL; replaced when the mediator asks.
    feed_token: Mapped[str] = mapped_column(String(64), unique=True, default=new_feed_token)
    version: Mapped[int] = mapped_column(Integer, default=1)


class AvailabilityRule(db.Model):
    """Weekly hours: every ``weekday`` (0 = Monday) from ``starts`` to ``ends``, local time.

    A ``reception`` rule is a public reception time (接待日, e.g. the 两代表一委员 "every
    Friday morning"): it is listed on the public reception page with its place, and its
    slots are marked when the mediator books.
    """

    __tablename__ = "availability_rules"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="known_weekday"),
        CheckConstraint("starts < ends", name="positive_length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mediator_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    weekday: Mapped[int] = mapped_column(Integer)
    starts: Mapped[time] = mapped_column(Time)
    ends: Mapped[time] = mapped_column(Time)
    reception: Mapped[bool] = mapped_column(Boolean, default=False)
    place: Mapped[str] = mapped_column(String(200), default="")


class AvailabilityException(db.Model):
    """One date that differs from the weekly rules: leave (``available`` False; the whole
    day when no hours are given) or extra hours (``available`` True, e.g. on a holiday)."""

    __tablename__ = "availability_exceptions"
    __table_args__ = (
        CheckConstraint(
            "(starts IS NULL AND ends IS NULL) OR (starts IS NOT NULL AND ends IS NOT NULL "
            "AND starts < ends)",
            name="hours_or_whole_day",
        ),
        CheckConstraint("available = false OR starts IS NOT NULL", name="extra_hours_given"),
        Index("ix_availability_exceptions_mediator_day", "mediator_id", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mediator_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    starts: Mapped[time | None] = mapped_column(Time)
    ends: Mapped[time | None] = mapped_column(Time)
    available: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str] = mapped_column(String(200), default="")


class MediationSession(db.Model):
    """A video session of a case at a fixed time (or one of several times offered)."""

    __tablename__ = "mediation_sessions"
    __table_args__ = (
        CheckConstraint("start_at < end_at AND end_at <= busy_until", name="ordered_times"),
        CheckConstraint(
            "status IN ('offered', 'scheduled', 'cancelled')", name="known_session_status"
        ),
        # No double booking: a mediator's live sessions never overlap, buffer included.
        ExcludeConstraint(
            ("mediator_id", "="),
            (text("tsrange(start_at, busy_until)"), "&&"),
            where=text("status <> 'cancelled'"),
            using="gist",
            name="no_double_booking",
        ).ddl_if(dialect="postgresql"),
        Index("ix_mediation_sessions_mediator_start", "mediator_id", "start_at"),
        Index("ix_mediation_sessions_case", "case_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    mediator_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The end plus the mediator's buffer: the time the session keeps free in the calendar.
    busy_until: Mapped[datetime] = mapped_column(UTCDateTime)
    # The mediator's local date of the start, for the daily limit.
    local_day: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default=SessionStatus.scheduled)
    # Times offered together share a key; the parties' common choice is kept, the rest freed.
    offer_key: Mapped[str | None] = mapped_column(String(32), index=True)
    # SPC online mediation rules art 16: with every party's consent, one side at a time.
    side: Mapped[str | None] = mapped_column(String(16))  # None: all parties together
    reception: Mapped[bool] = mapped_column(Boolean, default=False)
    # RFC 5545: the UID stays, the SEQUENCE grows, so calendars replace the event.
    uid: Mapped[str] = mapped_column(String(100), unique=True)
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str] = mapped_column(Text, default="")
    # When the reminders before the session went out (once each; cleared on reschedule).
    reminded_day_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_hour_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    case: Mapped[Case] = relationship()
    mediator: Mapped[User] = relationship(foreign_keys=[mediator_id])
    participants: Mapped[list[SessionParticipant]] = relationship(
        back_populates="session", cascade="all, delete-orphan", order_by="SessionParticipant.id"
    )

    @property
    def live(self) -> bool:
        return self.status != SessionStatus.cancelled

    def hidden_from(self, user: User) -> bool:
        """Whether ``user`` is a party (or agent) of the other side of a session held with
        one side alone (SPC online mediation rules art 16). Everything produced in it —
        chat, minutes, their review, recordings — is that side's and the mediator's: the
        mediator hears each side apart precisely so that each may speak freely, and art 29
        (4) forbids disclosing the mediation's course. The booking itself stays visible:
        every party consented to separate sessions and may know that one took place.
        Staff of the case (not parties) see everything by design; courts are handled by the
        court feature."""
        if self.side is None:
            return False
        sides = {p.side for p in self.case.parties if p.user_id == user.id}
        return bool(sides) and self.side not in sides


class SessionParticipant(db.Model):
    """Someone expected in a session: the mediator, a party or an agent."""

    __tablename__ = "session_participants"
    __table_args__ = (
        CheckConstraint("joins_from IN ('home', 'site')", name="known_place"),
        Index("uq_session_participant", "session_id", "user_id", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("mediation_sessions.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))  # "mediator", "party", "agent" or "guest"
    # A guest the mediator invited (People's Mediation Law art 20): a relative, neighbour
    # or colleague of a party, who comes with that ``side``; or an expert or interpreter,
    # who comes with no side.
    relation: Mapped[str | None] = mapped_column(String(16))
    side: Mapped[str | None] = mapped_column(String(16))
    joins_from: Mapped[str] = mapped_column(String(8), default=JoinsFrom.home)
    # For an offered time: when this party said they can come.
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Part of the signed join link; replaced to revoke links sent before.
    link_nonce: Mapped[str] = mapped_column(String(32), default=lambda: secrets.token_hex(8))

    session: Mapped[MediationSession] = relationship(back_populates="participants")
    user: Mapped[User] = relationship()
