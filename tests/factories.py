"""Small factories for test data; each flushes, the test decides about commits."""

from __future__ import annotations

import itertools

from mediation.accounts import operations as accounts
from mediation.accounts.identity import id_number_check_char
from mediation.accounts.models import Court, CourtLevel, Institution, MediatorProfile, Role, User
from mediation.cases import assignment, workflow
from mediation.cases import operations as cases
from mediation.cases.models import Case
from mediation.cases.states import Action
from mediation.extensions import db

PASSWORD = "correct horse battery"
_serial = itertools.count(1)


def valid_id_number(serial: int) -> str:
    first17 = f"110105198001{serial % 28 + 1:02d}{serial % 1000:03d}"
    return first17 + id_number_check_char(first17)


def make_user(*roles: Role, password: str | None = PASSWORD, **fields) -> User:
    """An account whose holder proved their number (pass ``verified=False`` for one that
    was only registered or named)."""
    n = next(_serial)
    fields.setdefault("real_name", f"用户{n}")
    fields.setdefault("phone", f"139{n:08d}")
    fields.setdefault("id_number", valid_id_number(n))
    fields.setdefault("verified", True)
    return accounts.create_user(roles=roles or (Role.party,), password=password, **fields)


def make_institution(**fields) -> Institution:
    n = next(_serial)
    fields.setdefault("name", f"第{n}人民调解委员会")
    fields.setdefault("region_code", "320102")
    fields.setdefault("address", "南京市玄武区")
    institution = Institution(**fields)
    db.session.add(institution)
    db.session.flush()
    return institution


def make_court(**fields) -> Court:
    n = next(_serial)
    fields.setdefault("name", f"第{n}人民法院")
    fields.setdefault("level", CourtLevel.basic)
    fields.setdefault("region_code", "320102")
    court = Court(**fields)
    db.session.add(court)
    db.session.flush()
    return court


def make_mediator(institution: Institution, **fields) -> User:
    mediator = make_user(Role.mediator, institution_id=institution.id, **fields)
    mediator.mediator_profile = MediatorProfile(categories=["neighbourhood"], languages=["普通话"])
    db.session.flush()
    return mediator


def make_case(
    applicant: User, respondent: User, *, mediator: User | None = None, submit: bool = True
) -> Case:
    """A filed case; with a mediator, also assigned and accepted (awaiting the respondent)."""
    case = cases.open_case(
        title="漏水纠纷",
        category="neighbourhood",
        applicants=[applicant],
        respondents=[respondent],
        by=applicant,
    )
    if submit:
        workflow.transition(case, Action.submit, by=applicant)
    if mediator is not None:
        assignment.assign(
            case, institution=mediator.institution, mediator=mediator, how="chosen", by=applicant
        )
        assignment.accept(case, by=mediator)
    return case


def make_mediating_case(mediator: User | None = None) -> Case:
    """A case both sides agreed to mediate (in mediation), with its mediator."""
    from mediation.cases import respondent

    mediator = mediator or make_mediator(make_institution())
    case = make_case(make_user(), make_user(), mediator=mediator)
    respondent.answer(
        case,
        by=case.party_users()[1],
        agree=True,
        consent=True,
        service_address="南京市玄武区",
        service_confirmed=True,
    )
    return case


def add_weekly_hours(mediator: User, *days: int, starts: str = "09:00", ends: str = "17:00"):
    """Opening hours on the given weekdays (0 = Monday), in the mediator's zone."""
    from datetime import time

    from mediation.booking import availability

    for day in days or range(5):
        availability.add_rule(
            mediator.id,
            day,
            time.fromisoformat(starts),
            time.fromisoformat(ends),
            reception=False,
            place="",
        )
