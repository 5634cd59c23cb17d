"""The authorization matrix: every URL of the platform that names an object (an id or a
token) is asked for tenant B's object by everyone who should not reach it — each role of
tenant A (another institution, another court, other cases), tenant B's own people whose role
does not reach it, anonymous visitors, a court API token of the other court — with GET and
with POST (carrying a valid CSRF token, so the answer is about access, not the token). Each
must be refused (401, 403, 404, 410, or a redirect to the login page), never a 5xx, never a
page naming B's case, and the database must be exactly as it was.

The same table says who does reach the object; those roles are asked too (on tenant A's
mirror-image objects, so that what they change never touches tenant B's) and must get
through, so the table cannot drift into URLs that answer 404 to everyone.

A new URL rule with a parameter fails ``test_every_route_with_a_parameter_is_in_the_table``
until it gets an entry in the table, tests/security/matrix.py (or an exemption, with the
reason); that module also says which personal links are capabilities (``ANYONE``), for which
the check is that a visitor logged in as somebody else gets nothing of the case out of it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient

from mediation import create_app
from mediation.accounts.models import Role
from mediation.extensions import db, limiter
from tests.conftest import csrf_token, empty_database, login
from tests.factories import PASSWORD, make_user
from tests.security.matrix import (
    ANONYMOUS,
    ANYONE,
    API,
    EXEMPT,
    MATRIX,
    NOTHING_YET,
    PARTIES,
    PLATFORM,
    Entry,
    refused,
    rules_with_parameters,
)
from tests.security.world import TENANT_ROLES, Tenant, build_tenant


def test_every_route_with_a_parameter_is_in_the_table():
    app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    endpoints = set(rules_with_parameters(app))
    missing = endpoints - set(MATRIX) - set(EXEMPT)
    assert not missing, f"add these endpoints to MATRIX (or EXEMPT, with a reason): {missing}"
    stale = (set(MATRIX) | set(EXEMPT)) - endpoints
    assert not stale, f"no such endpoint with a parameter any more: {stale}"


# -- the world: two tenants, a client logged in for each person ---------------------------


@dataclass
class Matrix:
    app: Flask
    tenants: dict[str, Tenant]
    clients: dict[tuple[str, str], FlaskClient]  # (tenant or "", role) -> client
    tokens: dict[tuple[str, str], str]  # the client's CSRF token

    def url(self, endpoint: str, tenant: str) -> str:
        rule = next(r for r in rules_with_parameters(self.app)[endpoint])
        args = MATRIX[endpoint].args(self.tenants[tenant])
        with self.app.test_request_context():
            from flask import url_for

            return url_for(endpoint, **args, _external=False) if args else rule.rule

    def request(self, who: tuple[str, str], method: str, url: str, endpoint: str, tenant: str):
        client = self.clients[who]
        headers = {}
        if who[1] == API:
            headers["Authorization"] = f"Bearer {self.tenants[who[0]].ids['api_token']}"
        if method == "GET":
            return client.get(url, headers=headers)
        if url.startswith("/api/"):
            return client.post(url, json={}, headers=headers)
        form = MATRIX[endpoint].form
        data = {**(form(self.tenants[tenant]) if form else {}), "csrf_token": self.tokens[who]}
        return client.post(url, data=data, headers=headers)


@pytest.fixture(autouse=True)
def _clean_database():
    """The world is built once per backend (see ``matrix``), not emptied after each test."""
    yield


@pytest.fixture(scope="module")
def matrix(app: Flask, tmp_path_factory) -> Iterator[Matrix]:
    empty_database(app)
    with app.app_context():
        tenants = {name: build_tenant(app.config["STORAGE_DIR"]) for name in ("a", "b")}
        platform = make_user(Role.platform_admin).phone
        db.session.commit()
        db.session.remove()
    # Rate limits would answer 429 to a thousand requests from one address: they are tested
    # in their own tests, not here.
    limiter.enabled = False
    clients: dict[tuple[str, str], FlaskClient] = {}
    tokens: dict[tuple[str, str], str] = {}
    people = [
        *(
            (name, role, tenant.phones[role])
            for name, tenant in tenants.items()
            for role in TENANT_ROLES
        ),
        ("", PLATFORM, platform),
    ]
    for name, role, phone in people:
        client = app.test_client()
        assert login(client, phone, PASSWORD).status_code == 302, (name, role)
        clients[(name, role)] = client
        tokens[(name, role)] = csrf_token(client, "/account")
    for key in (("", ANONYMOUS), ("a", API), ("b", API)):
        clients[key] = app.test_client()
        tokens[key] = csrf_token(clients[key], "/login")
    try:
        yield Matrix(app, tenants, clients, tokens)
    finally:
        limiter.enabled = True
        empty_database(app)


# Bookkeeping a refused request may write: when a court's API token was last presented
# (it is the token's own record, and says nothing of the other court's applications).
BOOKKEEPING = {("court_api_tokens", "last_used_at")}


def snapshot(app: Flask) -> dict[str, object]:
    """Every row of every table: a refused request changes nothing at all."""
    with app.app_context(), db.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            # One round trip: a digest of each table's rows (the matrix asks ~1,000 times).
            digests = [
                f"(SELECT md5(coalesce(string_agg(r::text, '|' ORDER BY r::text), '')) "
                f"FROM (SELECT ROW({', '.join(map(_quoted, _kept(table)))}) AS r "
                f"FROM {_quoted(table.name)}) AS rows)"
                for table in db.metadata.sorted_tables
            ]
        else:
            digests = [
                f"(SELECT group_concat({_sqlite_row(table)}, '|') "
                f"FROM (SELECT * FROM {_quoted(table.name)} ORDER BY rowid))"
                for table in db.metadata.sorted_tables
            ]
        row = conn.exec_driver_sql(f"SELECT {', '.join(digests)}").one()
        return dict(zip((t.name for t in db.metadata.sorted_tables), row, strict=True))


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sqlite_row(table) -> str:
    return " || ',' || ".join(f"quote({_quoted(name)})" for name in _kept(table))


def _kept(table) -> list[str]:
    return [c.name for c in table.c if (table.name, c.name) not in BOOKKEEPING]


def outsiders(entry: Entry, method: str, endpoint: str) -> list[tuple[str, str]]:
    """Everyone who must not reach tenant B's object: all of tenant A, anonymous and the
    platform administrator unless allowed, and B's own people whose role is not allowed."""
    api = endpoint.startswith("court_api.")
    allowed = entry.who(method)
    roles = [*TENANT_ROLES, API] if api else list(TENANT_ROLES)
    found = [("a", role) for role in roles if entry.allowed is not ANYONE]
    found += [("b", role) for role in roles if role not in allowed]
    found += [("", who) for who in (ANONYMOUS, PLATFORM) if who not in allowed]
    return found


