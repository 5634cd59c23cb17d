"""The court API under attack (issue #17): a flood of requests meets the rate limits, wrong
tokens stop after a few, hostile JSON and oversized bodies are refused in JSON, and none of
it changes an application."""

from __future__ import annotations

import pytest
from limits import parse

from mediation.config import Config
from mediation.court.openapi_shapes import MAX_BODY
from mediation.extensions import limiter

from .test_api import bearer, submitted
from .test_api_decision import base, status_of


def per_day(setting: str) -> str:
    """The configured number of requests, over a day instead of its window: the count is
    what is tested, not how fast the machine sends them."""
    return f"{parse(getattr(Config, setting)).amount} per day"


@pytest.fixture
def limits(app):
    kept = {k: app.config[k] for k in app.config if k.startswith("COURT_API_")}
    for key in kept:
        app.config[key] = per_day(key)
    limiter.reset()
    yield {key: parse(getattr(Config, key)).amount for key in kept}
    app.config.update(kept)
    limiter.reset()


def test_ten_thousand_requests_meet_the_token_s_limit(app, client, limits):
    ids = submitted(app)
    answers: dict[int, int] = {}
    waits = set()
    paths = ["/api/court/v1/applications", base(ids), f"{base(ids)}/material-requests"]
    for n in range(10_000):
        # Any endpoint: the limit is the token's over the whole API.
        response = client.get(paths[n % 3], headers=bearer(ids["token"]))
        answers[response.status_code] = answers.get(response.status_code, 0) + 1
        if response.status_code == 429:
            waits.add(response.headers["Retry-After"])
    allowed = limits["COURT_API_LIMIT"]
    assert answers == {200: allowed, 429: 10_000 - allowed}
    assert all(wait.isdigit() and int(wait) > 0 for wait in waits)
    refused = client.get("/api/court/v1/applications", headers=bearer(ids["token"]))
    assert refused.is_json and refused.get_json()["error"] == "too_many_requests"
    # The limit is the token's: another court's system is not held up by this one.
    other = client.get("/api/court/v1/applications", headers=bearer(ids["other_token"]))
    assert other.status_code == 200


def test_the_package_has_its_own_tighter_limit(app, client, limits):
    ids = submitted(app)
    path = f"{base(ids)}/package"
    allowed = limits["COURT_API_PACKAGE_LIMIT"]
    assert allowed < limits["COURT_API_LIMIT"]
    for n in range(allowed):
        assert client.get(path, headers=bearer(ids["token"])).status_code == 200, n
    assert client.get(path, headers=bearer(ids["token"])).status_code == 429
    assert client.get(base(ids), headers=bearer(ids["token"])).status_code == 200


def test_the_signed_decision_has_its_own_limit(app, client, limits):
    """Each upload (up to 10 MiB) is parsed and validated: a tighter limit, per token, and
    the refusals name their rule as every other step's do."""
    ids = submitted(app)
    path = f"{base(ids)}/ruling/signed-decision"
    pdf = {**bearer(ids["token"]), "Content-Type": "application/pdf"}
    allowed = limits["COURT_API_SIGNED_LIMIT"]
    assert allowed < limits["COURT_API_PACKAGE_LIMIT"]
    for n in range(allowed):
        refused = client.post(path, data=b"%PDF-1.7 not signed", headers=pdf)
        assert refused.status_code == 409, n
        assert refused.get_json()["error"] == "not_accepted"
    assert client.post(path, data=b"%PDF-1.7 not signed", headers=pdf).status_code == 429
    assert client.get(base(ids), headers=bearer(ids["token"])).status_code == 200
    assert status_of(app, ids)[0] == "submitted"


def test_trying_tokens_stops_after_a_few(app, client, limits):
    ids = submitted(app)
    allowed = limits["COURT_API_FAILURE_LIMIT"]
    for n in range(allowed):
        forged = client.get("/api/court/v1/applications", headers=bearer(f"mct_guess{n}"))
        assert forged.status_code == 401, n
    for n in range(100):
        forged = client.get(f"{base(ids)}/decision", headers=bearer(f"mct_more{n}"))
        assert forged.status_code == 429 and forged.get_json()["error"] == "too_many_requests"
    # The limit is the address's: from there even a good token waits until it ends.
    assert client.get(base(ids), headers=bearer(ids["token"])).status_code == 429


def test_answers_within_the_limit_do_not_count_as_failures(app, client, limits):
    ids = submitted(app)
    for _ in range(limits["COURT_API_FAILURE_LIMIT"] * 2):
        assert client.get(base(ids), headers=bearer(ids["token"])).status_code == 200
        assert client.get(f"{base(ids)}/decision", headers=bearer(ids["token"])).status_code == 409


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("material-requests", '{"text": "a\\u0000b", "days": 5}'),
        ("material-requests", '{"text": "\\ud800", "days": 5}'),
        ("material-requests", '{"text": "请提供", "days": 5, "\\udfff": 1}'),
        ("material-requests", '["text", "days"]'),
        ("material-requests", '"请提供"'),
        ("material-requests", "5"),
        ("material-requests", "null"),
        ("material-requests", '{"text": "请提供", "days": 5'),
        ("extension", '{"reasons": "a\\u0000b"}'),
        ("extension", "[" * 60_000 + "]" * 60_000),
        ("extension", '{"reasons": "\\udbff\\udbff"}'),
    ],
)
def test_hostile_json_is_a_json_400_and_changes_nothing(app, client, path, body):
    ids = submitted(app)
    client.post(f"{base(ids)}/acceptance", json={"accept": True}, headers=bearer(ids["token"]))
    before = status_of(app, ids)
    headers = {**bearer(ids["token"]), "Content-Type": "application/json"}
    refused = client.post(f"{base(ids)}/{path}", data=body, headers=headers)
    assert refused.status_code == 400 and refused.is_json
    assert refused.get_json()["error"] == "bad_request"
    assert status_of(app, ids) == before


def test_a_body_that_is_not_json_is_a_400(app, client):
    ids = submitted(app)
    for path in ("material-requests", "extension"):
        form = client.post(
            f"{base(ids)}/{path}", data={"reasons": "x"}, headers=bearer(ids["token"])
        )
        assert form.status_code == 400 and form.get_json()["error"] == "bad_request"


def test_an_oversized_body_is_a_413_before_it_is_read(app, client):
    ids = submitted(app)
    headers = {**bearer(ids["token"]), "Content-Type": "application/json"}
    padding = "x" * MAX_BODY
    for path in ("material-requests", "extension", "acceptance"):
        body = '{"reasons": "' + padding + '"}'
        refused = client.post(f"{base(ids)}/{path}", data=body, headers=headers)
        assert refused.status_code == 413 and refused.is_json, path
        assert refused.get_json()["error"] == "request_entity_too_large"
    # 5,000 characters, each escaped as a surrogate pair (12 bytes), still fit.
    widest = '{"text": "' + "\\ud83d\\ude00" * 5_000 + '", "days": 5}'
    assert len(widest) < MAX_BODY
    asked = client.post(f"{base(ids)}/material-requests", data=widest, headers=headers)
    assert asked.status_code == 201
    assert status_of(app, ids)[3] == 1
