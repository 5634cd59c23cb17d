"""No page of the platform can be framed by another (clickjacking, issue #15): every response
carries X-Frame-Options: DENY and a Content-Security-Policy with frame-ancestors 'none'; a
view's own policy (the sandbox uploaded files are served under) is kept."""

from __future__ import annotations

import pytest

from tests.security.hostile_world import ROLES, build, client_for, real_paths

FRAME_ANCESTORS = "frame-ancestors 'none'"


def _assert_unframeable(response, what: str) -> None:
    assert response.headers.get("X-Frame-Options") == "DENY", what
    assert response.headers.get("Referrer-Policy") == "same-origin", what
    assert response.headers.get("X-Content-Type-Options") == "nosniff", what
    policy = response.headers.get("Content-Security-Policy", "")
    assert FRAME_ANCESTORS in [p.strip() for p in policy.split(";")], (what, policy)


@pytest.fixture
def world(app):
    return build(app)


def test_every_page_of_every_role_refuses_to_be_framed(app, world):
    seen = 0
    for role in ROLES:
        client = client_for(app, world, role)
        for rule in app.url_map.iter_rules():
            if "GET" not in rule.methods or rule.endpoint == "static":
                continue
            for path in real_paths(app, world, rule):
                response = client.get(path)
                _assert_unframeable(response, f"{role} {path} {response.status_code}")
                seen += response.mimetype == "text/html" and response.status_code == 200
    assert seen > 50  # the roles did reach their pages, not only refusals


def test_the_logged_in_agreement_page_cannot_be_framed(app, world):
    client = client_for(app, world, "applicant")
    case_id = world.values["case_id"][0]
    page = client.get(f"/cases/{case_id}/agreement")
    assert page.status_code == 200 and page.mimetype == "text/html"
    _assert_unframeable(page, "agreement page")


def test_uploaded_files_keep_their_sandbox(app, world):
    client = client_for(app, world, "mediator")
    case_id = world.values["case_id"][1]
    evidence_id = world.values["evidence_id"][0]
    served = client.get(f"/cases/{case_id}/evidence/{evidence_id}")
    assert served.status_code == 200
    policy = served.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "sandbox" in policy
    _assert_unframeable(served, "evidence")


def test_error_pages_and_the_api_refuse_to_be_framed_too(client):
    _assert_unframeable(client.get("/no/such/page"), "404")
    _assert_unframeable(client.get("/api/court/v1/applications"), "API 401")
    _assert_unframeable(client.get("/healthz"), "health")
