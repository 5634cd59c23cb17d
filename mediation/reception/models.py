"""A talk booked in a host's public reception hours (接待日), and what the host recorded."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mediation.accounts.models import User
from mediation.core.db import UTCDateTime, utcnow
from mediation.extensions import db


class BookingStatus(StrEnum):
    booked = "booked"  # the party is expected
    cancelled = "cancelled"  # by the party; the slot is free again
    held = "held"  # the talk took place and the host recorded it


class Outcome(StrEnum):
    advised = "advised"  # advice given, nothing more to do
    case = "case"  # escalated: a case was filed for the party
    answer = "answer"  # kept as a written consultation answer


LIVE = "status <> 'cancelled'"


class ReceptionBooking(db.Model):
    """One slot of a host's reception hours, booked by one person.

    A slot is booked once only: the partial unique index below refuses a second live
    booking of the same host and start, whatever process writes it (operations.book)."""

    __tablename__ = "reception_bookings"
    __table_args__ = (
        CheckConstraint("status IN ('booked', 'cancelled', 'held')", name="known_status"),
        CheckConstraint(
            "outcome IS NULL OR outcome IN ('advised', 'case', 'answer')", name="known_outcome"
        ),
        CheckConstraint("start_at < end_at", name="ordered_times"),
        Index(
            "uq_reception_bookings_slot",
            "host_id",
            "start_at",
            unique=True,
            sqlite_where=text(LIVE),
            postgresql_where=text(LIVE),
        ),
        Index("ix_reception_bookings_booker", "booker_id", "start_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    host_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    booker_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    place: Mapped[str] = mapped_column(String(200), default="")
    subject: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default=BookingStatus.booked)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The host's record of the talk (People's Mediation Law art 27: the mediation committee
    # keeps a record of its work) and what became of it.
    notes: Mapped[str] = mapped_column(Text, default="")
    outcome: Mapped[str | None] = mapped_column(String(16))
    # When the record was first saved, at or right after the talk: the time of what it
    # records (a talk kept as the party's answer was answered then). Saving it again does
    # not move it; a change to its text is ``edited_at`` (the latest).
    recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"))
    question_id: Mapped[int | None] = mapped_column(
        ForeignKey("consultation_questions.id", ondelete="SET NULL")
    )

    host: Mapped[User] = relationship(foreign_keys=[host_id])
    booker: Mapped[User] = relationship(foreign_keys=[booker_id])
