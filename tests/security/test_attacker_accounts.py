"""An attacker walks issue #15's items 1-4 over HTTP, as a stranger with a browser would,
and finds nothing: no account on someone else's number, no case of theirs to read, no
owner's name behind a number, no acting in someone's name they did not confirm. Item 2 (a
session held with one side) is walked over HTTP in test_one_side_sessions.py."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import func, select

from mediation.accounts.identity import mask_phone
from mediation.accounts.models import Role, User
from mediation.cases.models import Case, CaseParty
from mediation.extensions import db
from mediation.notify.models import OutboxMessage
from tests.conftest import code_sent_to, csrf_token, login, post_form
from tests.factories import PASSWORD, make_institution, make_mediator, make_user

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
VICTIM = "13877776666"
VICTIM_E164 = "+8613877776666"
DISPUTE = {
    "category": "neighbourhood",
    "title": "楼上漏水",
    "facts": "卫生间顶部渗水三个月，申请人底线是三千元。",
    "region_code": "320000",
    "claims-0-text": "赔偿墙面维修费",
    "claims-0-amount": "3000",
}
SUBMIT = {
    "choice": "auto",
    "service_address": "南京市玄武区",
    "service_confirmed": "y",
    "consent": "y",
}


@pytest.fixture
def world(app):
    with app.app_context():
        make_mediator(make_institution(region_code="320102"))
        applicant = make_user(real_name="张三")
        attacker = make_user(real_name="坏人", phone="13800000666")
        judge = make_user(Role.judge, real_name="王法官", phone="13800000777")
        db.session.commit()
        return {
            "applicant": applicant.phone,
            "attacker": attacker.phone,
            "judge": (judge.phone, judge.real_name, judge.id_number_masked),
        }


def logged_in(app, phone):
    client = app.test_client()
    assert login(client, phone, PASSWORD).status_code == 302
    return client


def new_case(client, **extra) -> int:
    response = post_form(client, "/cases/new", {**DISPUTE, **extra})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return int(re.search(r"/cases/(\d+)/", response.headers["Location"]).group(1))


def name_respondent(client, case_id, phone, name="李四"):
    data = {"real_name": name, "phone": phone, "id_number": ""}
    return post_form(client, f"/cases/{case_id}/intake/respondent", data)


def add_power_of_attorney(client, case_id):
    token = csrf_token(client, f"/cases/{case_id}/intake/evidence")
    return client.post(
        f"/cases/{case_id}/intake/evidence",
        content_type="multipart/form-data",
        data={
            "csrf_token": token,
            "power_of_attorney": "y",
            "files": [(io.BytesIO(PDF), "授权委托书.pdf")],
        },
    )


def file_as_agent(client, principal_name: str) -> int:
    """File a case "as agent" of whoever holds VICTIM's number, with any PDF as power of
    attorney, and submit it."""
    case_id = new_case(
        client,
        as_agent="y",
        principal_name=principal_name,
        principal_phone=VICTIM,
        principal_id_number="",
    )
    name_respondent(client, case_id, "13811112222")
    add_power_of_attorney(client, case_id)
    assert post_form(client, f"/cases/{case_id}/intake/submit", SUBMIT).status_code == 302
    return case_id


def test_item_1_no_account_on_someone_elses_number(app, world):
    """Registering the victim's number first opens nothing; the case later filed against
    the victim stays out of the attacker's reach."""
    attacker = app.test_client()
    assert post_form(attacker, "/register", {"phone": VICTIM}).status_code == 302
    # The code went to the victim's phone; the attacker guesses.
    for guess in ("000000", "123456", "111111", "999999", "654321", "222222"):
        post_form(
            attacker,
            "/register/confirm",
            {"code": guess, "real_name": "李四", "id_number": "", "password": "x" * 12},
        )
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id)).where(User.phone == VICTIM_E164)) == 0
    # Even the right code no longer works after five wrong ones: only a new code helps.
    right = code_sent_to(app, VICTIM_E164)
    late = post_form(
        attacker,
        "/register/confirm",
        {"code": right, "real_name": "李四", "id_number": "", "password": "x" * 12},
    )
    assert late.status_code == 422
    # A case names the victim: a placeholder account nobody can log in to.
    applicant = logged_in(app, world["applicant"])
    case_id = new_case(applicant)
    name_respondent(applicant, case_id, VICTIM)
    assert post_form(applicant, f"/cases/{case_id}/intake/submit", SUBMIT).status_code == 302
    assert login(app.test_client(), VICTIM, "x" * 12).status_code == 200  # refused
    assert attacker.get(f"/cases/{case_id}").status_code in (302, 404)


