"""Court-delegated mediation (诉前委派调解): a court sends a dispute to mediation before
filing it, and takes the result back by itself.

CPL (2023) art 125: a suitable dispute brought to court is mediated first unless a party
refuses. The court asked the plaintiff, who agreed and gave an address for documents; the
case therefore starts filed, with the applicant's consent recorded as given to the court,
and runs the platform's normal flow from acceptance (SPC online mediation rules art 12:
the institution accepts within 3 working days; art 15: the respondent is asked).

What goes back (SPC online mediation rules arts 24, 25, 21):
- an agreement in force: the parties apply for judicial confirmation to the court that
  delegated (CPL art 205 (1), ``application.competent_courts`` puts it first);
- mediation ended without agreement: the mediator's art 21 record, ready for online filing;
- the court's deadline (30 days by default, art 24) passed first: the case ends
  (art 25 (6)) and the dispute is returned.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from mediation.accounts import operations as accounts
from mediation.accounts.identity import IdentityError, validate_phone
from mediation.accounts.models import Court, Institution, User
from mediation.cases import assignment, clocks, invitations, rechoice, signals, workflow
from mediation.cases import operations as cases
from mediation.cases.labels import TERMINATION_REASONS
from mediation.cases.models import Case, Claim, Side
from mediation.cases.states import Action, Actor, CaseStatus, TerminationReason
from mediation.core.db import utcnow
from mediation.core.forms import FieldError
from mediation.core.i18n import format_day, format_when
from mediation.core.locks import lock_rows
from mediation.extensions import db
from mediation.journal import operations as journal
from mediation.journal.models import JournalEntry
from mediation.notify import operations as notify

from . import notices
from .models import Delegation, DelegationStatus

# SPC online mediation rules art 24: mediation before filing lasts 30 days. A court may set
# a shorter period, or a longer one the parties agreed to; never beyond what is sensible
# for a pre-filing matter.
DEFAULT_DAYS = 30
MAX_DAYS = 90

SUBJECT = _l("Online mediation: case %(number)s")
# The court's reference is shown as the clerk typed it, never wrapped in brackets: a
# reference has its own, "（2026）苏0102民诉前调1号", which a wrapping doubled.
TO_APPLICANT = _l(
    "%(court)s has sent your dispute to online mediation as case %(number)s; the court's "
    "reference is %(reference)s. Follow it and meet the mediator here: %(link)s"
)

# SPC online mediation rules art 12 para 2: the institution the court chose did not take the
# dispute on; the court may designate another.
CHOICE_LAPSED = _l(
    "%(institution)s has not taken on the dispute %(reference)s (case %(number)s) that this "
    "court delegated to it. You may designate another institution (SPC online mediation "
    "rules art 12): %(link)s"
)

SETTLED = frozenset({CaseStatus.signed})


@dataclass(frozen=True)
class PartyInput:
    real_name: str
    phone: str
    id_number: str | None = None
    # The address for documents the party gave the court (SPC online mediation rules art 8).
    address: str = ""


@dataclass(frozen=True)
class ClaimInput:
    text: str
    amount: Decimal | None = None


@dataclass
class DelegationInput:
    reference: str
    category: str
    title: str
    facts: str = ""
    applicants: list[PartyInput] = field(default_factory=list)
    respondents: list[PartyInput] = field(default_factory=list)
    claims: list[ClaimInput] = field(default_factory=list)
    days: int = DEFAULT_DAYS
    institution_id: int | None = None


def _check(court: Court, data: DelegationInput) -> None:
    reference = data.reference.strip()
    if not reference or len(reference) > 60:
        raise FieldError("reference", _("Give the court's reference, at most 60 characters."))
    taken = db.session.scalar(
        select(Delegation.id).where(
            Delegation.court_id == court.id, Delegation.reference == reference
        )
    )
    if taken is not None:
        raise FieldError(
            "reference", _("This court already delegated a dispute with this reference.")
        )
    if not data.title.strip() or len(data.title) > 200:
        raise FieldError("title", _("Describe the dispute in at most 200 characters."))
    if not data.applicants or not data.respondents:
        raise FieldError("parties", _("Name at least one applicant and one respondent."))
    if len(data.applicants) + len(data.respondents) > 20:
        raise FieldError("parties", _("At most 20 parties."))
    if not 1 <= data.days <= MAX_DAYS:
        raise FieldError("days", _("The period is 1 to %(max)s days.", max=MAX_DAYS))
    for claim in data.claims:
        if not claim.text.strip() or len(claim.text) > 500:
            raise FieldError("claims", _("Each claim needs a text of at most 500 characters."))
        if claim.amount is not None and not Decimal(0) <= claim.amount < Decimal(10) ** 12:
            raise FieldError("claims", _("An amount cannot be negative."))


def _party(data: PartyInput, field_name: str):
    try:
        phone = validate_phone(data.phone, current_app.config["DEFAULT_PHONE_REGION"])
    except IdentityError as error:
        raise FieldError(field_name, str(error)) from None
    try:
        return accounts.party_with_phone(phone, real_name=data.real_name, id_number=data.id_number)
    except FieldError as error:
        raise FieldError(field_name, error.message) from None


def delegate(court: Court, data: DelegationInput, *, now: datetime | None = None) -> Delegation:
    """Open the case for a dispute ``court`` delegates, file it and have it assigned."""
    now = now or utcnow()
    _check(court, data)
    institution = None
    if data.institution_id is not None:
        institution = db.session.get(Institution, data.institution_id)
        if institution is None:
            raise FieldError("institution_id", _("Choose an institution from the list."))
    applicants = [_party(p, "applicants") for p in data.applicants]
    respondents = [_party(p, "respondents") for p in data.respondents]
    if len({u.id for u in applicants + respondents}) < len(applicants) + len(respondents):
        raise FieldError("parties", _("The same person cannot be named twice."))
    case = cases.open_case(
        title=data.title.strip(),
        category=data.category,
        applicants=applicants,
        respondents=respondents,
        facts=data.facts.strip(),
        by=None,
    )
    for row, given in zip(case.parties, [*data.applicants, *data.respondents], strict=True):
        row.named_name = given.real_name.strip()
        if row.side == Side.applicant:
            # Consent and address were given to the court (CPL art 125); recorded as such.
            row.consented_at = now
            row.service_address = given.address.strip()
            row.service_confirmed_at = now if given.address.strip() else None
    case.claims = [
        Claim(text=c.text.strip(), amount=c.amount, position=n) for n, c in enumerate(data.claims)
    ]
    case.region_code = court.region_code
    delegation = Delegation(
        court=court,
        case=case,
        reference=data.reference.strip(),
        delegated_at=now,
        # Civil Code arts 201, 203: to the end of the last day, a working day.
        deadline_at=clocks.period_end(now, data.days, workflow.zone()),
    )
    db.session.add(delegation)
    db.session.flush()
    journal.append(
        case.id,
        "delegation.received",
        {
            "court_id": court.id,
            "reference": delegation.reference,
            "deadline": delegation.deadline_at.isoformat(),
            "consent_given_to_court": [u.id for u in applicants],
        },
        actor_id=None,
    )
    workflow.transition(case, Action.submit, by=None, now=now)  # the platform files it
    if institution is not None:
        # The court chose the institution (SPC online mediation rules art 10): it gives the
        # case to one of its mediators.
        case.institution = institution
        assignment.queue(
            case,
            by=None,
            now=now,
            how="chosen",
            delegated_by=assignment.DelegatedBy(court.name, delegation.reference),
        )
    else:
        assignment.assign_automatically(case, by=None, now=now)
    _tell_applicants(delegation, now)
    return delegation


def _tell_applicants(delegation: Delegation, now: datetime) -> None:
    case = delegation.case
    base = current_app.config["BASE_URL"].rstrip("/")
    for user in case.party_users(Side.applicant):
        if invitations.may_enter_by_invitation(user, case.id):
            link = f"{base}/join/{invitations.create_invitation(user, case.id, now=now)}"
        else:
            link = f"{base}/cases/{case.id}"
        notify.tell(
            user,
            TO_APPLICANT,
            subject=SUBJECT,
            court=delegation.court.name,
            reference=delegation.reference,
            number=case.number,
            link=link,
        )


def of_case(case: Case) -> Delegation | None:
    return db.session.scalar(select(Delegation).where(Delegation.case_id == case.id))


def _end(delegation: Delegation, status: DelegationStatus, now: datetime) -> bool:
    """End a delegation still mediating; False when another worker or step ended it first
    (a conditional update: SQLite has no row locks to skip)."""
    claimed = db.session.execute(
        update(Delegation)
        .where(Delegation.id == delegation.id, Delegation.status == DelegationStatus.mediating)
        .values(status=status, ended_at=now)
    ).rowcount
    if claimed != 1:
        return False
    journal.append(
        delegation.case_id,
        "delegation.result",
        {"court_id": delegation.court_id, "reference": delegation.reference, "result": status},
        actor_id=None,
    )
    return True


@signals.status_changed.connect
def _result(case: Case, *, source: str, action: str, **_: object) -> None:
    """The result goes back by itself when the case reaches it."""
    if case.status not in (CaseStatus.signed, CaseStatus.terminated):
        return
    delegation = of_case(case)
    if delegation is None or delegation.status != DelegationStatus.mediating:
        return
    if case.status == CaseStatus.signed:
        _end(delegation, DelegationStatus.agreement, utcnow())
    elif case.termination_reason != TerminationReason.deadline_expired or (
        delegation.deadline_at > utcnow()
    ):
        _end(delegation, DelegationStatus.failed, utcnow())


@signals.choice_lapsed.connect
def _choice_lapsed(case: Case, **_: object) -> None:
    """The institution the court chose declined the dispute or let its days pass (art 12
    para 2): the court is told, and may designate another (``designate_again``)."""
    delegation = of_case(case)
    if delegation is None or delegation.status != DelegationStatus.mediating:
        return
    delegation.choice_lapsed_at = utcnow()
    db.session.flush()
    link = current_app.config["BASE_URL"].rstrip("/") + "/court/delegations"
    for person in notices.staff_told(delegation.court):
        notify.tell(
            person,
            CHOICE_LAPSED,
            subject=SUBJECT,
            institution=case.institution.name,
            reference=delegation.reference,
            number=case.number,
            link=link,
        )


def may_designate_again(delegation: Delegation) -> bool:
    """Whether the court may designate another institution now (art 12 para 2)."""
    return (
        delegation.status == DelegationStatus.mediating
        and delegation.choice_lapsed_at is not None
        and delegation.case.status in (CaseStatus.submitted, CaseStatus.declined)
    )


def waiting_for_court(court: Court) -> int:
    """How many of ``court``'s delegations wait for it to designate another institution (art
    12 para 2): shown on the portal's first page."""
    return db.session.scalar(
        select(func.count())
        .select_from(Delegation)
        .join(Case, Case.id == Delegation.case_id)
        .where(
            Delegation.court_id == court.id,
            Delegation.status == DelegationStatus.mediating,
            Delegation.choice_lapsed_at.is_not(None),
            Case.status.in_((CaseStatus.submitted, CaseStatus.declined)),
        )
    )


