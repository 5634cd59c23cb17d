"""The court API: a token stands for one court; the full path to a ruling; the OpenAPI
document validates and schemathesis finds no server error in it."""

from __future__ import annotations

import io
import re
import zipfile

from mediation.court import api as court_api
from mediation.court.models import ApplicationStatus
from mediation.extensions import db

from .conftest import apply_jointly, in_force


def submitted(app) -> dict:
    with app.app_context():
        world = in_force()
        application = apply_jointly(world)
        ids = {
            "application": application.id,
            "token": court_api.new_token(world.court, "test"),
            "other_token": court_api.new_token(world.other_court, "test"),
            "case": world.case.id,
        }
        db.session.commit()
        return ids


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_the_court_accepts_and_confirms_through_the_api(app, client):
    ids = submitted(app)
    auth = bearer(ids["token"])
    listed = client.get("/api/court/v1/applications", headers=auth).get_json()
    assert [a["id"] for a in listed["applications"]] == [ids["application"]]
    path = f"/api/court/v1/applications/{ids['application']}"
    assert client.get(path, headers=auth).get_json()["status"] == "submitted"
    package = client.get(f"{path}/package", headers=auth)
    assert package.status_code == 200 and package.mimetype == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(package.data)).namelist()
    assert {"agreement.pdf", "application.pdf", "journal.json", "manifest.json"} <= set(names)

    accepted = client.post(f"{path}/acceptance", json={"accept": True}, headers=auth)
    assert accepted.status_code == 200
    # The current form, with the province's character (SPC provisions on case numbers).
    assert re.fullmatch(r"（\d{4}）苏0102民特\d+号", accepted.get_json()["court_case_number"])
    again = client.post(f"{path}/acceptance", json={"accept": True}, headers=auth)
    assert again.status_code == 409
    bad = client.post(f"{path}/ruling", json={"confirmed": "yes"}, headers=auth)
    assert bad.status_code == 422
    ruled = client.post(f"{path}/ruling", json={"confirmed": True}, headers=auth)
    assert ruled.status_code == 200
    body = ruled.get_json()
    assert body["status"] == ApplicationStatus.confirmed and body["decision_sha256"]
    with app.app_context():
        from mediation.cases.models import Case

        assert db.session.get(Case, ids["case"]).status == "confirmed"


def test_a_token_sees_only_its_own_court(app, client):
    ids = submitted(app)
    other = bearer(ids["other_token"])
    assert client.get("/api/court/v1/applications", headers=other).get_json() == {
        "applications": []
    }
    path = f"/api/court/v1/applications/{ids['application']}"
    assert client.get(path, headers=other).status_code == 404
    assert client.get(f"{path}/package", headers=other).status_code == 404
    refused = client.post(f"{path}/acceptance", json={"accept": True}, headers=other)
    assert refused.status_code == 404
    assert client.get("/api/court/v1/applications").status_code == 401
    assert client.get("/api/court/v1/applications", headers=bearer("mct_forged")).status_code == 401


def test_the_openapi_document_validates(client):
    from openapi_spec_validator import validate

    document = client.get("/api/court/v1/openapi.json").get_json()
    validate(document)
    assert set(document["paths"]) >= {
        "/applications",
        "/applications/{application_id}",
        "/applications/{application_id}/package",
        "/applications/{application_id}/acceptance",
        "/applications/{application_id}/ruling",
    }


def test_a_revoked_token_stops_working(app, client, runner):
    ids = submitted(app)
    assert client.get("/api/court/v1/applications", headers=bearer(ids["token"])).status_code == 200
    with app.app_context():
        from mediation.court.models import Application

        court_name = db.session.get(Application, ids["application"]).court.name
    revoked = runner.invoke(args=["court", "revoke", court_name])
    assert revoked.exit_code == 0 and "1 token(s) revoked" in revoked.output
    assert client.get("/api/court/v1/applications", headers=bearer(ids["token"])).status_code == 401


def test_errors_outside_the_routes_are_json_with_their_headers(app, client):
    """404 and 405 that no view answers, and a 401, speak the API's JSON (issue #15)."""
    ids = submitted(app)
    auth = bearer(ids["token"])
    for path in ("/api/court/v1/nothing-here", "/api/court/v1/applications/0"):
        missing = client.get(path, headers=auth)
        assert missing.status_code == 404 and missing.is_json
        assert missing.get_json()["error"] == "not_found"
    wrong = client.delete("/api/court/v1/applications", headers=auth)
    assert wrong.status_code == 405 and wrong.is_json
    assert set(wrong.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "HEAD"}
    bare = client.get("/api/court/v1/applications")
    assert bare.status_code == 401 and bare.headers["WWW-Authenticate"].startswith("Bearer ")
    forged = client.get("/api/court/v1/applications", headers=bearer("mct_forged"))
    assert 'error="invalid_token"' in forged.headers["WWW-Authenticate"]


def test_hostile_json_is_refused_with_a_json_400(app, client):
    """A lone surrogate or a NUL cannot be stored (PostgreSQL, the journal, the PDF): 400,
    not a traceback; a body nested past the decoder's depth too (issue #15)."""
    ids = submitted(app)
    auth = {**bearer(ids["token"]), "Content-Type": "application/json"}
    path = f"/api/court/v1/applications/{ids['application']}/acceptance"
    for body in (
        '{"accept": false, "ground": "not_court_matter", "reasons": "\\ud800"}',
        '{"accept": false, "ground": "not_court_matter", "reasons": "a\\u0000b"}',
        '{"accept": true, "\\udfff": 1}',
        # Deep, yet within the API's body size (a larger body is a 413: see test_api_attacks).
        "[" * 60_000 + "]" * 60_000,
    ):
        refused = client.post(path, data=body, headers=auth)
        assert refused.status_code == 400, body[:60]
        assert refused.is_json and refused.get_json()["error"] == "bad_request"
    assert client.get(path.rsplit("/", 1)[0], headers=auth).get_json()["status"] == "submitted"


def test_a_misspelt_field_is_refused_not_ignored(app, client):
    ids = submitted(app)
    path = f"/api/court/v1/applications/{ids['application']}/acceptance"
    refused = client.post(
        path, json={"accept": False, "grond": "not_court_matter"}, headers=bearer(ids["token"])
    )
    assert refused.status_code == 422 and "grond" in refused.get_json()["message"]


def test_a_request_for_materials_retried_is_the_same_request(app, client):
    """A retry after a lost answer asked the parties a second time; the same text and days
    while the last request is unanswered is now that request, 200 with its Location."""
    from mediation.court.models import SupplementRequest

    ids = submitted(app)
    auth = bearer(ids["token"])
    path = f"/api/court/v1/applications/{ids['application']}"
    assert client.post(f"{path}/acceptance", json={"accept": True}, headers=auth).status_code == 200
    ask = {"text": "请提供借条原件", "days": 5}
    first = client.post(f"{path}/material-requests", json=ask, headers=auth)
    assert first.status_code == 201
    again = client.post(f"{path}/material-requests", json=ask, headers=auth)
    assert again.status_code == 200
    assert again.headers["Location"] == first.headers["Location"]
    assert again.get_json() == first.get_json()
    # Another deadline is another request (20 days and 5 never end on the same day, holidays
    # or not: a period ending on a rest day runs to the next working day).
    other = client.post(f"{path}/material-requests", json=ask | {"days": 20}, headers=auth)
    assert other.status_code == 201 and other.headers["Location"] != first.headers["Location"]
    with app.app_context():
        assert db.session.query(SupplementRequest).count() == 2