def test_item_3_a_number_does_not_tell_whose_it_is(app, world):
    """Naming a judge's number as the respondent shows neither their name nor their ID."""
    judge_phone, judge_name, judge_id = world["judge"]
    attacker = logged_in(app, world["attacker"])
    case_id = new_case(attacker)
    assert name_respondent(attacker, case_id, judge_phone, name="随便").status_code == 302
    pages = [
        attacker.get(f"/cases/{case_id}"),
        attacker.get(f"/cases/{case_id}/intake/respondent"),
        attacker.get(f"/cases/{case_id}/intake/evidence"),
        attacker.get(f"/cases/{case_id}/intake/submit"),
        attacker.get(f"/cases/{case_id}/journal.json"),
        attacker.get("/cases/"),
    ]
    for page in pages:
        text = page.get_data(as_text=True)
        assert judge_name not in text
        assert judge_id not in text
    assert "随便" in pages[0].get_data(as_text=True)  # the name as typed


def test_item_4_an_agent_nobody_confirmed_cannot_act(app, world):
    """Filing "as agent" for the victim: the victim is asked, the attacker can do nothing
    in the victim's name meanwhile, and a refusal puts the attacker out of the case."""
    attacker = logged_in(app, world["attacker"])
    case_id = file_as_agent(attacker, "受害人")
    with app.app_context():
        asked = db.session.scalars(
            select(OutboxMessage.body).where(OutboxMessage.recipient == VICTIM_E164)
        ).all()
    assert any("/agency/" in body for body in asked)
    # The attacker tries to end the case in the victim's name.
    token = csrf_token(attacker, f"/cases/{case_id}")
    attacker.post(
        f"/cases/{case_id}/steps/terminate",
        data={"csrf_token": token, "reason": "party_unwilling", "confirm": "1"},
    )
    with app.app_context():
        assert db.session.get(Case, case_id).status == "submitted"
    # The victim follows the link, proves the phone, and refuses.
    link = re.search(r"https?://[^\s]+/agency/[^\s]+", asked[-1]).group()
    path = link.split("://", 1)[1].split("/", 1)[1]
    victim = app.test_client()
    post_form(victim, f"/{path}", {"action": "send"})
    entered = post_form(victim, f"/{path}", {"code": code_sent_to(app, VICTIM_E164)})
    assert entered.status_code == 302
    page = victim.get(f"/{path}").get_data(as_text=True)
    assert "坏人" in page
    assert post_form(victim, f"/{path}", {"choice": "refuse"}).status_code == 302
    with app.app_context():
        rows = db.session.scalars(select(CaseParty).where(CaseParty.case_id == case_id)).all()
        assert all(not p.is_agent for p in rows)
        case_number = db.session.get(Case, case_id).number
    # The case is closed to the attacker: told only that the party refused them, at home.
    refused = attacker.get(f"/cases/{case_id}")
    assert refused.status_code == 302 and refused.location.endswith("/home")
    home = attacker.get(refused.location, follow_redirects=True).get_data(as_text=True)
    assert "您已不再代理本案" in home and case_number not in home
    # The link opened again (it stays in the text messages): said plainly, not "not found";
    # and nothing of the case, to whoever holds it.
    again = app.test_client().get(f"/{path}")
    assert again.status_code == 410
    assert "此链接已失效：此人已不再代理本案" in again.get_data(as_text=True)
    assert "坏人" not in again.get_data(as_text=True)
    # A link the platform never sent is still not found.
    assert app.test_client().get(f"/{path[:-3]}xyz").status_code == 404


def test_item_4_a_confirmed_agent_acts_and_the_party_is_told(app, world):
    attacker = logged_in(app, world["attacker"])  # here: a genuine agent
    case_id = file_as_agent(attacker, "老伯")
    with app.app_context():
        link = db.session.scalars(
            select(OutboxMessage.body)
            .where(OutboxMessage.recipient == VICTIM_E164)
            .order_by(OutboxMessage.id)
        ).first()
    assert "/agency/" in link, link
    path = "/" + re.search(r"https?://[^\s]+/agency/[^\s]+", link).group().split("/", 3)[3]
    principal = app.test_client()
    post_form(principal, path, {"action": "send"})
    post_form(principal, path, {"code": code_sent_to(app, VICTIM_E164)})
    assert post_form(principal, path, {"choice": "confirm"}).status_code == 302
    token = csrf_token(attacker, f"/cases/{case_id}")
    with app.app_context():
        before = db.session.scalar(select(func.max(OutboxMessage.id)))
    attacker.post(
        f"/cases/{case_id}/steps/terminate",
        data={"csrf_token": token, "reason": "party_unwilling", "confirm": "1"},
    )
    with app.app_context():
        assert db.session.get(Case, case_id).status == "terminated"
        told = db.session.scalars(
            select(OutboxMessage.body).where(
                OutboxMessage.recipient == VICTIM_E164, OutboxMessage.id > before
            )
        ).all()
    # Told that the agent acted in their name (and, beside it, that mediation ended).
    assert any("代理人" in body and "坏人" in body for body in told), told
    assert any("调解已终止" in body for body in told), told


