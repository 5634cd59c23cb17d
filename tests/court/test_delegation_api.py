"""The court API's delegations: a court's system delegates, follows and takes back the
result; another court's token sees nothing; hostile bodies are refused with the field named."""

import copy

from sqlalchemy import select

from mediation.accounts.models import Role, User
from mediation.cases import assignment, operations, respondent
from mediation.cases.states import Action, TerminationReason
from mediation.court import api as court_api
from mediation.court.models import Delegation
from mediation.extensions import db
from mediation.journal.models import JournalEntry
from tests.factories import make_court, make_institution, make_mediator, make_user, valid_id_number

BASE = "/api/court/v1/delegations"
BODY = {
    "reference": "（2026）苏0102民诉前调5号",
    "category": "neighbourhood",
    "title": "楼上漏水致损",
    "facts": "楼上卫生间漏水。",
    "applicants": [{"name": "李建国", "phone": "13911112222", "address": "南京市玄武区1号"}],
    "respondents": [{"name": "王小明", "phone": "13933334444"}],
    "claims": [{"text": "赔偿修复费用", "amount": "8000.00"}],
    "days": 30,
}


def courts(app) -> dict:
    with app.app_context():
        court, other = make_court(), make_court(name="另一人民法院")
        institution = make_institution()
        mediator = make_mediator(institution)
        ids = {
            "token": court_api.new_token(court, "test"),
            "other": court_api.new_token(other, "test"),
            "institution": institution.id,
            "mediator": mediator.id,
            "admin": make_user(Role.institution_admin, institution_id=institution.id).id,
        }
        db.session.commit()
        return ids


def auth(token):
    return {"Authorization": f"Bearer {token}"}


def test_delegate_follow_and_take_back_the_failure_record(app, client):
    ids = courts(app)
    body = {**BODY, "institution_id": ids["institution"]}
    made = client.post(BASE, json=body, headers=auth(ids["token"]))
    assert made.status_code == 201, made.get_json()
    delegation = made.get_json()
    assert delegation["status"] == "mediating" and delegation["case_status"] == "submitted"
    assert made.headers["Location"].endswith(f"{BASE}/{delegation['id']}")
    one = f"{BASE}/{delegation['id']}"
    assert (
        client.get(BASE, headers=auth(ids["token"])).get_json()["delegations"][0]["id"]
        == (delegation["id"])
    )
    # Another court's token: as if it did not exist.
    assert client.get(one, headers=auth(ids["other"])).status_code == 404
    assert client.get(BASE, headers=auth(ids["other"])).get_json() == {"delegations": []}
    assert client.get(one).status_code == 401
    # No record before mediation failed.
    early = client.get(f"{one}/failure-record", headers=auth(ids["token"]))
    assert early.status_code == 409 and early.get_json()["error"] == "no_failure_record"

    with app.app_context():
        case = db.session.get(Delegation, delegation["id"]).case
        mediator = db.session.get(User, ids["mediator"])
        assignment.give(case, mediator=mediator, by=db.session.get(User, ids["admin"]))
        assignment.accept(case, by=mediator)
        respondent.answer(
            case,
            by=case.party_users()[1],
            agree=True,
            consent=True,
            service_address="南京",
            service_confirmed=True,
            id_number=valid_id_number(91),
        )
        operations.take_step(
            case, Action.terminate, by=mediator, reason=TerminationReason.too_far_apart
        )
        operations.record_failure(case, by=mediator, situation="双方分歧大", reasons="金额差距大")
        db.session.commit()
    followed = client.get(one, headers=auth(ids["token"])).get_json()
    assert followed["status"] == "failed" and followed["failure_record"] is True
    record = client.get(f"{one}/failure-record", headers=auth(ids["token"]))
    assert record.status_code == 200 and record.data.startswith(b"%PDF")
    # Taken again: the same file, and the journal notes the court's taking once.
    again = client.get(f"{one}/failure-record", headers=auth(ids["token"]))
    assert again.status_code == 200 and again.data == record.data
    with app.app_context():
        taken = db.session.get(Delegation, delegation["id"])
        issued = db.session.scalars(
            select(JournalEntry.payload).where(
                JournalEntry.case_id == taken.case_id,
                JournalEntry.action == "failure.referral_issued",
            )
        ).all()
        assert [p["court_id"] for p in issued] == [taken.court_id]
    assert client.get(f"{one}/failure-record", headers=auth(ids["other"])).status_code == 404


