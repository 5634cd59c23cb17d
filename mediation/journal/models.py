"""The proceedings journal: per-case, append-only, hash-chained entries."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mediation.core.db import UTCDateTime, utcnow
from mediation.extensions import db

if TYPE_CHECKING:  # the journal sits below every feature; it names users only for reading
    from mediation.accounts.models import User

GENESIS_HASH = "0" * 64


class JournalEntry(db.Model):
    __tablename__ = "journal_entries"
    __table_args__ = (UniqueConstraint("case_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)  # 1, 2, 3 ... within the case
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    actor: Mapped[User | None] = relationship("User")


class JournalHead(db.Model):
    """The last entry of a case's chain.

    A chain alone cannot show that its newest entries were cut off; the head records how
    long the chain must be. Its row is also the lock that serialises appends to one case.
    """

    __tablename__ = "journal_heads"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    hash: Mapped[str] = mapped_column(String(64), default=GENESIS_HASH)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SealedContent(db.Model):
    """What one journal entry says that only one side (and the case's staff) may read: the
    chat of a caucus, and everything said and written in a session held with one side
    alone (SPC online mediation rules art 16). The entry itself carries only
    ``{"sealed": {"side": ..., "sha256": ...}}``, the SHA-256 of ``nonce`` and this content,
    so the chain (which goes whole to a court, and whose entries every party may list)
    proves the content without showing it; the random nonce keeps a short text (a sum, a
    yes) from being guessed from its hash."""

    __tablename__ = "journal_sealed"
    __table_args__ = (
        CheckConstraint("side IN ('applicant', 'respondent')", name="known_sealed_side"),
    )

    entry_id: Mapped[int] = mapped_column(
        ForeignKey("journal_entries.id", ondelete="CASCADE"), primary_key=True
    )
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    side: Mapped[str] = mapped_column(String(16))
    nonce: Mapped[str] = mapped_column(String(64))
    content: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
