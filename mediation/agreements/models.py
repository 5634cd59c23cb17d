"""A case's agreement, its versions, the parties' comments and the signatures."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mediation.core.db import UTCDateTime, utcnow
from mediation.extensions import db

if TYPE_CHECKING:
    from mediation.accounts.models import User
    from mediation.cases.models import Case


class AgreementStatus(StrEnum):
    drafting = "drafting"  # the mediator writes; parties comment
    signing = "signing"  # the document is fixed; signers sign in turn
    effective = "effective"  # all signed and sealed (People's Mediation Law art 29)
    refused = "refused"  # a party refused to sign (art 25 (7))


class Agreement(db.Model):
    """One per case. ``round`` counts signing rounds: an edit after the first signature
    voids every signature of the round and a new one starts."""

    __tablename__ = "agreements"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=AgreementStatus.drafting)
    version: Mapped[int] = mapped_column(Integer, default=0)  # the newest AgreementVersion
    round: Mapped[int] = mapped_column(Integer, default=0)
    # The short code printed on every page and used on the verification page.
    short_code: Mapped[str] = mapped_column(String(16), unique=True)
    # The document of the current round: unsigned at first, then after each signature.
    document_path: Mapped[str | None] = mapped_column(String(300))
    document_sha256: Mapped[str | None] = mapped_column(String(64))
    effective_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refused_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    case: Mapped[Case] = relationship()
    versions: Mapped[list[AgreementVersion]] = relationship(
        order_by="AgreementVersion.number", cascade="all, delete-orphan"
    )
    signatures: Mapped[list[Signature]] = relationship(
        order_by="Signature.position", cascade="all, delete-orphan"
    )

    @property
    def current(self) -> AgreementVersion | None:
        return self.versions[-1] if self.versions else None

    def round_signatures(self) -> list[Signature]:
        return [s for s in self.signatures if s.round == self.round]


class AgreementVersion(db.Model):
    """Every saved draft, kept: the structured content and the check's warnings on it."""

    __tablename__ = "agreement_versions"
    __table_args__ = (UniqueConstraint("agreement_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(
        ForeignKey("agreements.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    # [{"code": "content_unclear", "where": "obligations.1", "message": ...}]
    warnings: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))


class AgreementComment(db.Model):
    """A party's (or the mediator's) remark on one version of the draft."""

    __tablename__ = "agreement_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(
        ForeignKey("agreements.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship()


class SignerRole(StrEnum):
    party = "party"  # a party, or their agent signing for them
    mediator = "mediator"
    institution = "institution"  # the institution's seal, always last


class Signature(db.Model):
    """One signer's place in a round, and what happened: signed or refused."""

    __tablename__ = "agreement_signatures"
    __table_args__ = (UniqueConstraint("agreement_id", "round", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(
        ForeignKey("agreements.id", ondelete="CASCADE"), index=True
    )
    round: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)  # the order of signing
    role: Mapped[str] = mapped_column(String(16))
    # Who signs: the party (or their agent), the mediator; for the seal, an administrator
    # of the institution (whoever signs it is recorded in ``signed_by_id``).
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    field_name: Mapped[str] = mapped_column(String(40))
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    certificate_serial: Mapped[str | None] = mapped_column(String(64))
    certificate_subject: Mapped[str | None] = mapped_column(String(300))
    # SHA-256 of the document as it was shown to the signer, and after the signature.
    signed_document_sha256: Mapped[str | None] = mapped_column(String(64))
    result_sha256: Mapped[str | None] = mapped_column(String(64))
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
