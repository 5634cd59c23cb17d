"""Users and their roles, mediation institutions, mediators' profiles, courts, one-time codes."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mediation.core.db import UTCDateTime, utcnow
from mediation.extensions import db

from .identity import birth_date_of, ethnicity_name, mask_id_number, mask_phone, sex_of


class Role(StrEnum):
    party = "party"
    mediator = "mediator"
    institution_admin = "institution_admin"
    court_clerk = "court_clerk"
    judge = "judge"
    platform_admin = "platform_admin"
    # answers consultations (lawyers, mediators, 两代表一委员 volunteers): mediation/consultation
    expert = "expert"
    # region staff (社会治理): a division's aggregates and warnings, no case: governance/
    governance = "governance"


class CourtLevel(StrEnum):
    basic = "basic"  # 基层人民法院
    intermediate = "intermediate"  # 中级人民法院


class CodePurpose(StrEnum):
    password_reset = "password_reset"  # noqa: S105 - a purpose, not a password
    invitation_login = "invitation_login"
    # a party confirms the minutes of a session (SPC online mediation rules art 22)
    minutes_confirmation = "minutes_confirmation"
    # a signer re-authenticates before their electronic signature (Electronic Signature
    # Law art 13: the signing data are under the signer's sole control when signing)
    agreement_signature = "agreement_signature"
    # a phone number is proven before an account is opened on it
    registration = "registration"
    # a party confirms that the person filing in their name is their agent
    agency_confirmation = "agency_confirmation"
    # a correct password on an account whose phone was never proven
    phone_verification = "phone_verification"
    # not a code: the new join links of a session, which its mediator sends again (a
    # party lost the message, a link went to the wrong hands): paced like a code
    # (codes.note_slot), so sending again and again cannot flood a party's phone
    session_links = "session_links"


# An ID number is only claimed until a mediator confirms it on camera; many accounts may
# claim one (so claiming someone's number neither locks its owner out nor tells anyone it
# is taken), but only one account may hold it confirmed.
_CONFIRMED = text("id_confirmed_at IS NOT NULL")


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        Index(
            "uq_users_confirmed_id_number",
            "id_number",
            unique=True,
            sqlite_where=_CONFIRMED,
            postgresql_where=_CONFIRMED,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    real_name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    phone: Mapped[str | None] = mapped_column(String(20), unique=True)  # E.164
    # When the holder proved they receive what is sent to ``phone`` (or to ``email`` for an
    # account without a phone) by entering a code sent there. No session is ever opened for
    # an account before that: whoever registered a number first proves nothing.
    phone_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # 居民身份证号码, validated (GB 11643); shown masked except in legal documents.
    id_number: Mapped[str | None] = mapped_column(String(18))
    # A mediator saw the person and their identity card on camera (SPC online mediation
    # rules art 9); until then the number is what the person claimed.
    id_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    id_confirmed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", use_alter=True, name="fk_users_id_confirmed_by_id_users")
    )
    # 民族, a code of GB/T 3304 (identity.ETHNICITIES), as the identity card gives it; the
    # agreement states it with the party's sex and date of birth (People's Mediation Law
    # art 29 (1): the parties' basic information), which the ID number itself carries.
    ethnicity: Mapped[str | None] = mapped_column(String(2))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    locale: Mapped[str | None] = mapped_column(String(16))
    # IANA zone the user sees times in; None: the platform's (Asia/Shanghai).
    time_zone: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped when the password changes: every other logged-in session then ends.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"))
    # For region staff (Role.governance): the division they watch, as a code prefix
    # ("32", "3201", "320102", "320102001"; mediation/governance/areas.py).
    area_code: Mapped[str | None] = mapped_column(String(12))
    court_id: Mapped[int | None] = mapped_column(ForeignKey("courts.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    role_rows: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )
    institution: Mapped[Institution | None] = relationship(
        foreign_keys=[institution_id], back_populates="staff"
    )
    court: Mapped[Court | None] = relationship(back_populates="staff")
    id_confirmed_by: Mapped[User | None] = relationship(
        foreign_keys=[id_confirmed_by_id], remote_side=[id]
    )
    mediator_profile: Mapped[MediatorProfile | None] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(Role(row.role) for row in self.role_rows)

    def has_role(self, *roles: Role) -> bool:
        return not self.roles.isdisjoint(roles)

    @property
    def is_active(self) -> bool:  # Flask-Login: a deactivated account cannot log in
        return self.active

    @property
    def is_verified(self) -> bool:
        return self.phone_verified_at is not None

    def get_id(self) -> str:
        return f"{self.id}.{self.session_version}"

    @property
    def id_number_masked(self) -> str:
        return mask_id_number(self.id_number)

    @property
    def sex(self) -> str | None:
        """ "male" or "female", read from the ID number (GB 11643); None without one."""
        return sex_of(self.id_number) if self.id_number else None

    @property
    def birth_date(self) -> date | None:
        return birth_date_of(self.id_number) if self.id_number else None

    @property
    def ethnicity_name(self) -> str:
        return ethnicity_name(self.ethnicity)

    @property
    def phone_masked(self) -> str:
        return mask_phone(self.phone)

    def __repr__(self) -> str:
        return f"<User {self.id} {sorted(self.roles)}>"


class UserRole(db.Model):
    __tablename__ = "user_roles"
    __table_args__ = (
        CheckConstraint(
            "role IN ('party', 'mediator', 'institution_admin', 'court_clerk', 'judge', "
            "'platform_admin', 'expert', 'governance')",
            name="known_role",
        ),
    )

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(32), primary_key=True)
    user: Mapped[User] = relationship(back_populates="role_rows")


class Institution(db.Model):
    """A mediation institution (调解组织 / 人民调解委员会): it mediates and seals agreements."""

    __tablename__ = "institutions"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    region_code: Mapped[str] = mapped_column(String(6))  # GB/T 2260 administrative division
    # Where it sits, down to the street (9 digits) for a township's mediation station:
    # the cases it accepts are counted there (mediation/governance/areas.py).
    area_code: Mapped[str | None] = mapped_column(String(12))
    address: Mapped[str] = mapped_column(String(300))
    phone: Mapped[str | None] = mapped_column(String(20))
    # The person who keeps the institution's seal and applies it to agreements.
    seal_holder_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", use_alter=True, name="fk_institutions_seal_holder_id_users")
    )
    # Whether a caucus (背靠背) is recorded when the parties consented to recording; off by
    # default, and shown to everyone in the room.
    record_caucus: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    staff: Mapped[list[User]] = relationship(
        foreign_keys=[User.institution_id], back_populates="institution"
    )
    seal_holder: Mapped[User | None] = relationship(foreign_keys=[seal_holder_id])


class MediatorProfile(db.Model):
    """What a party sees when choosing a mediator (SPC online mediation rules art 5)."""

    __tablename__ = "mediator_profiles"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    specialities: Mapped[str] = mapped_column(Text, default="")
    # Codes of the dispute categories this mediator accepts.
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Art 5: the roster states whether a mediator charges, and on what basis.
    charges_fee: Mapped[bool] = mapped_column(Boolean, default=False)
    fee_note: Mapped[str] = mapped_column(Text, default="")

    user: Mapped[User] = relationship(back_populates="mediator_profile")


class Court(db.Model):
    __tablename__ = "courts"
    __table_args__ = (CheckConstraint("level IN ('basic', 'intermediate')", name="known_level"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    level: Mapped[str] = mapped_column(String(16))
    region_code: Mapped[str] = mapped_column(String(6))  # the division the court serves
    address: Mapped[str] = mapped_column(String(300), default="")
    # The court's own trust roots (PEM, one or more CA certificates) set by the platform
    # administrator: rulings are accepted only when signed under them (mediation/court/keys.py).
    trust_roots_pem: Mapped[str | None] = mapped_column(Text)

    staff: Mapped[list[User]] = relationship(back_populates="court")


class OneTimeCode(db.Model):
    """A short numeric code sent to a user's phone or e-mail; only its HMAC is kept.

    A registration code goes to a phone number before any account exists: it has no user
    and is found by ``sent_to``."""

    __tablename__ = "one_time_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[str] = mapped_column(String(32))
    code_hash: Mapped[str] = mapped_column(String(64))
    sent_to: Mapped[str] = mapped_column(String(254), index=True)
    # What the code is for. A code to a number without an account belongs to the browser
    # that asked for it (the SHA-256 of a secret in its session): nobody else's request
    # retires it or guess spends it. A code that signs or confirms a document is for that
    # document as shown ("agreement:12@r2:<sha256>", codes.CodeFor): it signs nothing else.
    bound_to: Mapped[str | None] = mapped_column(String(128))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    consumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
