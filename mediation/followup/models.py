"""The obligations of an agreement in force, tracked one by one, and the follow-ups
(回访记录) the mediator records on them.

People's Mediation Law art 31: the committee watches over the performance of the
agreement and urges the parties to keep it. Each item of the agreement's obligations
list becomes one ``Obligation`` row when the agreement takes effect.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mediation.accounts.models import User
from mediation.cases.models import Case, CaseParty
from mediation.core.db import UTCDateTime, utcnow
from mediation.extensions import db


class ObligationStatus(StrEnum):
    pending = "pending"  # not yet due, or due and not yet confirmed
    performed = "performed"  # the obligee confirmed full performance
    partly = "partly"  # the obligee confirmed part of it
    missed = "missed"  # the date passed without confirmation


class FollowUpKind(StrEnum):
    call = "call"
    visit = "visit"


class FollowUpResult(StrEnum):
    will_perform = "will_perform"  # the obligor promises to perform
    performed = "performed"  # found performed (the obligee had not confirmed)
    refuses = "refuses"  # the obligor refuses or cannot be reached
    other = "other"


class Obligation(db.Model):
    __tablename__ = "obligations"
    __table_args__ = (
        UniqueConstraint("agreement_id", "position"),
        CheckConstraint(
            "status IN ('pending', 'performed', 'partly', 'missed')", name="known_status"
        ),
        # The worker's scans (reminders, missed dates) and the performance rate.
        Index("ix_obligations_status_due", "status", "due_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)  # index in the agreement's obligations
    obligor_party_id: Mapped[int | None] = mapped_column(ForeignKey("case_parties.id"))
    obligee_party_id: Mapped[int | None] = mapped_column(ForeignKey("case_parties.id"))
    description: Mapped[str] = mapped_column(Text, default="")
    amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    due_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default=ObligationStatus.pending)
    performed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What the obligee said was received when only part was performed.
    performed_note: Mapped[str | None] = mapped_column(Text)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    missed_noticed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    case: Mapped[Case] = relationship()
    obligor: Mapped[CaseParty | None] = relationship(foreign_keys=[obligor_party_id])
    obligee: Mapped[CaseParty | None] = relationship(foreign_keys=[obligee_party_id])
    follow_ups: Mapped[list[FollowUp]] = relationship(
        back_populates="obligation", order_by="FollowUp.id", cascade="all, delete-orphan"
    )


class FollowUp(db.Model):
    """A 回访记录: the mediator's call or visit about an obligation and what came of it."""

    __tablename__ = "follow_ups"
    __table_args__ = (
        CheckConstraint("kind IN ('call', 'visit')", name="known_kind"),
        CheckConstraint(
            "result IN ('will_perform', 'performed', 'refuses', 'other')", name="known_result"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    obligation_id: Mapped[int] = mapped_column(
        ForeignKey("obligations.id", ondelete="CASCADE"), index=True
    )
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    mediator_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(16))
    result: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    obligation: Mapped[Obligation] = relationship(back_populates="follow_ups")
    mediator: Mapped[User] = relationship()
