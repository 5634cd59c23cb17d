"""Cases: one dispute on the platform, from intake to the end, and the parties to it."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mediation.accounts.models import Institution, User
from mediation.core.db import UTCDateTime, utcnow
from mediation.extensions import db

from .states import OPEN_STATUSES, CaseStatus


class Side(StrEnum):
    applicant = "applicant"
    respondent = "respondent"


class Category(db.Model):
    """A kind of dispute; see ``categories.py``."""

    __tablename__ = "categories"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    # False where a court cannot confirm an agreement (SPC CPL interpretation art 355).
    judicial_confirmation: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


OPEN_CASES = "status IN ({})".format(", ".join(f"'{s}'" for s in sorted(OPEN_STATUSES)))
# What the governance dashboard reads of a case (see ix_cases_created_at).
GOVERNANCE_COLUMNS = [
    "id",
    "area_code",
    "category",
    "status",
    "institution_id",
    "termination_reason",
    "mediation_due_at",
    "acceptance_due_at",
]


class Case(db.Model):
    __tablename__ = "cases"
    # The caseload query: a mediator's cases by state.
    # The caseload query: a mediator's cases by state. The governance dashboard: a region's
    # cases by filing date (area_code LIKE '32%': pattern ops let PostgreSQL seek the prefix
    # whatever the database's collation; see docs/governance.md for the measurements).
    __table_args__ = (
        Index("ix_cases_mediator_status", "mediator_id", "status"),
        Index(
            "ix_cases_area_created",
            "area_code",
            "created_at",
            postgresql_ops={"area_code": "varchar_pattern_ops"},
        ),
        # A province's or a city's year (mediation/governance/figures.py) and the early
        # warnings' windows: on PostgreSQL the columns the dashboard counts by ride along,
        # so those aggregates are index-only scans (docs/governance.md).
        Index("ix_cases_created_at", "created_at", postgresql_include=GOVERNANCE_COLUMNS),
        # The governance dashboard's clocks still running (open cases past a deadline), the
        # one figure of a province it counts live over the whole period: only open cases.
        Index(
            "ix_cases_open_created",
            "created_at",
            postgresql_include=GOVERNANCE_COLUMNS,
            postgresql_where=text(OPEN_CASES),
            sqlite_where=text(OPEN_CASES),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    category: Mapped[str] = mapped_column(ForeignKey("categories.code"))
    title: Mapped[str] = mapped_column(String(200))
    facts: Mapped[str] = mapped_column(Text, default="")
    # Where the dispute arose (GB/T 2260 division code): assignment prefers nearby mediators.
    region_code: Mapped[str | None] = mapped_column(String(6))
    # The finest known GB/T 2260 division as a code prefix: "32" (only the province is
    # known), "320102" (a district), "320102001" (a street, 乡镇街道: the county's code and
    # the township's three digits of GB/T 10114). Set from region_code when submitted and
    # from the accepting institution's area (mediation/governance/areas.py).
    area_code: Mapped[str | None] = mapped_column(String(12))
    status: Mapped[str] = mapped_column(String(32), default=CaseStatus.draft)
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"))
    mediator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # SPC online mediation rules art 12: the assigned side accepts by then or loses the case.
    acceptance_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Art 15: by then the respondent has answered, or the case ends as "unreachable".
    respondent_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    respondent_reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the reminders before the art 12 and art 24 deadlines went out (once each).
    acceptance_reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    mediation_reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Art 24: 30 days from the acceptance; later only with every party's consent.
    mediation_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    termination_reason: Mapped[str | None] = mapped_column(String(32))
    # Optimistic locking: a change made from a stale copy (a party's page against the
    # worker, two people at once) fails instead of silently undoing the other.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's own form

    institution: Mapped[Institution | None] = relationship()
    mediator: Mapped[User | None] = relationship()
    parties: Mapped[list[CaseParty]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="CaseParty.id"
    )
    claims: Mapped[list[Claim]] = relationship(
        cascade="all, delete-orphan", order_by="Claim.position"
    )
    evidence: Mapped[list[Evidence]] = relationship(order_by="Evidence.id")

    def party_users(self, side: Side | None = None) -> list[User]:
        return [p.user for p in self.parties if side is None or p.side == side]


class CaseParty(db.Model):
    __tablename__ = "case_parties"
    __table_args__ = (CheckConstraint("side IN ('applicant', 'respondent')", name="known_side"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    side: Mapped[str] = mapped_column(String(16))
    # An agent (委托代理人) acts for the party ``represents_id`` on the same side and needs
    # a power of attorney (授权委托书) among the evidence.
    is_agent: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    represents_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # SPC online mediation rules art 4: consent to mediating online, given by this party.
    consented_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Arts 8 and 17: where documents may be served (送达地址确认书), confirmed by the party.
    service_address: Mapped[str] = mapped_column(Text, default="")
    service_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Art 16: this party agrees that the mediator may hear each side at a separate time.
    separate_sessions_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The name under which whoever filed named this party. The account is found by the
    # phone number; its own name is never shown to the filer (it would tell who owns a
    # number) and a difference is shown to the mediator to resolve on camera.
    named_name: Mapped[str | None] = mapped_column(String(100))
    # For an agent: when the party they act for confirmed the agency, and how ("principal":
    # by a code sent to the party's phone; "mediator": the mediator checked the power of
    # attorney and the party on camera). Until then the agent cannot act in their name.
    agency_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    agency_confirmed_how: Mapped[str | None] = mapped_column(String(16))

    case: Mapped[Case] = relationship(back_populates="parties")
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    represents: Mapped[User | None] = relationship(foreign_keys=[represents_id])


class CalendarState(db.Model):
    """The last year of public holidays the deadlines were computed with (one row): when the
    calendar package learns a new year, the worker computes open cases' deadlines again."""

    __tablename__ = "calendar_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    known_until: Mapped[int] = mapped_column(Integer)


