"""The outbox: every e-mail and SMS the platform sends, with its delivery state."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mediation.core.db import UTCDateTime, utcnow
from mediation.extensions import db


class Channel(StrEnum):
    email = "email"
    sms = "sms"


class MessageStatus(StrEnum):
    queued = "queued"  # waiting for its first or next attempt
    sent = "sent"  # accepted by the SMTP server or the SMS gateway


class OutboxMessage(db.Model):
    __tablename__ = "outbox_messages"
    __table_args__ = (
        CheckConstraint("channel IN ('email', 'sms')", name="known_channel"),
        CheckConstraint("status IN ('queued', 'sent')", name="known_status"),
        Index("ix_outbox_messages_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(8))
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text)
    # Holds a one-time code: never shown to administrators, emptied once delivered.
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    # [{"filename", "content_type", "data" (base64)}], e.g. calendar invitations.
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(8), default=MessageStatus.queued)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A worker owns a message until this time; another takes it over after a crash.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
