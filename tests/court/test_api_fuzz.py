"""Schemathesis against the court API as its OpenAPI document describes it: whatever it
sends, with a valid token or without, the server never answers with a server error."""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis")

from .test_api import submitted  # noqa: E402


def test_schemathesis_finds_no_server_error(app):
    from hypothesis import HealthCheck, given, settings

    ids = submitted(app)
    schema = schemathesis.openapi.from_wsgi("/api/court/v1/openapi.json", app)
    failures, statuses = [], []
    for operation in schema.get_all_operations():
        operation = operation.ok()

        @settings(
            max_examples=25,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def run(case):
            response = case.call(headers={"Authorization": f"Bearer {ids['token']}"})
            statuses.append(response.status_code)
            if response.status_code >= 500:
                failures.append((case.method, case.formatted_path, response.status_code))

        run()
    assert failures == []
    assert len(statuses) >= 50 and 200 in statuses  # it did exercise the API
