"""A session's minutes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from mediation.core.db import UTCDateTime, utcnow
from mediation.extensions import db

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

    def written(self) -> bool:
        """Something was recorded beyond the list of attendees."""
        return any(getattr(self, name).strip() for name in SECTIONS[1:])
