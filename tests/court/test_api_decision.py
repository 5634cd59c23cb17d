"""The court API's decision, requests for materials and the one extension (issue #17): each
endpoint through its whole life, its error codes, and another court's or a revoked token."""

from __future__ import annotations

import hashlib
import io
import json
import threading
import zipfile
from datetime import timedelta

from pyhanko.pdf_utils.reader import PdfFileReader
from sqlalchemy import select

from mediation.agreements import credentials as agreement_credentials
from mediation.cases import clocks, workflow
from mediation.core.db import utcnow
from mediation.court import api as court_api
from mediation.court import application as applying
from mediation.court import bundle, examination, materials, package_verify
from mediation.court.models import Application
from mediation.extensions import db
from mediation.journal.models import JournalEntry

from .conftest import apply_jointly, in_force
from .test_api import bearer, submitted

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def base(ids: dict) -> str:
    return f"/api/court/v1/applications/{ids['application']}"


def accepted(app, client) -> dict:
    ids = submitted(app)
    accepting = client.post(f"{base(ids)}/acceptance", json={"accept": True}, **auth(ids))
    assert accepting.status_code == 200
    return ids


def auth(ids: dict, which: str = "token") -> dict:
    return {"headers": bearer(ids[which])}


def status_of(app, ids: dict) -> tuple:
    with app.app_context():
        a = db.session.get(Application, ids["application"])
        return a.status, a.ruling_due_at, a.extended_at, len(a.requests)


# -- the decision ---------------------------------------------------------------------------


def test_the_decision_is_409_until_the_ruling_then_the_signed_pdf(app, client):
    ids = submitted(app)
    path = f"{base(ids)}/decision"
    for step in ("submitted", "accepted"):
        early = client.get(path, **auth(ids))
        assert early.status_code == 409 and early.get_json()["error"] == "not_ruled", step
        client.post(f"{base(ids)}/acceptance", json={"accept": True}, **auth(ids))
    ruled = client.post(f"{base(ids)}/ruling", json={"confirmed": True}, **auth(ids))
    digest = ruled.get_json()["decision_sha256"]

    decision = client.get(path, **auth(ids))
    assert decision.status_code == 200 and decision.mimetype == "application/pdf"
    assert hashlib.sha256(decision.data).hexdigest() == digest
    assert decision.headers["ETag"] == f'"{digest}"'
    assert decision.headers["X-Content-Type-Options"] == "nosniff"
    assert PdfFileReader(io.BytesIO(decision.data)).embedded_signatures  # signed
    again = client.get(path, headers={**bearer(ids["token"]), "If-None-Match": f'"{digest}"'})
    assert again.status_code == 304 and again.data == b""


def test_a_refused_application_has_no_ruling_to_fetch(app, client):
    ids = submitted(app)
    refusal = {"accept": False, "ground": "not_court_matter", "reasons": "不属于法院受理范围"}
    assert client.post(f"{base(ids)}/acceptance", json=refusal, **auth(ids)).status_code == 200
    none = client.get(f"{base(ids)}/decision", **auth(ids))
    assert none.status_code == 409 and none.get_json()["error"] == "no_ruling"


def test_the_package_after_the_ruling_carries_it_and_names_the_application(app, client):
    ids = submitted(app)
    before = zipfile.ZipFile(io.BytesIO(client.get(f"{base(ids)}/package", **auth(ids)).data))
    manifest = json.loads(before.read("manifest.json"))
    assert "decision.pdf" not in before.namelist()
    assert manifest["format"] == "mediation-package/2"
    assert manifest["application"] == {
        "id": ids["application"],
        "court_case_number": None,
        "status": "submitted",
    }
    with app.app_context():
        application = db.session.get(Application, ids["application"])
        court, number = application.court, application.case.number
        assert manifest["court"] == {"id": court.id, "name": court.name}
        assert manifest["case"] == {"number": number}

    client.post(f"{base(ids)}/acceptance", json={"accept": True}, **auth(ids))
    ruled = client.post(f"{base(ids)}/ruling", json={"confirmed": True}, **auth(ids))
    decision = client.get(f"{base(ids)}/decision", **auth(ids)).data
    after = zipfile.ZipFile(io.BytesIO(client.get(f"{base(ids)}/package", **auth(ids)).data))
    assert after.read("decision.pdf") == decision
    manifest = json.loads(after.read("manifest.json"))
    assert manifest["application"] == {
        "id": ids["application"],
        "court_case_number": ruled.get_json()["court_case_number"],
        "status": "confirmed",
    }
    assert manifest["application"]["court_case_number"]
    listed = {f["name"]: f["sha256"] for f in manifest["files"]}
    assert listed["decision.pdf"] == hashlib.sha256(decision).hexdigest()
    # A new package, signed anew: its own manifest signature, and it holds as a whole.
    assert after.read("manifest.json.p7s") != before.read("manifest.json.p7s")
    with app.app_context():
        roots = agreement_credentials.authority().trust_roots
        data = client.get(f"{base(ids)}/package", **auth(ids)).data
        report = package_verify.verify(data, trust_roots=roots, extra=bundle.all_checks(roots))
        assert report.ok, package_verify.summarize(report)
        assert report.about["application"]["status"] == "confirmed"


