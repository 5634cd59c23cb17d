"""Who takes part in a case's sessions: guests the mediator invites (People's Mediation Law
art 20), everyone's personal links sent again, and the parties' consent to separate
sessions (SPC online mediation rules art 16). Flushes, never commits."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from mediation.accounts import operations as accounts
from mediation.accounts.identity import IdentityError, validate_phone
from mediation.accounts.models import User
from mediation.cases import agency
from mediation.cases.models import Case, Side
from mediation.cases.workflow import NotPermittedError
from mediation.core.db import utcnow
from mediation.core.forms import FieldError
from mediation.extensions import db
from mediation.journal import operations as journal

from . import links, notices, repeats
from .arranging import (
    BOOKABLE,
    _journal,
    _live_of_case,
    _locked,
    _must_be_fixed,
    _must_be_mediator,
    _not_held,
)
from .changes import cancel
from .models import MediationSession, SessionParticipant, SessionStatus
from .repeats import GuestInvitedAlreadyError, LinksJustSentError

CONSENT_WITHDRAWN = _l("a party withdrew consent to separate sessions (art 16)")
GUEST_RELATIONS = ("relative", "neighbour", "colleague", "expert", "interpreter", "other")
# Who comes with no side: they are neutral, and wait alone while a side is in a caucus.
NEUTRAL_RELATIONS = ("expert", "interpreter")
# Links renewed at most this often per session and hour: enough for a lost message, a
# wrong number mended and a leak noticed; each renewal texts every party and journals, so
# a form posted in a loop must not go on doing both (a new form names new links, and is
# never a repeat).
LINK_RENEWALS_PER_HOUR = 5
# Guests per session (People's Mediation Law art 20: the mediator may invite relatives,
# neighbours, colleagues or people with special knowledge): a few of each side. Each guest
# is texted a link at the number the mediator typed, and an account is made for it, so a
# form posted in a loop with other numbers texted strangers from the platform without end.
GUESTS_PER_SESSION = 10


def invite_guest(
    session: MediationSession,
    *,
    by: User,
    real_name: str,
    phone: str,
    relation: str,
    side: str | None,
    id_number: str | None = None,
) -> SessionParticipant:
    """People's Mediation Law art 20: the mediator may invite a party's relatives,
    neighbours or colleagues, or people with special knowledge, to take part. They get their
    own link, and their identity is confirmed on camera like everyone's."""
    _locked(session)
    _must_be_mediator(session.case, by)
    _must_be_fixed(session, _("Guests are invited once the parties have chosen the time."))
    _not_held(session)
    if relation not in GUEST_RELATIONS:
        raise FieldError("relation", _("Choose how the person is related to the dispute."))
    if relation in NEUTRAL_RELATIONS:
        side = None
    elif side not in set(Side):
        raise FieldError("side", _("Choose whose side the person comes with."))
    elif session.side is not None and side != session.side:
        # A separate session (art 16) is for one side: its guests come with that side.
        raise FieldError("side", _("This session is for the other side only."))
    try:
        phone = validate_phone(phone, current_app.config["DEFAULT_PHONE_REGION"])
    except IdentityError as error:
        raise FieldError("phone", str(error)) from None
    guest = accounts.party_with_phone(phone, real_name=real_name, id_number=id_number)
    if guest.real_name != real_name.strip():
        # The number belongs to someone else: their name is not revealed.
        raise FieldError("phone", _("This number belongs to a person with another name."))
    if any(p.user_id == guest.id for p in session.case.parties):
        raise FieldError("phone", _("This person is a party to the case, not a guest."))
    present = next((p for p in session.participants if p.user_id == guest.id), None)
    if present is not None:
        if (present.role, present.relation, present.side) == ("guest", relation, side):
            # The same invitation again (a double tap, a phone resending the POST, a second
            # tab: the calendar lock above made it wait for the first one): done already.
            raise GuestInvitedAlreadyError
        raise FieldError("phone", _("This person already takes part in the session."))
    if sum(p.role == "guest" for p in session.participants) >= GUESTS_PER_SESSION:
        raise FieldError(
            "phone",
            _("A session takes at most %(n)d guests.", n=GUESTS_PER_SESSION),
        )
    participant = SessionParticipant(user_id=guest.id, role="guest", relation=relation, side=side)
    session.participants.append(participant)
    db.session.flush()
    _journal(session, "guest_invited", by, user_id=guest.id, relation=relation, guest_side=side)
    notices.tell(session, notices.BOOKED, calendar="REQUEST", participants=[participant])
    return participant


def resend_links(
    session: MediationSession,
    *,
    by: User,
    shown: str | None = None,
    now: datetime | None = None,
) -> datetime | None:
    """New personal links for everyone but the mediator, sent again (a party lost the
    message, or a link went to the wrong hands): the links sent before stop working at
    once. ``shown``: the links the form was shown with (``repeats.links_shown``): the same
    form again within the window is a repeat (``LinksJustSentError``), a form shown after
    the renewal a new request, however soon. Returns when the last message goes, if some
    must wait for their turn to a number (``notices.tell_new_links``)."""
    now = now or utcnow()
    _locked(session)
    _must_be_mediator(session.case, by)
    _must_be_fixed(session, _("Links are sent again once the parties have chosen the time."))
    _not_held(session)
    # Read after the calendar lock: the same request twice at once takes turns here, and
    # the second one sees the first one's entry.
    if shown is not None and repeats.links_renewed_from(session, shown, now):
        raise LinksJustSentError
    if repeats.links_renewed_since(session, now - timedelta(hours=1)) >= LINK_RENEWALS_PER_HOUR:
        raise NotPermittedError(
            _(
                "The links of this session were renewed %(n)d times in the last hour; "
                "try again later, or call the party.",
                n=LINK_RENEWALS_PER_HOUR,
            )
        )
    dead = {}
    for participant in session.participants:
        if participant.role != "mediator" and links.seat_holds(participant):
            dead[participant] = links.url_for_participant(participant)
            participant.link_nonce = secrets.token_hex(8)
    db.session.flush()
    # The form's own links, even on a page older than the window: its repeat is known too.
    _journal(session, "links_renewed", by, form=shown or repeats.links_shown(session))
    return notices.tell_new_links(session, dead, now=now)


def consent_to_separate_sessions(case: Case, user: User, consent: bool) -> None:
    """A party's consent (or its withdrawal) to being heard at separate times (art 16).
    Without every party's consent, separate sessions still to come are cancelled."""
    agency.check_may_act(case, user)
    party = next((p for p in case.parties if p.user_id == user.id), None)
    if party is None or case.status not in BOOKABLE:
        raise NotPermittedError(_("You may not take this step in this case."))
    party.separate_sessions_at = utcnow() if consent else None
    db.session.flush()
    journal.append(
        case.id,
        "session.separate_consent" if consent else "session.separate_consent_withdrawn",
        {},
        actor_id=user.id,
    )
    if not consent:
        for session in _live_of_case(case.id, since=utcnow()):
            if session.side is not None and session.status != SessionStatus.cancelled:
                cancel(session, by=None, reason=CONSENT_WITHDRAWN)
