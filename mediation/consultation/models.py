"""Questions, their attached files, and the experts who answer them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mediation.accounts.models import User
from mediation.core.db import UTCDateTime, utcnow
from mediation.extensions import db


class ExpertKind(StrEnum):
    lawyer = "lawyer"  # 律师
    mediator = "mediator"  # 调解员
    # 两代表一委员: deputies of the people's congress, CPPCC members and people's jurors
    # volunteering to answer
    deputy = "deputy"


class QuestionStatus(StrEnum):
    open = "open"  # waiting for an expert of the pool
    taken = "taken"  # an expert is writing the answer
    answered = "answered"


class HandoverKind(StrEnum):
    """How a question taken by an expert went back or on without their answer."""

    given_back = "given_back"  # 放回: the expert gave it back to the pool before answering
    taken_over = "taken_over"  # late: another expert of the pool took it over
    put_back = "put_back"  # late: the region's administrator put it back in the pool


class GiveBackReason(StrEnum):
    """Why an expert gives a question back (they choose; ``note`` may add a few words)."""

    field = "field"  # not my field
    conflict = "conflict"  # a conflict of interest
    time = "time"  # no time to answer within the time stated to the asker
    other = "other"  # said in the note


LATE = "late"  # the reason of a takeover or a put-back: the time stated had passed


class ExpertProfile(db.Model):
    """Who answers what, where: the pool a question goes to is the experts whose region and
    categories match it."""

    __tablename__ = "expert_profiles"
    __table_args__ = (
        CheckConstraint("kind IN ('lawyer', 'mediator', 'deputy')", name="known_kind"),
    )

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    # Codes of the dispute categories answered; empty: every category.
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    hours: Mapped[str] = mapped_column(String(200), default="")  # e.g. 工作日 9:00-17:00
    region_code: Mapped[str] = mapped_column(String(6))  # a province (GB/T 2260)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship()


class Question(db.Model):
    __tablename__ = "consultation_questions"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'taken', 'answered')", name="known_status"),
        Index("ix_consultation_questions_pool", "region_code", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    asker_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    category: Mapped[str] = mapped_column(String(32))
    region_code: Mapped[str] = mapped_column(String(6))  # the province where it arose
    subject: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=QuestionStatus.open)
    # The answer time stated to the asker when they asked (working days, cases.clocks).
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expert_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the worker told the region's administrators and the pool that it is late.
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalated_to: Mapped[int | None] = mapped_column(Integer)  # how many people were told
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    converted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    asker: Mapped[User] = relationship(foreign_keys=[asker_id])
    expert: Mapped[User | None] = relationship(foreign_keys=[expert_id])
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="question", cascade="all, delete-orphan", order_by="Attachment.id"
    )
    handovers: Mapped[list[Handover]] = relationship(
        back_populates="question", cascade="all, delete-orphan", order_by="Handover.id"
    )


class Attachment(db.Model):
    """A file sent with a question, checked by content and kept under its SHA-256 like
    a case's evidence (cases.intake.check_upload)."""

    __tablename__ = "consultation_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(
        ForeignKey("consultation_questions.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    question: Mapped[Question] = relationship(back_populates="attachments")


class Handover(db.Model):
    """The record of a question freed from the expert who took it: who freed it, when and
    why (handover.py). Read by the region's administrators beside the question; the asker
    is shown none of it (still waiting, the same time stated)."""

    __tablename__ = "consultation_handovers"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('given_back', 'taken_over', 'put_back')", name="known_handover_kind"
        ),
        CheckConstraint(
            "reason IN ('field', 'conflict', 'time', 'other', 'late')", name="known_reason"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(
        ForeignKey("consultation_questions.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    # The expert who had taken it, and since when.
    expert_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Who freed it: that expert (given back), the colleague who took it over, or the
    # administrator who put it back.
    by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    question: Mapped[Question] = relationship(back_populates="handovers")
    expert: Mapped[User] = relationship(foreign_keys=[expert_id])
    by: Mapped[User] = relationship(foreign_keys=[by_id])