# -- requests for materials -----------------------------------------------------------------


def test_a_request_for_materials_is_made_answered_and_listed(app, client):
    ids = submitted(app)
    path = f"{base(ids)}/material-requests"
    assert client.get(path, **auth(ids)).get_json() == {"requests": []}
    asked = client.post(path, json={"text": " 请提供房产证 ", "days": 5}, **auth(ids))
    assert asked.status_code == 201
    made = asked.get_json()
    assert made["text"] == "请提供房产证" and made["state"] == "open" and made["answers"] == []
    assert asked.headers["Location"].endswith(f"{path}/{made['id']}")
    with app.app_context():
        request = db.session.get(Application, ids["application"]).requests[0]
        assert request.due_at == clocks.period_end(request.requested_at, 5, workflow.zone())
        assert made["due_at"] == request.due_at.isoformat()

    with app.app_context():
        application = db.session.get(Application, ids["application"])
        applicant = application.case.party_users()[0]
        material = materials.add_material(
            application, "supplement", "房产证.pdf", PDF, by=applicant
        )
        db.session.commit()
        material_id = material.id
    one = client.get(f"{path}/{made['id']}", **auth(ids)).get_json()
    assert one["state"] == "answered" and one["answered_at"]
    (answer,) = one["answers"]
    assert answer["id"] == material_id and answer["sha256"] == hashlib.sha256(PDF).hexdigest()
    package = zipfile.ZipFile(io.BytesIO(client.get(f"{base(ids)}/package", **auth(ids)).data))
    assert package.read(answer["package_name"]) == PDF
    assert client.get(path, **auth(ids)).get_json()["requests"] == [one]
    assert client.get(f"{path}/{made['id'] + 1000}", **auth(ids)).status_code == 404


def test_a_request_past_its_period_is_overdue(app, client):
    ids = submitted(app)
    with app.app_context():
        application = db.session.get(Application, ids["application"])
        long_ago = utcnow() - timedelta(days=60)
        examination.request_materials(application, "请补充说明", 1, by=None, now=long_ago)
        db.session.commit()
    (listed,) = client.get(f"{base(ids)}/material-requests", **auth(ids)).get_json()["requests"]
    assert listed["state"] == "overdue" and listed["answered_at"] is None


def test_a_request_for_materials_follows_the_portal_s_rules(app, client):
    ids = submitted(app)
    path = f"{base(ids)}/material-requests"
    for body, field in (
        ({"text": "请提供", "days": 0}, "days"),
        ({"text": "请提供", "days": 31}, "days"),
        ({"text": "请提供", "days": "5"}, "days"),
        ({"text": "请提供", "days": True}, "days"),
        ({"text": "请提供", "days": 5.5}, "days"),
        ({"text": "请提供", "days": 10**40}, "days"),
        ({"text": "请提供"}, "days"),
        ({"days": 5}, "text"),
        ({"text": " \u3000\n\t", "days": 5}, "text"),
        ({"text": ["请提供"], "days": 5}, "text"),
        ({"text": "请" * 5001, "days": 5}, "text"),
        ({"text": "请提供", "days": 5, "due": "tomorrow"}, "due"),
    ):
        refused = client.post(path, json=body, **auth(ids))
        assert refused.status_code == 422, body
        assert refused.get_json()["error"] == "invalid"
        assert refused.get_json()["message"].startswith(f"{field}:"), body
    assert status_of(app, ids)[3] == 0
    # 5.0 is a whole number to JSON Schema, which the OpenAPI document follows.
    assert client.post(path, json={"text": "请提供", "days": 5.0}, **auth(ids)).status_code == 201

    client.post(f"{base(ids)}/acceptance", json={"accept": True}, **auth(ids))
    client.post(f"{base(ids)}/ruling", json={"confirmed": True}, **auth(ids))
    late = client.post(path, json={"text": "请提供", "days": 5}, **auth(ids))
    assert late.status_code == 409 and late.get_json()["error"] == "already_ruled"


def test_no_request_for_materials_after_a_withdrawal(app, client):
    with app.app_context():
        world = in_force()
        application = apply_jointly(world)
        applying.withdraw(application, by=world.case.party_users()[0])
        ids = {"application": application.id, "token": court_api.new_token(world.court)}
        db.session.commit()
    path = f"{base(ids)}/material-requests"
    refused = client.post(path, json={"text": "请提供", "days": 5}, **auth(ids))
    assert refused.status_code == 409 and refused.get_json()["error"] == "withdrawn"
    none = client.get(f"{base(ids)}/decision", **auth(ids))
    assert none.status_code == 409 and none.get_json()["error"] == "no_ruling"


# -- the one extension ----------------------------------------------------------------------