def methods_of(matrix: Matrix, endpoint: str) -> list[str]:
    methods = set()
    for rule in rules_with_parameters(matrix.app)[endpoint]:
        methods |= rule.methods & {"GET", "POST"}
    return sorted(methods)


@pytest.mark.parametrize("endpoint", sorted(MATRIX))
def test_another_tenant_s_object_is_refused(matrix: Matrix, endpoint: str):
    entry = MATRIX[endpoint]
    url = matrix.url(endpoint, "b")
    number = matrix.tenants["b"].ids["case_number"]
    problems = []
    for method in methods_of(matrix, endpoint):
        for who in outsiders(entry, method, endpoint):
            before = snapshot(matrix.app)
            response = matrix.request(who, method, url, endpoint, "b")
            after = snapshot(matrix.app)
            label = f"{method} {url} as {who}: {response.status_code}"
            if response.status_code >= 500:
                problems.append(f"{label} (server error)")
            elif not refused(response):
                problems.append(f"{label} (not refused)")
            elif number in response.get_data(as_text=True):
                problems.append(f"{label} (the refusal names B's case {number})")
            if before != after:
                changed = [name for name in before if before[name] != after[name]]
                problems.append(f"{label} changed {changed}")
    if entry.allowed is ANYONE:
        problems += _capability_stays_a_capability(matrix, endpoint, url)
    assert not problems, "\n".join(problems)