class DesignationRefused(workflow.TransitionError):
    """Why the court may not designate another institution now: ``code`` is the court API's
    error code (docs/court-api.md), the message says what happened and when (the portal).
    For ``already_designated``: who designated (``actor_id``, None for the court's system)
    and which institution (``to``, None when the choice was left to the platform)."""

    def __init__(
        self, code: str, message: str, *, actor_id: int | None = None, to: int | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.actor_id = actor_id
        self.to = to

    def repeats(self, by: User | None, institution_id: int | None) -> bool:
        """The very designation ``by`` made pressed again (a double tap, a page sent twice):
        said as done, not as a refusal."""
        return (
            self.code == "already_designated"
            and by is not None
            and self.actor_id == by.id
            and self.to == institution_id
        )


def _when(value: datetime | None) -> str:
    return format_when(value) if value is not None else "—"


def _day(value: datetime | None) -> str:
    return format_day(value) if value is not None else "—"


def designation_refusal(delegation: Delegation) -> DesignationRefused | None:
    """None when the court may designate another institution now (art 12 para 2: the one
    chosen declined the dispute or let its three working days pass); else what happened
    instead, and when. A page left open, a second clerk, or the court's system retrying
    meets a dispute that moved on: each state is answered with its own reason, never with
    one that is not what happened."""
    if may_designate_again(delegation):
        return None
    case = delegation.case
    if delegation.status == DelegationStatus.agreement:
        return DesignationRefused(
            "agreement_reached",
            _(
                "The parties reached an agreement, in force since %(when)s: mediation of the "
                "dispute is over, and they may apply to this court for judicial confirmation. "
                "Nothing was changed.",
                when=_when(delegation.ended_at),
            ),
        )
    if delegation.status == DelegationStatus.returned:
        return DesignationRefused(
            "returned",
            _(
                "The mediation period this court set ended on %(day)s without an agreement "
                "in force: the dispute was returned to the court on %(when)s. Nothing was "
                "changed.",
                day=_day(delegation.deadline_at),
                when=_when(delegation.ended_at),
            ),
        )
    if delegation.status == DelegationStatus.failed or case.status == CaseStatus.terminated:
        # SPC online mediation rules art 25: the reason mediation ended, as the case keeps it.
        reason = TERMINATION_REASONS.get(
            case.termination_reason, TERMINATION_REASONS[TerminationReason.other]
        )
        return DesignationRefused(
            "mediation_failed",
            _(
                "Mediation of the dispute ended without agreement on %(when)s: %(reason)s. "
                "Nothing was changed.",
                when=_when(delegation.ended_at or case.closed_at),
                reason=reason,
            ),
        )
    institution = case.institution.name if case.institution is not None else "—"
    if case.status not in (CaseStatus.submitted, CaseStatus.declined):
        # Accepted after all (art 12 para 1), late perhaps: it is being mediated.
        return DesignationRefused(
            "taken_on",
            _(
                "%(institution)s took the dispute on, on %(when)s: it is being mediated (case "
                "%(number)s). Nothing was changed.",
                institution=institution,
                when=_when(case.accepted_at),
                number=case.number,
            ),
        )
    # Waiting for an institution to accept: one designated since the last lapse, or the
    # first one chosen, which still has its days.
    last = db.session.scalars(
        select(JournalEntry)
        .where(
            JournalEntry.case_id == case.id,
            JournalEntry.action.in_(("case.chosen_again", "case.choice_released")),
        )
        .order_by(JournalEntry.seq.desc())
        .limit(1)
    ).first()
    if last is not None:
        who = last.actor.real_name if last.actor is not None else _("The court's system")
        if last.action == "case.choice_released":
            return DesignationRefused(
                "already_designated",
                _(
                    "%(who)s already left the choice of the institution to the platform on "
                    "%(when)s. Nothing was changed.",
                    who=who,
                    when=_when(last.created_at),
                ),
                actor_id=last.actor_id,
            )
        return DesignationRefused(
            "already_designated",
            _(
                "%(who)s already designated %(institution)s on %(when)s; it has until %(due)s "
                "to take the dispute on. Nothing was changed.",
                who=who,
                institution=institution,
                when=_when(last.created_at),
                due=_day(case.acceptance_due_at),
            ),
            actor_id=last.actor_id,
            to=last.payload.get("to"),
        )
    if case.institution is not None and case.acceptance_due_at is not None:
        return DesignationRefused(
            "not_lapsed",
            _(
                "%(institution)s has until %(due)s to take the dispute on. Another institution "
                "can be designated only once it declines the dispute or lets that time pass "
                "(SPC online mediation rules art 12). Nothing was changed.",
                institution=institution,
                due=_day(case.acceptance_due_at),
            ),
        )
    return DesignationRefused(
        "not_lapsed",
        _(
            "No institution has declined the dispute or let its days pass: there is none to "
            "replace (SPC online mediation rules art 12). Nothing was changed."
        ),
    )


def designate_again(
    delegation: Delegation,
    institution_id: int | None,
    *,
    by: User | None,
    now: datetime | None = None,
) -> None:
    """Art 12 para 2: the institution the court chose declined the dispute or did not take it
    on within three working days; the court designates another, or leaves it to the
    platform (``institution_id`` None). ``by`` is a clerk or judge of the delegating court
    (the edges check which court), or None for the court's own system through the API.

    Refused (``DesignationRefused``, nothing changed) when the dispute moved on, saying
    what happened; ``FieldError`` for an institution that does not exist."""
    # Two designations at once (two clerks, a clerk and the court's system, a retry) take
    # turns on the delegation's row: the second reads what the first did, and is told so.
    # The case's turn comes first (core/locks.py: the order of locks): a case reaching its
    # result journals, then ends the delegation (``_result``).
    journal.turn(delegation.case_id)
    db.session.flush()
    lock_rows(Delegation.id, delegation.id)
    db.session.refresh(delegation)
    db.session.refresh(delegation.case)
    refused = designation_refusal(delegation)
    if refused is not None:
        raise refused
    institution = None
    if institution_id is not None:
        institution = db.session.get(Institution, institution_id)
        if institution is None:
            raise FieldError("institution_id", _("Choose an institution from the list."))
        if institution.id == delegation.case.institution_id:
            raise DesignationRefused(
                "same_institution", _("This institution has not taken the dispute on.")
            )
    rechoice.choose_again(
        delegation.case,
        institution,
        by=by,
        delegated_by=assignment.DelegatedBy(delegation.court.name, delegation.reference),
        now=now,
    )
    delegation.choice_lapsed_at = None
    db.session.flush()


def return_expired(now: datetime | None = None) -> int:
    """A delegation whose deadline passed without an agreement in force ends its case (SPC
    online mediation rules art 25 (6)) and goes back to the court: every one due, in this
    transaction (the worker does each in its own: ``expired`` and ``return_one``)."""
    now = now or utcnow()
    return sum(return_one(delegation_id, now) for delegation_id in expired(now))


def expired(now: datetime) -> list[int]:
    """The ids of the delegations whose deadline passed while mediating, in id order."""
    return list(
        db.session.scalars(
            select(Delegation.id)
            .where(Delegation.status == DelegationStatus.mediating, Delegation.deadline_at <= now)
            .order_by(Delegation.id)
        )
    )


def return_one(delegation_id: int, now: datetime) -> int:
    """One delegation ended and its case with it, unless another worker or a step of the
    case did first (1 if this did, else 0)."""
    delegation = db.session.get(Delegation, delegation_id)
    if delegation is None:
        return 0
    # The case's turn, then the delegation (core/locks.py: the order of locks); ``_end``
    # claims it by a conditional update, so two workers never end it twice. (Rows locked
    # first and skipped by the other worker held the delegation while this waited for
    # the journal, which a step of the case holds while it ends the delegation.)
    journal.turn(delegation.case_id)
    db.session.refresh(delegation)
    case = delegation.case
    db.session.refresh(case)
    settled = case.status in SETTLED
    status = DelegationStatus.agreement if settled else DelegationStatus.returned
    if not _end(delegation, status, now):
        return 0
    if not settled and case.status not in (CaseStatus.terminated, *_LATER):
        workflow.transition(
            case,
            Action.terminate,
            by=None,
            acting_as=Actor.system,
            reason=TerminationReason.deadline_expired,
            now=now,
        )
    db.session.flush()
    return 1


_LATER = (CaseStatus.confirmation_requested, CaseStatus.confirmed, CaseStatus.rejected)


def delegating_court(case: Case) -> Court | None:
    delegation = of_case(case)
    return delegation.court if delegation is not None else None


@signals.figures_asked.connect
def _counts(institution_id: int | None) -> dict[str, int]:
    """The statistics page's delegation figures (cases.statistics asks by signal): how many
    disputes courts delegated, by what became of them, for one institution or all."""
    query = select(Delegation.status, func.count()).group_by(Delegation.status)
    if institution_id is not None:
        query = query.join(Case, Case.id == Delegation.case_id).where(
            Case.institution_id == institution_id
        )
    found = dict(db.session.execute(query).all())
    return {
        "delegations": sum(found.values()),
        **{f"delegations_{status.value}": found.get(status, 0) for status in DelegationStatus},
    }