def test_hostile_bodies_are_refused_and_nothing_is_stored(app, client):
    ids = courts(app)
    headers = auth(ids["token"])

    def changed(**fields):
        body = copy.deepcopy(BODY)
        body.update(fields)
        return body

    for body, status, word in (
        ([1, 2], 400, "bad_request"),
        (changed(extra=1), 422, "extra"),
        (changed(reference=""), 422, "reference"),
        (changed(reference=7), 422, "reference"),
        (changed(title="x\x00y"), 400, "bad_request"),  # core/hardening.py
        (changed(days=True), 422, "days"),
        (changed(days=0), 422, "days"),
        (changed(days="30"), 422, "days"),
        (changed(days=30.5), 422, "days"),
        (changed(applicants=[]), 422, "applicants"),
        (changed(applicants=[{"name": "李", "phone": "12345"}]), 422, "applicants"),
        (changed(applicants=[{"name": "李", "phone": "13911112222", "x": 1}]), 422, "applicants"),
        (changed(claims=[{"text": "赔", "amount": 8000}]), 422, "claims"),
        (changed(claims=[{"text": "赔", "amount": "1e999999"}]), 422, "claims"),
        (changed(claims=[{"text": "赔", "amount": "NaN"}]), 422, "claims"),
        (changed(category="no_such"), 422, "category"),
        (changed(respondents=[{"name": "李建国", "phone": "13911112222"}]), 409, "same_person"),
        (changed(institution_id=2_000_000), 409, "unknown_institution"),
        (changed(facts="长" * 10_001), 422, "facts"),
    ):
        answer = client.post(BASE, json=body, headers=headers)
        assert answer.status_code == status, (body, answer.get_json())
        assert word in answer.get_json()["error"] + answer.get_json()["message"]
    with app.app_context():
        assert db.session.query(Delegation).count() == 0
    # 30.0 is the whole number 30 in JSON.
    assert client.post(BASE, json={**BODY, "days": 30.0}, headers=headers).status_code == 201
    again = client.post(BASE, json=BODY, headers=headers)
    assert again.status_code == 409 and again.get_json()["error"] == "reference_taken"
    # The same reference from another court is that court's own.
    assert client.post(BASE, json=BODY, headers=auth(ids["other"])).status_code == 201


def test_the_court_designates_another_institution_after_a_decline(app, client):
    """SPC online mediation rules art 12 para 2, through the API: the delegation says when
    the institution chosen did not take the dispute on, and the court's system designates
    another; every wrong request is refused and changes nothing."""
    ids = courts(app)
    made = client.post(
        BASE,
        json={**BODY, "institution_id": ids["institution"]},
        headers=auth(ids["token"]),
    ).get_json()
    one = f"{BASE}/{made['id']}"
    designation = f"{one}/designation"
    with app.app_context():
        another = make_institution(name="梁溪区人民调解委员会").id
        db.session.commit()
    assert made["choice_lapsed_at"] is None
    # Before any lapse: the institution has its three working days.
    early = client.post(designation, json={"institution_id": another}, headers=auth(ids["token"]))
    assert early.status_code == 409 and early.get_json()["error"] == "not_lapsed"
    with app.app_context():
        case = db.session.get(Delegation, made["id"]).case
        assignment.decline(case, by=db.session.get(User, ids["admin"]), reason="不属于调解范围")
        db.session.commit()
    lapsed = client.get(one, headers=auth(ids["token"])).get_json()
    assert lapsed["choice_lapsed_at"] is not None and lapsed["case_status"] == "declined"
    for body, status, code in (
        ({"institution_id": another}, 404, "not_found"),  # another court's token below
        ([another], 400, "bad_request"),
        ({}, 422, "invalid"),
        ({"institution_id": "2"}, 422, "invalid"),
        ({"institution_id": True}, 422, "invalid"),
        ({"institution_id": 0}, 422, "invalid"),
        ({"institution_id": another, "why": "x"}, 422, "invalid"),
        ({"institution_id": 10**6}, 409, "unknown_institution"),
        ({"institution_id": ids["institution"]}, 409, "same_institution"),
    ):
        token = ids["other"] if status == 404 else ids["token"]
        answer = client.post(designation, json=body, headers=auth(token))
        assert answer.status_code == status and answer.get_json()["error"] == code, body
    assert client.get(one, headers=auth(ids["token"])).get_json()["institution"] != (
        "梁溪区人民调解委员会"
    )
    done = client.post(designation, json={"institution_id": another}, headers=auth(ids["token"]))
    assert done.status_code == 200, done.get_json()
    answer = done.get_json()
    assert answer["institution"] == "梁溪区人民调解委员会" and answer["choice_lapsed_at"] is None
    assert answer["case_status"] == "submitted"
    # Again (a retry after a lost answer): the designation made is what is said, not that
    # the institution has not lapsed (version 1.3.0).
    twice = client.post(designation, json={"institution_id": None}, headers=auth(ids["token"]))
    assert twice.status_code == 409 and twice.get_json()["error"] == "already_designated"
