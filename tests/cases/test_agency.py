"""An agent nobody confirmed takes no step in the party's name, whichever the door: a
refusal to sign, minutes, an extension, a mediator change, separate sessions, the court
(issue #15 item 4); once the party confirms, the agent acts and the party is told."""

from __future__ import annotations

import pytest

from mediation.agreements import operations as agreements
from mediation.agreements import round_end, signing
from mediation.booking import operations as booking
from mediation.cases import agency, conflicts, extension
from mediation.cases.agency import AgencyError
from mediation.cases.models import CaseParty
from mediation.extensions import db
from tests.agreements.conftest import agreeing_case, complete_draft, out_for_signing
from tests.factories import make_mediator, make_user


def with_agent(case) -> tuple[CaseParty, object]:
    """An agent of the respondent, named by someone, not confirmed by the respondent."""
    respondent = case.party_users()[1]
    agent = CaseParty(user=make_user(), side="respondent", is_agent=True, represents=respondent)
    case.parties.append(agent)
    db.session.flush()
    return agent, agent.user


def test_an_unconfirmed_agent_can_neither_refuse_nor_ask_nor_consent(app_ctx):
    case, _admin = agreeing_case()
    draft = complete_draft(case)
    row, agent = with_agent(case)
    agreement = out_for_signing(case, draft)
    attempts = [
        lambda: round_end.refuse(agreement, agent, "不同意"),
        lambda: agreements.comment(agreement, "我代表当事人不同意", by=agent),
        lambda: extension.consent(case, by=agent),
        lambda: conflicts.request_change(case, by=agent, reason="不信任"),
        lambda: booking.consent_to_separate_sessions(case, agent, False),
    ]
    for attempt in attempts:
        with pytest.raises(AgencyError):
            attempt()
    assert case.status == "agreement_drafted"
    # Confirmed by the mediator on camera: now the agent acts for the party.
    agency.confirm(row, by=case.mediator)
    make_mediator(case.institution)  # somebody the case could be given to instead
    conflicts.request_change(case, by=agent, reason="当事人要求更换调解员")


def test_the_party_is_told_of_each_step_in_their_name(app_ctx):
    from sqlalchemy import select

    from mediation.notify.models import OutboxMessage

    case, _admin = agreeing_case()
    row, agent = with_agent(case)
    agency.confirm(row, by=case.mediator)
    make_mediator(case.institution)  # somebody the case could be given to instead
    conflicts.request_change(case, by=agent, reason="当事人要求更换调解员")
    told = db.session.scalars(
        select(OutboxMessage.body).where(OutboxMessage.recipient == case.party_users()[1].phone)
    ).all()
    assert any(agent.real_name in body for body in told)


def test_an_unconfirmed_agent_is_not_let_into_the_room(app_ctx):
    """Taking part for a party is acting in their name: the room refuses the agent until
    the party (or the mediator, on camera) confirmed."""
    from mediation.booking.models import SessionParticipant
    from mediation.rooms import arrival
    from mediation.rooms import operations as rooms
    from tests.signaling.conftest import open_session

    case, _admin = agreeing_case()
    session = open_session(case)
    row, agent = with_agent(case)
    seat = SessionParticipant(user_id=agent.id, role="agent")
    session.participants.append(seat)
    db.session.flush()
    with pytest.raises(rooms.RoomError) as refused:
        arrival.arrive(seat, "sid-agent")
    assert refused.value.code == "agency"
    agency.confirm(row, by=case.mediator)
    member = arrival.arrive(seat, "sid-agent").member
    assert member.role == "agent"


def refused_while_signing_first():
    """A confirmed agent of the applicant signs first in a round out for signing; the
    applicant then refuses them. Returns the case, the applicant, the agent and the
    agreement as the round left it."""
    case, _admin = agreeing_case()
    draft = complete_draft(case)
    applicant = case.party_users()[0]
    row = CaseParty(user=make_user(), side="applicant", is_agent=True, represents=applicant)
    case.parties.append(row)
    db.session.flush()
    agency.confirm(row, by=case.mediator)
    agreement = out_for_signing(case, draft)
    agent = row.user
    assert signing.next_signature(agreement).user_id == agent.id
    agency.refuse(row, by=applicant)
    return case, applicant, agent, agreement


def test_an_agent_refused_during_a_signing_round_signs_nothing(app_ctx):
    """The reviewer's finding: the round was opened with the agent as the party's signer;
    the party then refuses the agent, who must not sign in their name."""
    from mediation.cases.workflow import NotPermittedError

    _case, _applicant, agent, agreement = refused_while_signing_first()
    with pytest.raises(NotPermittedError):
        signing.send_code(agreement, agent)


