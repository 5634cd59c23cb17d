"""A case whose agreement is in force, the competent court with a clerk and a judge, and
another court that must see nothing of it."""

from __future__ import annotations

from dataclasses import dataclass

from mediation.accounts.models import CourtLevel, Role
from mediation.court import application as applying
from mediation.extensions import db
from tests.agreements.conftest import agreeing_case, last_code_to, out_for_signing
from tests.agreements.test_workflow import sign_in_turn
from tests.factories import make_court, make_user


@dataclass
class World:
    case: object
    court: object
    clerk: object
    judge: object
    other_court: object
    other_judge: object


def in_force() -> World:
    case, admin = agreeing_case()
    agreement = out_for_signing(case)
    for user in (*case.party_users(), case.mediator, admin):
        sign_in_turn(agreement, user)
    court = make_court(region_code=case.institution.region_code, level=CourtLevel.basic)
    other = make_court(region_code="110101", level=CourtLevel.basic)
    world = World(
        case=case,
        court=court,
        clerk=make_user(Role.court_clerk, court_id=court.id),
        judge=make_user(Role.judge, court_id=court.id),
        other_court=other,
        other_judge=make_user(Role.judge, court_id=other.id),
    )
    db.session.flush()
    return world


def apply_jointly(world: World, now=None, *, court=None):
    """Both parties sign the application to the competent court (or ``court``); it is
    submitted."""
    applicant, respondent = world.case.party_users()
    application = applying.start(world.case, court or world.court, by=applicant, now=now)
    for party in (applicant, respondent):
        applying.send_code(application, party)
        applying.sign(
            application,
            party,
            code=last_code_to(party),
            shown_sha256=application.document_sha256,
            drawing=_drawing(),
            now=now,
        )
    return application


def _drawing() -> bytes:
    from tests.agreements.conftest import drawing

    return drawing()
