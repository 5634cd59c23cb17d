"""The obligee's personal link to confirm an obligation performed (accounts.personal_links):
it names the person and the obligation. A party invited by text message has no password:
they prove it is them with a code sent to their phone, as on every other personal link."""

from __future__ import annotations

from mediation.accounts import personal_links
from mediation.accounts.models import User
from mediation.extensions import db

from .models import Obligation

LINK_SALT = "followup-confirm"


def link_for(obligation: Obligation, user: User) -> str:
    """The link in the obligee's text message (built from BASE_URL: the worker sends it)."""
    signed = personal_links.token(LINK_SALT, obligation.id, user.id)
    return personal_links.url(f"/o/{signed}")


def of_link(token: str) -> tuple[Obligation, User] | None:
    """The obligation and the obligee a link names; None for a link the platform did not
    sign, or whose person is no longer the obligation's obligee."""
    found = personal_links.ids(LINK_SALT, token)
    if found is None:
        return None
    obligation = db.session.get(Obligation, found[0])
    if obligation is None or obligation.obligee is None:
        return None
    if obligation.obligee.user_id != found[1]:
        return None
    return obligation, obligation.obligee.user
