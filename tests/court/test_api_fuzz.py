"""Schemathesis against the court API as its OpenAPI document describes it, with every check
it has (server errors, status codes, content types and headers the document declares,
response schemas, schema-valid bodies accepted and invalid ones refused, undeclared methods
answered 405 with Allow, requests without the token refused), in all its phases (coverage,
fuzzing, stateful). It must report nothing.

The API is served by a real HTTP server in a thread: schemathesis' in-process WSGI transport
(4.32) passes `max_redirects` to werkzeug's test client when it re-sends a request without
credentials (the `ignored_auth` check), which that client refuses."""

from __future__ import annotations

import re
import threading
from urllib.parse import urlsplit

import pytest

schemathesis = pytest.importorskip("schemathesis")

from schemathesis.config import SchemathesisConfig  # noqa: E402
from schemathesis.engine import Status, events, from_schema  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from .test_api import submitted  # noqa: E402

# The signed decision is posted as the PDF itself: bytes, sent as they are.
schemathesis.serializer.alias("application/pdf", "application/octet-stream")


@pytest.fixture
def served(app):
    # Schemathesis sends hundreds of requests, a good part without the token (401): the
    # rate limits (tests/court/test_api_attacks.py) would soon answer everything with 429.
    # The package keeps its own limit, so that 429 answers are checked against the document.
    kept = {key: app.config[key] for key in ("COURT_API_LIMIT", "COURT_API_FAILURE_LIMIT")}
    app.config.update(COURT_API_LIMIT="100000 per minute", COURT_API_FAILURE_LIMIT="100000/minute")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.port}"
    server.shutdown()
    thread.join()
    app.config.update(kept)


def test_schemathesis_with_every_check_reports_nothing(app, served):
    # A court's system talks to a production deployment: PostgreSQL. What the API does on
    # either database (conflicts, limits, states) has its own tests on both.
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("the API's document is walked once, on PostgreSQL as in production")
    ids = submitted(app)
    config = SchemathesisConfig.from_dict(
        {
            "headers": {"Authorization": f"Bearer {ids['token']}"},
            "generation": {"max-examples": 30},
            "seed": 15,
        }
    )
    schema = schemathesis.openapi.from_url(f"{served}/api/court/v1/openapi.json", config=config)
    failures, errors, statuses, phases, answered = [], [], [], {}, []
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            recorder = event.recorder
            statuses += [
                i.response.status_code for i in recorder.interactions.values() if i.response
            ]
            answered += [
                (
                    i.request.method,
                    re.sub(r"/\d+", "/N", urlsplit(i.request.uri).path),
                    i.response.status_code,
                )
                for i in recorder.interactions.values()
                if i.response
            ]
            for case_id, checks in recorder.checks.items():
                for check in checks:
                    if check.status == Status.FAILURE:
                        case = recorder.cases[case_id].value
                        failure = check.failure_info.failure if check.failure_info else None
                        failures.append(
                            (check.name, case.method, case.formatted_path, str(failure)[:500])
                        )
        elif isinstance(event, events.NonFatalError | events.FatalError):
            errors.append((event.label, repr(event.value)))
        elif isinstance(event, events.PhaseFinished):
            phases[event.phase.name.value] = event.status
    assert errors == []
    assert failures == []
    # It did exercise the API, in every phase that applies to it.
    assert {"coverage", "fuzzing", "stateful"} <= set(phases), phases
    # 201: a request for materials was made; 409: a step refused by the application's state.
    assert len(statuses) >= 100 and {200, 201, 401, 404, 405, 409, 422} <= set(statuses), set(
        statuses
    )
    # The delegations (issue #20) were walked too, each operation answered with success at
    # least once: a dispute delegated, listed, read back, and a record asked for.
    delegations = "/api/court/v1/delegations"
    assert {
        ("POST", delegations, 201),
        ("GET", delegations, 200),
        ("GET", f"{delegations}/N", 200),
    } <= set(answered), sorted({a for a in answered if "delegations" in a[1]})
    assert any(a[1] == f"{delegations}/N/failure-record" for a in answered)
