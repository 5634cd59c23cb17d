"""Invitations: a personal link with which a party enters a case, confirmed by a code sent
to their phone, so that a party who takes part in one case never needs a password."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from mediation.accounts import operations as accounts
from mediation.accounts.models import CodePurpose, Role, User
from mediation.core.db import utcnow
from mediation.core.forms import FieldError
from mediation.extensions import db
from mediation.journal import operations as journal

from .models import CaseParty, Invitation


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def may_enter_by_invitation(user: User, case_id: int) -> bool:
    """Only a party of that very case, holding no other role: staff log in with a password."""
    if user.roles != {Role.party} or not user.active:
        return False
    return (
        db.session.scalar(
            select(CaseParty.id).where(CaseParty.case_id == case_id, CaseParty.user_id == user.id)
        )
        is not None
    )


def create_invitation(user: User, case_id: int, *, now: datetime | None = None) -> str:
    """Create a personal entry link for a party of a case; returns the URL's secret token."""
    if not user.phone:
        raise FieldError("phone", _("An invitation needs the party's phone number."))
    if not may_enter_by_invitation(user, case_id):
        raise ValueError("invitations are for the parties of the case only")
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    db.session.add(
        Invitation(
            token_hash=_token_hash(token),
            user_id=user.id,
            case_id=case_id,
            expires_at=now + timedelta(days=current_app.config["INVITATION_TTL_DAYS"]),
        )
    )
    db.session.flush()
    return token


def _issued(token: str) -> Invitation | None:
    """The invitation the platform issued with this token, of a party who may still use
    it, whether or not its time ran out."""
    invitation = db.session.scalar(
        select(Invitation).where(Invitation.token_hash == _token_hash(token))
    )
    if invitation is None or not may_enter_by_invitation(invitation.user, invitation.case_id):
        return None
    return invitation


def find_invitation(token: str, *, now: datetime | None = None) -> Invitation | None:
    invitation = _issued(token)
    if invitation is None or invitation.expires_at <= (now or utcnow()):
        return None
    return invitation


def expired(token: str, *, now: datetime | None = None) -> bool:
    """Whether ``token`` is an invitation the platform sent whose INVITATION_TTL_DAYS ran
    out: the party is told so, not that the page does not exist (they open the text days
    later and wonder what they did wrong)."""
    invitation = _issued(token)
    return invitation is not None and invitation.expires_at <= (now or utcnow())


def enter_by_invitation(invitation: Invitation, code: str) -> User:
    """Check the code sent to the invited party's phone; the caller logs the user in."""
    if not accounts.consume_code(invitation.user, CodePurpose.invitation_login, code):
        raise FieldError("code", _("The code is wrong or has expired. Ask for a new one."))
    invitation.last_used_at = utcnow()
    journal.append(
        invitation.case_id,
        "party.entered",
        {"user_id": invitation.user_id, "via": "invitation"},
        actor_id=invitation.user_id,
    )
    db.session.flush()
    return invitation.user
