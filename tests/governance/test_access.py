"""Region staff see aggregates and warnings, never a case (issue #21 item 4), on both
databases: every URL that names a case or anything of one (the authorization matrix's
table, tests/security/matrix.py) refuses a governance user whose region
holds the case; the figures are those of their own region only; the exports keep typed
text from running as a formula."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask, url_for

from mediation.accounts.models import Role
from mediation.extensions import db, limiter
from tests.conftest import csrf_token, empty_database, login
from tests.factories import PASSWORD, make_user
from tests.security.matrix import ANYONE, MATRIX, refused, rules_with_parameters
from tests.security.world import build_tenant

STREET = "320102001"
# A URL that is the secret itself, whoever is logged in (the matrix's module docstring):
# no account, a region's staff's included, can learn it.
SECRET_URLS = {"booking.feed"}


def region_staff(area: str):
    user = make_user(Role.governance)
    user.area_code = area
    return user


@pytest.fixture(autouse=True)
def _clean_database():
    """The world of the case walk is built once per backend, and emptied after it."""
    yield


@pytest.fixture(scope="module")
def world(app: Flask) -> Iterator[tuple]:
    empty_database(app)
    with app.app_context():
        tenant = build_tenant(app.config["STORAGE_DIR"])
        from mediation.cases.models import Case

        case = db.session.get(Case, tenant.ids["case"])
        case.institution.area_code = case.area_code = STREET
        staff = region_staff("32")
        db.session.commit()
        phone = staff.phone
        db.session.remove()
    limiter.enabled = False
    client = app.test_client()
    assert login(client, phone, PASSWORD).status_code == 302
    try:
        yield tenant, client, csrf_token(client, "/account")
    finally:
        limiter.enabled = True
        empty_database(app)


def test_region_staff_cannot_open_any_case_url(app: Flask, world):
    tenant, client, token = world
    number = tenant.ids["case_number"]
    problems = []
    rules = rules_with_parameters(app)
    for endpoint, entry in sorted(MATRIX.items()):
        if endpoint in SECRET_URLS:
            continue
        with app.test_request_context():
            url = url_for(endpoint, **entry.args(tenant))
        methods = set().union(*(r.methods for r in rules[endpoint])) & {"GET", "POST"}
        for method in sorted(methods):
            if method == "GET":
                response = client.get(url)
            else:
                response = client.post(url, data={"csrf_token": token})
            body = response.get_data(as_text=True)
            if response.status_code >= 500:
                problems.append(f"{method} {url}: server error")
            elif entry.allowed is ANYONE:
                # A personal link: its first page may answer, but nothing of the case.
                if number in body or "漏水" in body:
                    problems.append(f"{method} {url}: shows the case")
            elif not refused(response):
                problems.append(f"{method} {url}: {response.status_code}, not refused")
    assert not problems, "\n".join(problems)
    # The region overview itself is theirs.
    assert client.get("/governance/").status_code == 200