def test_the_party_s_link_says_who_confirmed_the_agent_and_that_the_case_ended(app, client):
    """The party opens the text message's link after the mediator confirmed the agent on
    camera: it says the mediator did (not "you have confirmed"); once the mediation ended,
    the page says that too."""
    from mediation.cases import workflow
    from mediation.cases.states import Action, TerminationReason
    from tests.conftest import login
    from tests.factories import PASSWORD, make_mediating_case

    with app.app_context():
        case = make_mediating_case()
        row, _agent = with_agent(case)
        agency.confirm(row, by=case.mediator)
        db.session.commit()
        path = "/" + agency.link_for(row).split("://", 1)[1].split("/", 1)[1]
        phone, case_id = case.party_users()[1].phone, case.id
    login(client, phone, PASSWORD)
    page = client.get(path).get_data(as_text=True)
    assert "调解员已核查此人的授权委托书" in page and "您已确认该代理人" not in page
    assert "本案调解已经结束" not in page
    with app.app_context():
        case = db.session.get(type(row), row.id).case
        workflow.transition(
            case,
            Action.terminate,
            by=case.mediator,
            reason=TerminationReason.too_far_apart,
            note="差距过大",
        )
        db.session.commit()
        assert case.id == case_id
    assert "本案调解已经结束" in client.get(path).get_data(as_text=True)


def test_an_agent_refused_while_their_page_was_open_is_told_so(app):
    """The respondent refused their agent while the agent had the case page open: the
    agent's next button says they no longer act in the case (not "page not found") and
    does nothing; the mediator's "agent checked" button on an older page says the party
    refused them."""
    from mediation.cases.models import Case
    from mediation.cases.states import CaseStatus
    from tests.conftest import csrf_token, login
    from tests.factories import PASSWORD

    with app.app_context():
        case, _admin = agreeing_case()
        agent, agent_user = with_agent(case)
        db.session.commit()
        ids = {"case": case.id, "agent": agent.id}
        phones = {"agent": agent_user.phone, "mediator": case.mediator.phone}
    page = f"/cases/{ids['case']}"
    clients = {}
    for who in ("agent", "mediator"):
        clients[who] = app.test_client()
        login(clients[who], phones[who], PASSWORD)
    tokens = {who: csrf_token(c, page) for who, c in clients.items()}
    with app.app_context():
        row = db.session.get(CaseParty, ids["agent"])
        agency.refuse(row, by=row.case.party_users()[1])
        db.session.commit()

    agent_client = clients["agent"]
    for path, data in (
        (f"{page}/steps/terminate", {"reason": "party_unwilling", "confirm": "1"}),
        (f"{page}/agreement/comment", {"text": "我方不同意赔偿数额"}),
    ):
        pressed = agent_client.post(path, data=data | {"csrf_token": tokens["agent"]})
        assert pressed.status_code == 302 and "/cases/" not in pressed.location, path
        home = agent_client.get(pressed.location, follow_redirects=True).get_data(as_text=True)
        assert "您已不再代理本案" in home, path
    assert agent_client.get(page).status_code == 302

    mediator = clients["mediator"]
    pressed = mediator.post(
        f"{page}/agents/{ids['agent']}/confirm", data={"csrf_token": tokens["mediator"]}
    )
    assert pressed.status_code == 302 and pressed.location.endswith(page)
    told = mediator.get(pressed.location).get_data(as_text=True)
    assert "此人已不再代理本案：当事人已拒绝其代理" in told
    with app.app_context():
        case = db.session.get(Case, ids["case"])
        assert case.status == CaseStatus.in_mediation and not any(p.is_agent for p in case.parties)
    # Someone who never was in the case still finds nothing there.
    with app.app_context():
        stranger = make_user().phone
        db.session.commit()
    other = app.test_client()
    login(other, stranger, PASSWORD)
    assert other.post(
        f"{page}/steps/terminate", data={"csrf_token": tokens["agent"]}
    ).status_code in (400, 404)


def test_a_round_an_agent_signs_in_is_void_once_the_party_refuses_them(app_ctx):
    """Found by an audit: the round's seat was the refused agent's, who may not sign; the
    party held none, so could neither sign nor refuse; nobody was asked to do anything. Now
    the round is void, the mediator and the party told, and the next round has the party
    sign in person."""
    from mediation.agreements import operations as agreements
    from mediation.agreements.models import AgreementStatus
    from tests.agreements.conftest import messages_to

    case, applicant, agent, agreement = refused_while_signing_first()

    agreement = agreements.of_case(case)
    assert agreement.status == AgreementStatus.drafting
    for person in (applicant, case.mediator):
        assert any("本轮调解协议签署已作废" in m for m in messages_to(person.phone)), person
    assert not any("本轮调解协议签署已作废" in m for m in messages_to(agent.phone))
    again = out_for_signing(case, complete_draft(case))
    assert agent.id not in {s.user_id for s in again.round_signatures()}
    assert applicant.id in {s.user_id for s in again.round_signatures()}