def answer(response, number: str) -> tuple:
    """What a response tells whoever sent it: its status, where it leads and what it says,
    the number typed, the draft case's id and the form's one-time values set aside."""
    full = number if number.startswith("+") else f"+86{number}"
    said = response.get_data(as_text=True)
    for shown in (full, number, mask_phone(full)):
        said = said.replace(shown, "NUMBER")
    said = re.sub(r"/cases/\d+/", "/cases/ID/", said)
    said = re.sub(r'name="csrf_token"[^>]*', "", said)
    said = re.sub(r'value="[0-9a-f.-]{20,}"', "", said)
    return response.status_code, response.headers.get("Location"), said


def test_item_3_no_other_door_tells_whose_a_number_is(app, world):
    """The reviewer's oracles: a blank name with the number typed, a reset followed by a
    registration, and the timeline once the named person entered by their link."""
    judge_phone = world["judge"][0]
    attacker = logged_in(app, world["attacker"])
    app.config.update(CODE_INTERVAL_SECONDS=60)
    try:
        answers = []
        for number in (judge_phone, "13855550000"):  # taken, free
            blank = post_form(
                attacker,
                "/cases/new",
                {**DISPUTE, "as_agent": "y", "principal_name": " ", "principal_phone": number},
            )
            stranger = app.test_client()
            post_form(stranger, "/password/forgot", {"identifier": number})
            registered = post_form(stranger, "/register", {"phone": number})
            # ...and the page it leads to, with what it was told to say there.
            confirm = stranger.get(registered.headers["Location"])
            answers.append([answer(response, number) for response in (blank, registered, confirm)])
        assert answers[0] == answers[1]
    finally:
        app.config.update(CODE_INTERVAL_SECONDS=0)


def test_item_3_the_timeline_names_a_party_as_named_until_they_answer(app, world):
    applicant = logged_in(app, world["applicant"])
    case_id = new_case(applicant)
    judge_phone, judge_name, _ = world["judge"]
    with app.app_context():
        # The number is someone's with a real account; they enter by their link.
        owner = db.session.scalar(select(User).where(User.phone == judge_phone))
        owner_id = owner.id
    name_respondent(applicant, case_id, judge_phone, name="对方")
    post_form(applicant, f"/cases/{case_id}/intake/submit", SUBMIT)
    with app.app_context():
        from mediation.journal import operations as journal

        journal.append(case_id, "party.entered", {"user_id": owner_id}, actor_id=owner_id)
        db.session.commit()
    page = applicant.get(f"/cases/{case_id}").get_data(as_text=True)
    assert judge_name not in page
    assert "对方" in page


def test_item_1_a_name_that_differs_from_the_account_is_shown_to_the_mediator(app, world):
    """A case names a number whose account is in another name: the platform attaches the
    number's account but decides nothing; the mediator is told of the difference, to check
    on camera, and the applicant still sees only the name they typed."""
    from mediation.cases import assignment

    judge_phone, judge_name, _ = world["judge"]
    applicant = logged_in(app, world["applicant"])
    case_id = new_case(applicant)
    assert name_respondent(applicant, case_id, judge_phone, name="赵六").status_code == 302
    assert post_form(applicant, f"/cases/{case_id}/intake/submit", SUBMIT).status_code == 302
    with app.app_context():
        case = db.session.get(Case, case_id)
        mediator = db.session.scalar(select(User).where(User.institution_id.is_not(None)))
        if case.mediator_id is None:
            assignment.assign(
                case, institution=mediator.institution, mediator=mediator, how="chosen", by=None
            )
        mediator_phone = db.session.get(User, case.mediator_id).phone
        db.session.commit()
    shown = logged_in(app, mediator_phone).get(f"/cases/{case_id}").get_data(as_text=True)
    assert f"申请中填写的姓名为赵六，但该号码的账户登记姓名为{judge_name}" in shown
    page = applicant.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "赵六" in page and judge_name not in page and "请在视频中核实" not in page
