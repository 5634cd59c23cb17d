"""A session's minutes."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mediation.core.db import UTCDateTime, utcnow
from mediation.extensions import db

if TYPE_CHECKING:
    from mediation.accounts.models import User

# The parts of the minutes, in the order they are written and printed.
SECTIONS = ("attendees", "applicant_statement", "respondent_statement", "proposals", "facts")


class Minutes(db.Model):
    """What was said and agreed in one session, as the mediator records it: who attended,
    each side's statements, proposals, and the facts both sides do not dispute."""

    __tablename__ = "minutes"

    session_id: Mapped[int] = mapped_column(
        ForeignKey("mediation_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    attendees: Mapped[str] = mapped_column(Text, default="")
    applicant_statement: Mapped[str] = mapped_column(Text, default="")
    respondent_statement: Mapped[str] = mapped_column(Text, default="")
    proposals: Mapped[str] = mapped_column(Text, default="")
    # Undisputed facts are confirmed in writing even when the session is recorded (art 22).
    facts: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The version the parties are reviewing; None while the mediator is still writing.
    review_version: Mapped[int | None] = mapped_column(Integer)
    review_opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The review ends once: every party answered, or the mediator closed it. The PDF
    # made then is the record kept with the case (People's Mediation Law art 27).
    finalised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    document_path: Mapped[str | None] = mapped_column(String(300))
    document_sha256: Mapped[str | None] = mapped_column(String(64))

    reviews: Mapped[list[MinutesReview]] = relationship(
        order_by="MinutesReview.id", cascade="all, delete-orphan"
    )

    def written(self) -> bool:
        """Something was recorded beyond the list of attendees."""
        return any(getattr(self, name).strip() for name in SECTIONS[1:])


class MinutesReview(db.Model):
    """One party's (or agent's) answer to one version of the minutes: confirmed by a
    one-time code, with the passages they dispute and why. A new version of the
    minutes starts every review again."""

    __tablename__ = "minutes_reviews"
    __table_args__ = (UniqueConstraint("session_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("minutes.session_id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(Integer)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # [{"passage": "2.1", "note": "..."}]: disputed passages stay in the minutes, marked.
    disputes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Set when the mediator closed the review without this person's answer.
    unanswered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()

    @property
    def answered(self) -> bool:
        return self.confirmed_at is not None
