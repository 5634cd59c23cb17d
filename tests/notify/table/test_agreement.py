"""The notification table walked for the agreement and what follows it
(``mediation/notify/table/agreement.py``): signing in turn, a court's delegated dispute, the
application for judicial confirmation, and the follow-up of the obligations. How a walk goes:
tests/notify/table/walk.py."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mediation.accounts.models import Role
from mediation.agreements import operations as agreements
from mediation.agreements import round_end, signing
from mediation.cases import assignment
from mediation.cases.models import Side
from mediation.court import application as applying
from mediation.court import delegation, examination, ruling
from tests.agreements.conftest import agreeing_case, complete_draft, drawing, last_code_to
from tests.court.conftest import apply_jointly, in_force
from tests.court.test_delegation import _accept_and_mediate, dispute
from tests.factories import make_court, make_institution, make_mediator, make_user
from tests.notify.table.walk import Scenarios, Who, everyone, mailable, parties_of

scenario = Scenarios()


# -- the agreement --------------------------------------------------------------------------


def _drafted():
    case, admin = agreeing_case()
    mailable(*everyone(case), admin)
    agreement = agreements.start(case, by=case.mediator)
    agreements.save(agreement, complete_draft(case), by=case.mediator)
    return case, admin, agreement


def _sign(agreement, user):
    signing.send_code(agreement, user)
    code = last_code_to(user)
    return lambda: signing.sign(
        agreement, user, code=code, shown_sha256=agreement.document_sha256, drawing=drawing()
    )


@scenario("draft saved or commented")
def _draft_saved():
    case, _admin, agreement = _drafted()
    act = lambda: agreements.comment(agreement, "第二条金额有误", by=case.party_users()[0])  # noqa: E731
    return act, {}


@scenario("signing opened")
def _signing_opened():
    case, _admin, agreement = _drafted()
    act = lambda: signing.open_round(agreement, by=case.mediator)  # noqa: E731
    return act, {"next signer": [case.party_users()[0]]}


@scenario("a signer signs and another is next")
def _signed_one():
    case, _admin, agreement = _drafted()
    signing.open_round(agreement, by=case.mediator)
    first, second = case.party_users()
    return _sign(agreement, first), {"next signer": [second]}


@scenario("the institution's seal is next")
def _seal_next():
    case, admin, agreement = _drafted()
    signing.open_round(agreement, by=case.mediator)
    for user in case.party_users():
        _sign(agreement, user)()
    return _sign(agreement, case.mediator), {"seal holder": [admin]}


@scenario("agreement in force")
def _in_force():
    case, admin, agreement = _drafted()
    signing.open_round(agreement, by=case.mediator)
    for user in (*case.party_users(), case.mediator):
        _sign(agreement, user)()
    return _sign(agreement, admin), {"parties": parties_of(case), "mediator": [case.mediator]}


@scenario("party refuses to sign")
def _refused():
    case, _admin, agreement = _drafted()
    signing.open_round(agreement, by=case.mediator)
    act = lambda: round_end.refuse(agreement, case.party_users()[0], "不同意金额")  # noqa: E731
    return act, {"parties": parties_of(case), "mediator": [case.mediator]}


def _given_to_another(case, admin):
    """The institution gives the case to another of its mediators (art 14)."""
    other = make_mediator(case.institution)
    mailable(other)
    act = lambda: assignment.reassign_by_institution(case, mediator=other, by=admin)  # noqa: E731
    return act, other


@scenario(
    "mediator changed while the agreement is out for signing",
    "institution gives the case to another mediator",
)
def _round_void_for_a_new_mediator():
    case, admin, agreement = _drafted()
    signing.open_round(agreement, by=case.mediator)
    first, second = case.party_users()
    _sign(agreement, first)()  # one who signed, one who was to sign, and the mediator
    act, other = _given_to_another(case, admin)
    return act, {"round signers": [first, second, case.mediator], "new mediator": [other]}


@scenario(
    "mediator changed while the agreement waits for the seal",
    "mediator changed while the agreement is out for signing",
    "institution gives the case to another mediator",
)
def _seal_asked_for_a_void_round():
    case, admin, agreement = _drafted()
    signing.open_round(agreement, by=case.mediator)
    for user in (*case.party_users(), case.mediator):
        _sign(agreement, user)()
    act, other = _given_to_another(case, admin)
    return act, {
        "seal holder": [admin],
        "round signers": [*case.party_users(), case.mediator],
        "new mediator": [other],
    }


# -- the court ------------------------------------------------------------------------------


def _court_world():
    world = in_force()
    mailable(*everyone(world.case), world.clerk, world.judge, world.other_judge)
    return world


def _court_people(world) -> Who:
    return {"parties": parties_of(world.case), "court staff": [world.clerk, world.judge]}


@scenario("joint application: another party is to sign")
def _application_next_signer():
    """The applicant starts and signs; the respondent, who may have no password, is told
    with his own link (walk (b) of issue #16 had him come back by his old invitation)."""
    world = _court_world()
    applicant, other = world.case.party_users()
    application = applying.start(world.case, world.court, by=applicant)
    applying.send_code(application, applicant)

    def act():
        applying.sign(
            application,
            applicant,
            code=last_code_to(applicant),
            shown_sha256=application.document_sha256,
            drawing=drawing(),
        )

    return act, {"next signer": [other]}


@scenario("joint application signed by every party")
def _applied():
    world = _court_world()
    applicant, other = world.case.party_users()
    application = applying.start(world.case, world.court, by=applicant)

    def sign(party):
        return lambda: applying.sign(
            application,
            party,
            code=last_code_to(party),
            shown_sha256=application.document_sha256,
            drawing=drawing(),
        )

    applying.send_code(application, applicant)
    sign(applicant)()
    applying.send_code(application, other)
    return sign(other), _court_people(world)


def _submitted():
    world = _court_world()
    return world, apply_jointly(world)


@scenario("court accepts the application")
def _court_accepts():
    world, application = _submitted()
    return lambda: examination.accept(application, by=world.clerk), _court_people(world)


@scenario("court refuses the application")
def _court_refuses():
    world, application = _submitted()
    act = lambda: examination.refuse(application, "no_jurisdiction", "", by=world.clerk)  # noqa: E731
    return act, _court_people(world)


@scenario("court asks for more materials")
def _court_materials():
    world, application = _submitted()
    examination.accept(application, by=world.clerk)
    act = lambda: examination.request_materials(application, "请补充收入证明", 5, by=world.clerk)  # noqa: E731
    return act, _court_people(world)


@scenario("court confirms the agreement")
def _court_confirms():
    world, application = _submitted()
    examination.accept(application, by=world.clerk)
    act = lambda: ruling.rule(application, True, None, "", by=world.judge)  # noqa: E731
    return act, _court_people(world)


@scenario("court rejects the agreement")
def _court_rejects():
    world, application = _submitted()
    examination.accept(application, by=world.clerk)
    act = lambda: ruling.rule(application, False, "unclear", "内容不明确", by=world.judge)  # noqa: E731
    return act, _court_people(world)


@scenario("parties withdraw the application")
def _withdrawn_application():
    world, application = _submitted()
    act = lambda: applying.withdraw(application, by=world.case.party_users()[0])  # noqa: E731
    return act, _court_people(world)


@scenario("court delegates a dispute", "case filed with the institution chosen")
def _delegated():
    court, institution = make_court(), make_institution()
    admin = make_user(Role.institution_admin, institution_id=institution.id)
    mailable(admin)
    data = delegation.DelegationInput(
        reference="（2026）苏0102民诉前调9号",
        category="neighbourhood",
        title="楼上漏水",
        applicants=[delegation.PartyInput("李建国", "13911116666")],
        respondents=[delegation.PartyInput("王小明", "13911117777")],
        institution_id=institution.id,
    )
    made: list = []

    def act():
        made.append(delegation.delegate(court, data))

    class Applicants(list):
        """Known once the act made their accounts."""

        def __iter__(self):
            return iter(made[0].case.party_users(Side.applicant))

    return act, {"applicants": Applicants(), "institution admins": [admin]}


@scenario("delegated dispute's deadline passes without an agreement")
def _delegation_returned():
    institution = make_institution()
    mediator = make_mediator(institution)
    made = delegation.delegate(make_court(), dispute(institution_id=institution.id))
    _accept_and_mediate(made.case, mediator)
    mailable(*everyone(made.case))
    later = made.deadline_at + timedelta(seconds=1)
    return lambda: delegation.return_expired(later), {
        "parties": parties_of(made.case),
        "mediator": [mediator],
    }


# -- follow-up ------------------------------------------------------------------------------


def _tracked(days: int = 30):
    from tests.followup.conftest import tracked

    case, obligation = tracked(days)
    mailable(*everyone(case))
    return case, obligation


@scenario("obligation due soon")
def _due_soon():
    from mediation.followup import operations as followup
    from tests.followup.conftest import this_noon

    _case, obligation = _tracked(days=2)
    # In the daytime: nothing is sent at night (followup.operations.FIRST_HOUR).
    return lambda: followup.remind_due(this_noon()), {"obligor": [obligation.obligor.user]}


@scenario("obligation date missed")
def _date_missed():
    from mediation.followup import operations as followup
    from tests.followup.conftest import after_the_date

    case, obligation = _tracked()
    later = after_the_date(obligation)
    return lambda: followup.mark_missed(now=later), {
        "mediator": [case.mediator],
        "obligee": [obligation.obligee.user],
    }


@scenario("performance confirmed or follow-up recorded")
def _performance_confirmed():
    from mediation.followup import operations as followup

    _case, obligation = _tracked()
    return lambda: followup.confirm(obligation, obligation.obligee.user, full=True), {}


@pytest.mark.parametrize("event", scenario.events())
def test_each_step_tells_exactly_whom_the_table_lists(app_ctx, event):
    scenario.walk(event)
