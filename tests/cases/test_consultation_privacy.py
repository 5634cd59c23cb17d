"""The applicant's consultation of an expert before filing, copied into the case's journal
when the question was turned into the case (consultation/conversion.py), is the
applicant's private matter (People's Mediation Law art 15 (4); SPC online mediation rules
art 29 (4)): the respondent, their agent and the guests of their side learn neither that
it took place, nor what was asked, nor who answered, on any page or in any data; the
applicant, their agent and the mediator still read it. Real requests, on SQLite and
PostgreSQL (the ``app`` fixture's databases)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from mediation.booking import operations as booking
from mediation.cases import assignment, intake, respondent, workflow
from mediation.cases.models import CaseParty, Side
from mediation.cases.states import Action
from mediation.consultation import operations as consultation
from mediation.core.db import utcnow
from mediation.extensions import db
from tests.booking.conftest import ahead
from tests.conftest import login
from tests.consultation.test_consultation import FRIDAY, _ask, _expert
from tests.factories import (
    PASSWORD,
    add_weekly_hours,
    make_institution,
    make_mediator,
    make_user,
)

# The experts' names, and what the journal's lines of a consultation say (in Chinese and,
# for the data, their codes).
HOLDER, ANSWERER = "钱守信", "孙明理"
SECRETS = (
    HOLDER,
    ANSWERER,
    "咨询",
    "专家",
    "consultation",
    "question_id",
)
# (The question's text is the draft case's facts, which the applicant reads and may change
# before filing: what they file is their statement to the other side, not the question.)


def filed_and_agreed(case, asker, other):
    """``case``, drafted by ``asker``, filed against ``other``, taken by a mediator and agreed
    to by the respondent; each side with a confirmed agent: (the mediator, {side: agent})."""
    intake.set_respondent(case, by=asker, real_name=other.real_name, phone=other.phone)
    workflow.transition(case, Action.submit, by=asker)
    mediator = make_mediator(make_institution())
    assignment.assign(
        case, institution=mediator.institution, mediator=mediator, how="chosen", by=asker
    )
    assignment.accept(case, by=mediator)
    respondent.answer(
        case,
        by=other,
        agree=True,
        consent=True,
        service_address="南京市玄武区",
        service_confirmed=True,
    )
    agents = {}
    for side, principal in ((Side.applicant, asker), (Side.respondent, other)):
        agent = make_user()
        case.parties.append(
            CaseParty(
                user=agent,
                side=side,
                is_agent=True,
                represents=principal,
                agency_confirmed_at=utcnow(),
            )
        )
        agents[side] = agent
    return mediator, agents


@pytest.fixture
def converted(app):
    """A question given back by one expert, late (escalated), answered by another, turned
    into a case the respondent agreed to mediate; each side with a confirmed agent, and a
    guest of each side invited to a session."""
    with app.app_context():
        asker = make_user(real_name="申请人甲")
        holder, answerer = _expert(real_name=HOLDER), _expert(real_name=ANSWERER)
        question = _ask(asker)
        consultation.take(question, holder, now=FRIDAY + timedelta(hours=1))
        consultation.give_back(question, holder, "conflict", now=FRIDAY + timedelta(hours=2))
        assert consultation.escalate_late(now=question.due_at + timedelta(seconds=1)) == 1
        consultation.answer(question, answerer, "建议申请人民调解。")
        case = consultation.to_case(question, asker)
        other = make_user(real_name="被申请人乙")
        mediator, agents = filed_and_agreed(case, asker, other)
        add_weekly_hours(mediator)
        session = booking.book(case, by=mediator, start=ahead(1, "09:00"))
        # Guests with accounts they sign in to (a password set), the most they could have.
        guests = {
            side: booking.invite_guest(
                session,
                by=mediator,
                real_name=guest.real_name,
                phone=guest.phone,
                relation="relative",
                side=side,
            ).user
            for side, guest in (
                (Side.applicant, make_user(real_name="甲的亲属")),
                (Side.respondent, make_user(real_name="乙的亲属")),
            )
        }
        db.session.commit()
        phones = {
            "applicant": asker.phone,
            "applicant_agent": agents[Side.applicant].phone,
            "applicant_guest": guests[Side.applicant].phone,
            "respondent": other.phone,
            "respondent_agent": agents[Side.respondent].phone,
            "respondent_guest": guests[Side.respondent].phone,
            "mediator": mediator.phone,
        }
        case_id = case.id
        db.session.remove()
    return case_id, phones


def _surfaces(app, phone: str, case_id: int) -> dict[str, tuple[int, str]]:
    """Every page and data of the case that shows its journal, as ``phone`` gets them."""
    client = app.test_client()
    login(client, phone, PASSWORD)
    got = {}
    for path in (f"/cases/{case_id}", f"/cases/{case_id}/journal"):
        response = client.get(path)
        got[path] = (response.status_code, response.get_data(as_text=True))
    response = client.get(f"/cases/{case_id}/journal.json")
    body = json.dumps(response.get_json(), ensure_ascii=False) if response.is_json else ""
    got[f"/cases/{case_id}/journal.json"] = (response.status_code, body)
    return got


@pytest.mark.parametrize("who", ["respondent", "respondent_agent"])
def test_the_other_side_does_not_learn_of_the_consultation(app, converted, who):
    case_id, phones = converted
    for path, (status, body) in _surfaces(app, phones[who], case_id).items():
        assert status == 200, path
        for secret in SECRETS:
            assert secret not in body, (who, path, secret)
    # Nor that entries are kept from them: no length or position of the chain for a party.
    client = app.test_client()
    login(client, phones[who], PASSWORD)
    data = client.get(f"/cases/{case_id}/journal.json").get_json()
    assert data["chain"] == {"ok": True}
    assert all(set(e) == {"action", "actor_id", "created_at", "payload"} for e in data["entries"])
    assert data["entries"][0]["action"] == "case.opened"
    page = client.get(f"/cases/{case_id}/journal").get_data(as_text=True)
    assert "日志链完整：没有记录被修改、删除或调换顺序。" in page and "共" not in page
    assert "完整（" not in client.get(f"/cases/{case_id}").get_data(as_text=True)


@pytest.mark.parametrize("who", ["respondent_guest", "applicant_guest"])
def test_guests_are_shown_no_journal_at_all(app, converted, who):
    case_id, phones = converted
    for path, (status, _body) in _surfaces(app, phones[who], case_id).items():
        assert status == 404, path


@pytest.mark.parametrize("who", ["applicant", "applicant_agent", "mediator"])
def test_the_applicant_their_agent_and_the_mediator_still_read_it(app, converted, who):
    case_id, phones = converted
    got = _surfaces(app, phones[who], case_id)
    for path in (f"/cases/{case_id}", f"/cases/{case_id}/journal"):
        status, body = got[path]
        assert status == 200
        for label in ("在线咨询中提出问题", "咨询已转由其他专家答复", "咨询未按时答复"):
            assert label in body, (who, path, label)
        assert "专家答复了咨询" in body and "咨询转为本案件" in body
        assert HOLDER in body and ANSWERER in body
    status, data = got[f"/cases/{case_id}/journal.json"]
    actions = [e["action"] for e in json.loads(data)["entries"]]
    assert [a for a in actions if a.startswith("consultation.")] == [
        "consultation.asked",
        "consultation.handed_over",
        "consultation.escalated",
        "consultation.answered",
        "consultation.converted",
    ]
    if who == "mediator":  # staff: the chain's length and each entry's place and hash
        chain = json.loads(data)["chain"]
        assert chain["ok"] and chain["entries"] == len(actions)
        assert all("hash" in e for e in json.loads(data)["entries"])
