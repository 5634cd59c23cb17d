"""Early warnings raised for a region, and the cases each one rests on."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mediation.core.db import UTCDateTime, utcnow
from mediation.extensions import db


class EarlyWarning(db.Model):
    """One early warning: a surge of one category in one street (群体性纠纷), or one
    respondent named in many cases. ``key`` names what it is about (the street and category,
    or the respondent's key); a warning is raised once per key and window."""

    __tablename__ = "governance_warnings"
    __table_args__ = (
        CheckConstraint("kind IN ('surge', 'respondent')", name="known_kind"),
        UniqueConstraint("kind", "key", "window_start", name="uq_governance_warnings_once"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(128))
    # The street for a surge; for a respondent the narrowest division holding all its cases.
    area_code: Mapped[str] = mapped_column(String(12), index=True)
    category: Mapped[str | None] = mapped_column(String(40))
    # What staff read for a respondent: the name as the filers gave it (no ID number).
    label: Mapped[str] = mapped_column(String(200), default="")
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    window_end: Mapped[datetime] = mapped_column(UTCDateTime)
    case_count: Mapped[int] = mapped_column(Integer)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    cases: Mapped[list[WarningCase]] = relationship(
        cascade="all, delete-orphan", order_by="WarningCase.case_id"
    )
    keys: Mapped[list[WarningKey]] = relationship(cascade="all, delete-orphan")


class WarningCase(db.Model):
    __tablename__ = "governance_warning_cases"

    warning_id: Mapped[int] = mapped_column(
        ForeignKey("governance_warnings.id", ondelete="CASCADE"), primary_key=True
    )
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)


class WarningKey(db.Model):
    """Every key the subject was known by when warned (a respondent's accounts, ID number,
    name): a new case naming it under another key inside the window is the same subject."""

    __tablename__ = "governance_warning_keys"

    warning_id: Mapped[int] = mapped_column(
        ForeignKey("governance_warnings.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(128), primary_key=True, index=True)


class MonthlyTally(db.Model):
    """The region dashboard's counts for one province or city (and, by status only, one
    district) and one month of filing in Beijing time, kept by the worker
    (mediation/governance/tallies.py): a province's year is a few thousand of these rows
    instead of 200,000 cases.

    ``kind`` names what is counted: ``category``, ``status``, ``institution`` (its id, ''
    for none), ``missed`` (ended by a clock, value ''), ``due`` and ``performed`` (the
    obligations of these cases by month due, value 'YYYY-MM'), and ``built`` (area '',
    value '', 0): the month's rows are complete."""

    __tablename__ = "governance_monthly"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    area_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[str] = mapped_column(String(40), primary_key=True)
    cases: Mapped[int] = mapped_column(Integer)


class DirtyMonth(db.Model):
    """A month of filing whose tallies a change has made stale, written in the transaction
    of the change: until the worker rebuilds it, the dashboard counts that month live."""

    __tablename__ = "governance_dirty_months"

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7), index=True)