def _capability_stays_a_capability(matrix: Matrix, endpoint: str, url: str) -> list[str]:
    """A personal link of B's in the hands of A's people shows what it shows anyone, and
    A's accounts get nothing more of B's case from it."""
    problems = []
    case_url = f"/cases/{matrix.tenants['b'].ids['case']}"
    for role in TENANT_ROLES:
        for method in methods_of(matrix, endpoint):
            response = matrix.request(("a", role), method, url, endpoint, "b")
            if response.status_code >= 500:
                problems.append(f"{method} {url} as a.{role}: {response.status_code}")
        if matrix.clients[("a", role)].get(case_url).status_code != 404:
            problems.append(f"a.{role} reaches B's case after {endpoint}")
    return problems


def _probe_order(endpoint: str) -> tuple[bool, str]:
    return (MATRIX[endpoint].destructive, endpoint)


@pytest.mark.parametrize("endpoint", sorted(MATRIX, key=_probe_order))
def test_the_allowed_roles_get_through(matrix: Matrix, endpoint: str):
    """The table's honesty: whoever it allows does reach the object (tenant A's own, so
    that what a POST changes never touches tenant B's)."""
    entry = MATRIX[endpoint]
    url = matrix.url(endpoint, "a")
    problems = []
    for method in methods_of(matrix, endpoint):
        allowed = entry.who(method)
        if allowed is ANYONE:
            allowed = frozenset({ANONYMOUS})
        # The parties last: their steps (a withdrawal) would close the door to the others.
        for role in sorted(allowed, key=lambda role: (role in PARTIES, role)):
            who = ("", role) if role in (ANONYMOUS, PLATFORM) else ("a", role)
            response = matrix.request(who, method, url, endpoint, "a")
            status = response.status_code
            through = status < 400 or status in (400, 409, 413, 415, 422)
            if status == 403 and entry.business_403:
                through = True
            if endpoint in NOTHING_YET and status == 404:
                through = True  # see the entry: nothing ruled (or awaiting signature) yet
            if not through or (status in (302, 303) and refused(response)):
                problems.append(f"{method} {url} as {who}: {status} {response.location or ''}")
            elif entry.destructive:
                break  # the step is taken: it closes the door behind it (a withdrawal)
    assert not problems, "\n".join(problems)


def test_tokens_are_not_found_by_guessing_a_neighbour(matrix: Matrix):
    """A personal link with one character changed leads nowhere."""
    for name, path in (
        ("session_link", "/s/{}"),
        ("minutes_link", "/m/{}"),
        ("agreement_link", "/a/{}"),
        ("obligation_link", "/o/{}"),
        ("invitation", "/join/{}"),
        ("feed", "/booking/feed/{}.ics"),
    ):
        token = matrix.tenants["b"].ids[name]
        # Not the last character: in unpadded base64 its low bits may be padding.
        forged = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
        response = matrix.clients[("", ANONYMOUS)].get(path.format(forged))
        assert response.status_code == 404, (name, response.status_code)
    assert re.fullmatch(r"[\w-]+", matrix.tenants["b"].ids["api_token"])


# -- a separate session of one side (SPC online mediation rules art 16) -------------------


@pytest.mark.parametrize(
    ("who", "path"),
    [
        ("respondent", "/sessions/{side}/minutes"),
        ("respondent", "/sessions/{side}/review.mp4"),
        ("respondent", "/cases/{case}/journal.json"),
        ("respondent", "/cases/{case}/journal"),
        ("respondent", "/sessions/{side}.ics"),
        ("respondent", "/m/{side_minutes_link}"),
        ("respondent", "/recordings/{caucus_recording}.webm"),
        ("clerk", "/recordings/{caucus_recording}.webm"),
        ("judge", "/recordings/{caucus_recording}.webm"),
        ("admin", "/recordings/{caucus_recording}.webm"),
    ],
)
def test_one_side_s_session_stays_with_that_side(matrix: Matrix, who: str, path: str):
    """The applicant's side session and caucus, asked for by tenant B's own people who
    were not there: refused, or (for the case's pages) shown without what was said."""
    from tests.security.world import SIDE_SECRET

    url = path.format(**matrix.tenants["b"].ids)
    response = matrix.clients[("b", who)].get(url)
    assert response.status_code < 500
    if refused(response):
        return
    assert url.startswith("/cases/"), f"{url} as b.{who}: {response.status_code}"
    assert SIDE_SECRET not in response.get_data(as_text=True)