class CaseNumberCounter(db.Model):
    """The last case number given out in a year; incremented atomically."""

    __tablename__ = "case_number_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer, default=0)


class Invitation(db.Model):
    """A personal link that lets a party enter a case with a code sent to their phone."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class FailureRecord(db.Model):
    """What the mediator records when mediation fails (SPC online mediation rules art 21)."""

    __tablename__ = "failure_records"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    situation: Mapped[str] = mapped_column(Text, default="")  # the basic situation
    reasons: Mapped[str] = mapped_column(Text, default="")  # why no agreement was reached
    # Conduct of a party that raised the other side's costs of litigation.
    cost_raising_conduct: Mapped[str] = mapped_column(Text, default="")
    notes_for_court: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CaseAssignment(db.Model):
    """One giving of a case to an institution or mediator, and how it ended (art 12)."""

    __tablename__ = "case_assignments"
    __table_args__ = (
        CheckConstraint(
            "outcome IN ('pending', 'accepted', 'declined', 'expired', 'withdrawn')",
            name="known_outcome",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"))
    mediator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    how: Mapped[str] = mapped_column(String(16))  # "chosen", "automatic" or "institution"
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(String(16), default="pending")
    reason: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Claim(db.Model):
    """What a party asks for (诉求), possibly with an amount in yuan."""

    __tablename__ = "claims"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    position: Mapped[int] = mapped_column(Integer, default=0)


class Evidence(db.Model):
    """An uploaded file; stored under its SHA-256, which the court package lists later."""

    __tablename__ = "evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    # Shared with the other side by the uploader; the mediator always sees it.
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    # "evidence", or "power_of_attorney" for an agent's written authority.
    kind: Mapped[str] = mapped_column(String(24), default="evidence", server_default="evidence")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    uploaded_by: Mapped[User] = relationship()


class ExtensionRequest(db.Model):
    """A proposal to extend the 30-day mediation period; it takes effect only when every
    party has consented (SPC online mediation rules art 24)."""

    __tablename__ = "extension_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    proposed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    days: Mapped[int] = mapped_column(Integer)
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Ids of the parties who consented; each consent is also a journal entry.
    consented_by: Mapped[list[int]] = mapped_column(JSON, default=list)
    granted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Two parties consenting at once must not lose one consent: optimistic locking.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's own form


class ConflictDisclosure(db.Model):
    """A mediator's disclosure under SPC online mediation rules art 13, and the answers."""

    __tablename__ = "conflict_disclosures"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    mediator_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(Text)
    disclosed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Parties who, knowing it, agree that this mediator continues.
    accepted_by: Mapped[list[int]] = mapped_column(JSON, default=list)
    # Everyone accepted, or someone objected and the institution takes over.
    settled: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's own form
