"""Agency (委托代理): a person files or acts in a party's name only once that party agreed.

Anyone can type any number as "the party I act for" and upload any picture as a power of
attorney; neither proves that the party wants this agent. So the agency holds once the
party confirms it from the link sent to their phone (entering by a code proves the phone),
or once the mediator checked the power of attorney and the party on camera. Until then the
agent may file the case (the filing is what the party is asked about) but takes no step in
the party's name: no answer, no withdrawal, no signature (People's Mediation Law art 23:
accepting, refusing or ending mediation is the party's own right; SPC judicial confirmation
provisions art 3: an agent applies only with the power of attorney the party signed).
The party is told of every step the agent takes in their name.
"""

from __future__ import annotations

import contextlib
from datetime import datetime

from flask import current_app, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from mediation.accounts import codes, personal_links
from mediation.accounts.models import CodePurpose, User
from mediation.core.db import utcnow
from mediation.extensions import db
from mediation.journal import operations as journal
from mediation.journal import signals as journal_signals
from mediation.journal.models import JournalEntry
from mediation.notify import operations as notify

from . import signals
from .labels import journal_label
from .models import Case, CaseParty
from .states import CaseStatus
from .workflow import NotPermittedError

SALT = "agency"

# Journal entries that are steps taken in a party's name; chat, presence and the like are
# not (they would flood the party's phone).
ACTS_IN_NAME = frozenset(
    {
        "case.terminate",
        "case.respondent_agrees",
        "case.respondent_refuses",
        "case.request_confirmation",
        "case.withdraw_confirmation",
        "agreement.signed",
        "agreement.refused",
        "agreement.commented",
        "confirmation.started",
        "confirmation.signed",
        "confirmation.material_added",
        "confirmation.withdrawn",
        "evidence.added",
        "minutes.confirmed",
        "minutes.disputed",
        "extension.consented",
        "mediator.change_requested",
    }
)


class AgencyError(NotPermittedError):
    """An agent tried to act before the party confirmed the agency."""


def agent_row(case: Case, user: User) -> CaseParty | None:
    return next((p for p in case.parties if p.is_agent and p.user_id == user.id), None)


def principal_row(case: Case, agent: CaseParty) -> CaseParty | None:
    return next(
        (p for p in case.parties if not p.is_agent and p.user_id == agent.represents_id), None
    )


def is_unconfirmed_agent(case: Case, user: User) -> bool:
    """True while ``user`` is named as an agent in ``case`` and the party has not agreed.
    A draft is exempt: filing is what the party is then asked about."""
    row = agent_row(case, user)
    return row is not None and row.agency_confirmed_at is None and case.status != CaseStatus.draft


def check_may_act(case: Case, user: User) -> None:
    if is_unconfirmed_agent(case, user):
        raise AgencyError(
            _(
                "The party you act for has not confirmed you as their agent yet: they confirm "
                "it from the message sent to their phone, or the mediator checks it on camera."
            )
        )


def link_for(agent: CaseParty) -> str:
    return personal_links.url(
        url_for("cases.agency_link", token=personal_links.token(SALT, agent.case_id, agent.id))
    )


def is_genuine_link(token: str) -> bool:
    """Whether the platform sent this link (an agent named in it may have left since)."""
    return personal_links.ids(SALT, token) is not None


def of_link(token: str) -> CaseParty | None:
    found = personal_links.ids(SALT, token)
    if found is None:
        return None
    row = db.session.get(CaseParty, found[1])
    if row is None or row.case_id != found[0] or not row.is_agent:
        return None
    return row


def ask_principal(case: Case, agent: CaseParty) -> None:
    """Tell the party that someone filed in their name, and how to confirm or refuse."""
    principal = principal_row(case, agent)
    if principal is None or not principal.user.phone:
        return
    with force_locale(principal.user.locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
        text = _(
            "%(agent)s has applied for mediation in your name as your agent (case "
            "%(number)s). Please confirm or refuse this agent: %(link)s",
            agent=agent.user.real_name,
            number=case.number,
            link=link_for(agent),
        )
    # Paced like a code: filings "as agent" naming one number cannot flood its owner. A
    # filing within the pace is not lost: the mediator sees the agency unconfirmed.
    with contextlib.suppress(codes.CodeTooSoonError):
        codes.send_note(principal.user, CodePurpose.agency_confirmation, text)


def confirm(agent: CaseParty, *, by: User, now: datetime | None = None) -> None:
    """The party (``how`` "principal") or the case's mediator ("mediator") confirms."""
    case = agent.case
    principal = principal_row(case, agent)
    if principal is not None and by.id == principal.user_id:
        how = "principal"
    elif case.mediator_id == by.id:
        how = "mediator"
    else:
        raise AgencyError(_("Only the party or the case's mediator confirms an agent."))
    if agent.agency_confirmed_at is not None:
        return
    agent.agency_confirmed_at, agent.agency_confirmed_how = now or utcnow(), how
    db.session.flush()
    journal.append(
        case.id,
        "agency.confirmed",
        {"agent_id": agent.user_id, "party_id": agent.represents_id, "how": how},
        actor_id=by.id,
    )


def refuse(agent: CaseParty, *, by: User) -> None:
    """The party says this person does not act for them: the agent leaves the case."""
    case = agent.case
    principal = principal_row(case, agent)
    if principal is None or by.id != principal.user_id:
        raise AgencyError(_("Only the party refuses an agent."))
    journal.append(
        case.id,
        "agency.refused",
        {"agent_id": agent.user_id, "party_id": agent.represents_id},
        actor_id=by.id,
    )
    user_id = agent.user_id
    case.parties.remove(agent)
    db.session.flush()
    signals.agent_refused.send(case, user_id=user_id)


def was_refused(case_id: int, user: User) -> bool:
    """Whether ``user`` acted in the case as an agent until the party said they do not:
    their pages of the case, still open, are told so rather than "not found"."""
    refusals = db.session.scalars(
        select(JournalEntry.payload).where(
            JournalEntry.case_id == case_id, JournalEntry.action == "agency.refused"
        )
    )
    return any(payload.get("agent_id") == user.id for payload in refusals)


STEP_TEXT = _l(
    "In your mediation case %(number)s, your agent %(agent)s: %(step)s. If this was not done "
    "with your agreement, tell the mediator."
)


@journal_signals.entry_added.connect
def _tell_principal(case_id: int, *, action: str, actor_id: int | None, **_kw) -> None:
    """Every step an agent takes in a party's name is told to the party."""
    if actor_id is None or action not in ACTS_IN_NAME:
        return
    case = db.session.get(Case, case_id)
    # A draft is the agent's until it is filed, and the filing itself is told by
    # ``ask_principal``.
    if case is None or case.status == CaseStatus.draft:
        return
    for agent in (p for p in case.parties if p.is_agent and p.user_id == actor_id):
        principal = principal_row(case, agent)
        if principal is None or not principal.user.phone:
            continue
        locale = principal.user.locale or current_app.config["BABEL_DEFAULT_LOCALE"]
        with force_locale(locale):
            notify.queue_sms(
                principal.user.phone,
                str(STEP_TEXT)
                % {
                    "number": case.number,
                    "agent": agent.user.real_name,
                    "step": journal_label(action),
                },
            )