def test_the_time_to_rule_is_extended_once_with_reasons(app, client):
    ids = submitted(app)
    path = f"{base(ids)}/extension"
    early = client.post(path, json={"reasons": "案情复杂"}, **auth(ids))
    assert early.status_code == 409 and early.get_json()["error"] == "not_accepted"
    client.post(f"{base(ids)}/acceptance", json={"accept": True}, **auth(ids))
    _, due, _, _ = status_of(app, ids)
    for body in ({}, {"reasons": ""}, {"reasons": " \u3000"}, {"reasons": 1}, {"why": "x"}):
        refused = client.post(path, json=body, **auth(ids))
        assert refused.status_code == 422, body
    assert status_of(app, ids)[1:3] == (due, None)

    extended = client.post(path, json={"reasons": "案情复杂，经院长批准"}, **auth(ids))
    assert extended.status_code == 200
    body = extended.get_json()
    with app.app_context():
        application = db.session.get(Application, ids["application"])
        new_due = clocks.period_end(application.accepted_at, 25, workflow.zone())
        assert application.ruling_due_at == new_due
        assert body["ruling_due_at"] == new_due.isoformat() and body["extended_at"]
    # Repeating it (a retry after a lost answer, or a second attempt) changes nothing.
    for _ in range(3):
        again = client.post(path, json={"reasons": "案情复杂，经院长批准"}, **auth(ids))
        assert again.status_code == 409 and again.get_json()["error"] == "already_extended"
    assert status_of(app, ids)[1] == new_due
    with app.app_context():
        entries = db.session.scalars(
            select(JournalEntry).where(JournalEntry.action == "confirmation.extended")
        ).all()
        assert [(e.payload["reasons"], e.payload["via"]) for e in entries] == [
            ("案情复杂，经院长批准", "court API")
        ]


def test_no_extension_once_the_time_ran_out(app, client):
    ids = submitted(app)
    with app.app_context():
        application = db.session.get(Application, ids["application"])
        examination.accept(application, by=None, now=utcnow() - timedelta(days=40))
        db.session.commit()
    refused = client.post(f"{base(ids)}/extension", json={"reasons": "案情复杂"}, **auth(ids))
    assert refused.status_code == 409 and refused.get_json()["error"] == "time_ran_out"
    assert status_of(app, ids)[2] is None


def test_two_extensions_at_the_same_moment_make_one(app):
    """Two posts racing each other: the row lock of the application lets one through."""
    ids = submitted(app)
    client = app.test_client()
    client.post(f"{base(ids)}/acceptance", json={"accept": True}, **auth(ids))
    start = threading.Barrier(2)
    answers: list[int] = []

    def post() -> None:
        own = app.test_client()
        start.wait()
        answer = own.post(f"{base(ids)}/extension", json={"reasons": "案情复杂"}, **auth(ids))
        answers.append(answer.status_code)

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [200, 409]
    with app.app_context():
        extended = db.session.scalars(
            select(JournalEntry).where(JournalEntry.action == "confirmation.extended")
        ).all()
        assert len(extended) == 1


# -- who may ---------------------------------------------------------------------------------


def new_endpoints(ids: dict) -> list[tuple[str, str, dict | None]]:
    path = base(ids)
    return [
        ("GET", f"{path}/decision", None),
        ("GET", f"{path}/material-requests", None),
        ("GET", f"{path}/material-requests/{ids.get('request', 1)}", None),
        ("POST", f"{path}/material-requests", {"text": "请提供", "days": 5}),
        ("POST", f"{path}/extension", {"reasons": "案情复杂"}),
    ]


def ask(client, method: str, url: str, body, headers: dict):
    if method == "GET":
        return client.get(url, headers=headers)
    return client.post(url, json=body, headers=headers)


def test_another_court_s_token_finds_nothing_and_changes_nothing(app, client):
    ids = accepted(app, client)
    with app.app_context():
        application = db.session.get(Application, ids["application"])
        ids["request"] = examination.request_materials(application, "请提供", 5, by=None).id
        db.session.commit()
    before = status_of(app, ids)
    for method, url, body in new_endpoints(ids):
        answer = ask(client, method, url, body, bearer(ids["other_token"]))
        assert answer.status_code == 404, (method, url)
        assert answer.get_json()["error"] == "not_found"
    assert status_of(app, ids) == before


def test_a_revoked_or_missing_token_gets_401_everywhere(app, client):
    ids = accepted(app, client)
    with app.app_context():
        court_api.revoke_tokens(db.session.get(Application, ids["application"]).court)
        db.session.commit()
    before = status_of(app, ids)
    for method, url, body in new_endpoints(ids):
        for headers in (bearer(ids["token"]), {}, {"Authorization": "Basic eDp5"}):
            answer = ask(client, method, url, body, headers)
            assert answer.status_code == 401, (method, url, headers)
            assert answer.headers["WWW-Authenticate"].startswith("Bearer ")
    assert status_of(app, ids) == before
