"""Judicial confirmation: the parties' joint application, its materials, the court's steps,
the ruling, and the tokens of the court API."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mediation.core.db import UTCDateTime, utcnow
from mediation.extensions import db

if TYPE_CHECKING:
    from mediation.accounts.models import Court, User
    from mediation.agreements.models import Agreement
    from mediation.cases.models import Case


class ApplicationStatus(StrEnum):
    signing = "signing"  # the application is drafted; the parties sign it in turn
    submitted = "submitted"  # with the court, which decides within 3 days (SPC provisions art 4)
    accepted = "accepted"  # a 民特 case number given; ruling within 15 days (+10) (art 5)
    confirmed = "confirmed"  # the agreement is valid and enforceable (CPL art 206)
    rejected = "rejected"  # not confirmed, with an art 7 / CPL interpretation art 358 ground
    refused = "refused"  # not accepted, with an art 4 / art 355 ground
    withdrawn = "withdrawn"  # the parties withdrew before the ruling


OPEN = (ApplicationStatus.submitted, ApplicationStatus.accepted)


class Application(db.Model):
    """A joint application for judicial confirmation of one effective agreement."""

    __tablename__ = "confirmation_applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id"))
    court_id: Mapped[int] = mapped_column(ForeignKey("courts.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=ApplicationStatus.signing)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # The signed application (司法确认申请书), as after each party's signature.
    document_path: Mapped[str | None] = mapped_column(String(300))
    document_sha256: Mapped[str | None] = mapped_column(String(64))
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acceptance_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    court_case_number: Mapped[str | None] = mapped_column(String(60), unique=True)
    ruling_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    extended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The court clerk (书记员) who handles the application: the one who accepted it. The
    # ruling names them under the judge (Civil Procedure Law: 裁定书由审判人员、书记员署名);
    # None when a judge or the court's system accepted it.
    clerk_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The art 4 / art 7 ground (a code of grounds.py) and the court's own words.
    ground: Mapped[str | None] = mapped_column(String(40))
    reasons: Mapped[str] = mapped_column(Text, default="")
    # The court's decision (确认决定书 / 裁定书), signed by the court.
    decision_path: Mapped[str | None] = mapped_column(String(300))
    decision_sha256: Mapped[str | None] = mapped_column(String(64))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    case: Mapped[Case] = relationship()
    agreement: Mapped[Agreement] = relationship()
    court: Mapped[Court] = relationship()
    clerk: Mapped[User | None] = relationship(foreign_keys=[clerk_id])
    signatures: Mapped[list[ApplicationSignature]] = relationship(
        order_by="ApplicationSignature.position", cascade="all, delete-orphan"
    )
    materials: Mapped[list[Material]] = relationship(
        order_by="Material.id", cascade="all, delete-orphan"
    )
    requests: Mapped[list[SupplementRequest]] = relationship(
        order_by="SupplementRequest.id", cascade="all, delete-orphan"
    )


class ApplicationSignature(db.Model):
    """One party's signature of the application (one PAdES signature each)."""

    __tablename__ = "application_signatures"
    __table_args__ = (UniqueConstraint("application_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("confirmation_applications.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    field_name: Mapped[str] = mapped_column(String(40))
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    certificate_serial: Mapped[str | None] = mapped_column(String(64))
    result_sha256: Mapped[str | None] = mapped_column(String(64))

    user: Mapped[User] = relationship()


class MaterialKind(StrEnum):
    """SPC provisions art 3 / CPL interpretation art 354: what goes with the application."""

    identity = "identity"  # identity proofs
    agreement = "agreement"  # the signed agreement
    mediation_proof = "mediation_proof"  # proof that the institution mediated
    property = "property"  # property-right proofs, where relevant
    service = "service"  # service addresses and phone numbers
    power_of_attorney = "power_of_attorney"  # when an agent applies
    supplement = "supplement"  # what the court asked for later


class Material(db.Model):
    """A file that goes to the court with the application."""

    __tablename__ = "application_materials"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("confirmation_applications.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(24))
    name: Mapped[str] = mapped_column(String(200))  # the file name in the package
    path: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    request_id: Mapped[int | None] = mapped_column(ForeignKey("supplement_requests.id"))


class SupplementRequest(db.Model):
    """The court asks for more materials by a deadline."""

    __tablename__ = "supplement_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("confirmation_applications.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str] = mapped_column(Text)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Ruling(db.Model):
    """A ruling as the judge decided it, and the decision prepared for the court to sign.

    A court with its own key signs the decision outside the platform: until its signed file
    comes back and passes the checks of keys.py, the ruling is "awaiting the court's
    signature" and the application stays accepted, its clock running (SPC provisions art 5).
    Deciding again supersedes the earlier draft; a file signed over it no longer counts.
    """

    __tablename__ = "court_rulings"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("confirmation_applications.id", ondelete="CASCADE"), index=True
    )
    confirmed: Mapped[bool] = mapped_column(Boolean)
    ground: Mapped[str | None] = mapped_column(String(40))
    reasons: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The unsigned decision, with its empty signature field: the signed file must begin
    # with exactly these bytes.
    document_path: Mapped[str] = mapped_column(String(300))
    document_sha256: Mapped[str] = mapped_column(String(64))
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CourtCaseCounter(db.Model):
    """The last 民特 case number of one court in one year."""

    __tablename__ = "court_case_counters"

    court_id: Mapped[int] = mapped_column(ForeignKey("courts.id"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer, default=0)


class ApiToken(db.Model):
    """A court's key to the court API; only its hash is kept."""

    __tablename__ = "court_api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    court_id: Mapped[int] = mapped_column(ForeignKey("courts.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    court: Mapped[Court] = relationship()


class DelegationStatus(StrEnum):
    mediating = "mediating"  # the case is in the platform's normal flow
    agreement = "agreement"  # an agreement took effect: the parties may apply to this court
    failed = "failed"  # mediation ended without agreement: the art 21 record goes back
    returned = "returned"  # the court's deadline passed: the dispute goes back to the court


class Delegation(db.Model):
    """A dispute a court sent to mediation before filing it (诉前委派调解; CPL art 125, SPC
    online mediation rules arts 11-15, 24). The case runs the normal flow; this row keeps
    the court's side: its own reference, its deadline and what went back."""

    __tablename__ = "court_delegations"

    id: Mapped[int] = mapped_column(primary_key=True)
    court_id: Mapped[int] = mapped_column(ForeignKey("courts.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), unique=True)
    # The court's own number for the pre-filing matter, e.g. （2026）苏0102民诉前调1号.
    reference: Mapped[str] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(16), default=DelegationStatus.mediating)
    delegated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the institution the court chose declined the case or let its three working days
    # pass (SPC online mediation rules art 12 para 2): the court may designate another
    # (``delegation.designate_again``), which clears it.
    choice_lapsed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    court: Mapped[Court] = relationship()
    case: Mapped[Case] = relationship()

    __table_args__ = (UniqueConstraint("court_id", "reference"),)
