"""Hostile input on every route: as each role and anonymous, every rule of ``app.url_map``
is sent hostile query values, form fields (the fields of the forms the role's pages carry,
with a valid CSRF token, so the views' own logic runs), upload names, URL parts and JSON
bodies. No answer may be a server error or an exception (issue #15, item 7: lone
surrogates, NUL, numbers past the database's range, dates past the calendar's).

A seeded generator: the same requests every run; a failure names the request to replay."""

from __future__ import annotations

import io
import logging
import random
import re
from urllib.parse import urlencode

import pytest
from werkzeug.routing import Rule

from mediation.extensions import limiter
from tests.security.hostile_world import (
    ROLES,
    World,
    build,
    client_for,
    csrf_of,
    forms_on,
    png,
    real_paths,
)
from tests.signaling import conftest as signaling
from tests.signaling.test_rooms import NS, drain, events

# Values no honest form sends. Lone surrogates cannot be form-encoded (werkzeug keeps such
# bytes percent-encoded), so they come as raw query strings and in JSON bodies below.
# Each field a role can reach gets every one of these ...
ALWAYS = [
    "\x00",
    "a\x00b",
    str(10**20),
    "-" + str(10**20),
    "999999999",
    "2147483647",
    "2147483648",
    "-2147483649",
    "9999-12-31",
    "99999-01-01T00:00",
    "9" * 5000,
    "A" * 20_000,
]
# ... and a seeded sample of these.
SAMPLED = 3
HOSTILE = [
    *ALWAYS,
    "-1",
    "0",
    "1e309",
    "nan",
    "",
    " ",
    "' OR 1=1 --",
    "<script>alert(1)</script>",
    "\u202egpj.exe",
    "../../etc/passwd",
    "0001-01-01",
    "2026-02-30",
    "9999-12-31T23:59",
    "25:61",
    "１２３",
    "[]",
    "true",
    "\r\n",
    "𠮷" * 50,
]
# Names read from the query string somewhere, besides those of the pages' GET forms.
QUERY_NAMES = [
    "page",
    "due",
    "sort",
    "status",
    "category",
    "party",
    "next",
    "lang",
    "week",
    "start",
    "date",
    "day",
    "bytes",
    "download",
    "mediator_id",
    "days",
    "version",
    "token",
    "id",
]
RAW_QUERIES = ["page=%ED%A0%80&due=%00", "page=%F0%28%8C%28&week=%C0%AF", "a=%ff%fe%fd&next=%00"]
JSON_BODIES = [
    '{"text": "\\ud800", "reasons": "\\udfff"}',
    '{"\\ud800": [1, {"a": "\\u0000"}]}',
    "[" * 50_000 + "]" * 50_000,
    '{"page": 100000000000000000000000}',
]
# The room's fixtures: a session in progress, and Socket.IO clients in it.
room, connect = signaling.room, signaling.connect
UPLOADS = [b"", png(), b"%PDF-1.4\n%\xe2\xe3\n1 0 obj\n<<>>\nendobj\n", b"\x00" * 64]
UPLOAD_NAMES = ["\u202egpj.exe.png", "../../x.pdf", "a\x00b.png", "", "x" * 1000 + ".pdf"]
# /logout would end the role's session halfway through its turn; its own tests cover it.
SKIPPED = {"static", "accounts.logout"}


def _methods(rule: Rule) -> list[str]:
    return sorted(rule.methods - {"HEAD", "OPTIONS"})


def _paths(app, world: World, rule: Rule, rng: random.Random, *, hostile: bool) -> list[str]:
    """The rule built with real values, and (hostile) with a hostile value in each string part."""
    adapter = app.url_map.bind("mediation.test")
    real = {arg: world.values.get(arg, ["1"])[0] for arg in rule.arguments}
    paths = real_paths(app, world, rule)
    if hostile:
        for arg, converter in rule._converters.items():
            if type(converter).__name__ in ("UnicodeConverter", "PathConverter"):
                for value in rng.sample(HOSTILE, 2):
                    if value and "/" not in value:
                        paths.append(adapter.build(rule.endpoint, {**real, arg: value}))
    return list(dict.fromkeys(paths))


def _crawl(client, app, world, rules, rng):
    """GET every GET route with real values: the forms on the pages, by action; the pages
    the role may see (200, HTML); a CSRF token of the role's session."""
    forms: dict[str, list] = {}
    pages: set[str] = set()
    token = None
    for rule in rules:
        if "GET" not in rule.methods:
            continue
        for path in _paths(app, world, rule, rng, hostile=False):
            response = client.get(path)
            if response.mimetype != "text/html":
                continue
            if response.status_code == 200:
                pages.add(path)
            html = response.get_data(as_text=True)
            token = token or csrf_of(html)
            for form in forms_on(path, html):
                forms.setdefault(form.action, []).append(form)
    return forms, pages, token


# What a browser would send for a field of this type: with these, validation passes the
# other fields and the hostile one reaches the view's logic.
PLAUSIBLE = {
    "number": "1",
    "date": "2026-12-21",
    "time": "10:00",
    "datetime-local": "2026-12-21T10:00",
    "email": "a@example.cn",
    "tel": "13800138000",
    "checkbox": "y",
    "hidden": "1",
}


def _fields(forms) -> tuple[dict[str, str], dict[str, list[str]]]:
    fields: dict[str, str] = {}
    options: dict[str, list[str]] = {}
    for form in forms:
        fields.update(form.fields)
        for name, values in form.options.items():
            options.setdefault(name, []).extend(values)
    return fields or {name: "text" for name in QUERY_NAMES}, options


def _form_data(rng, forms, token, hostile: str, *, mixed: bool) -> dict:
    """Every field hostile, or (mixed) each field either hostile or what a browser sends."""
    fields, options = _fields(forms)
    data: dict = {}
    for name, kind in fields.items():
        if name == "csrf_token":
            continue
        if kind == "file":
            data[name] = (io.BytesIO(rng.choice(UPLOADS)), rng.choice(UPLOAD_NAMES))
        elif mixed and rng.random() < 0.6:
            data[name] = rng.choice(options.get(name) or [PLAUSIBLE.get(kind, "测试")])
        else:
            data[name] = hostile
    if token:
        data["csrf_token"] = token
    return data


def _query(forms, hostile: str) -> str:
    names = set(QUERY_NAMES)
    for form in forms:
        names |= set(form.fields)
    return urlencode({name: hostile for name in sorted(names)})


def _send(client, method: str, path: str, **kwargs) -> int | str:
    """The status, or what went wrong."""
    try:
        response = client.open(path, method=method, **kwargs)
    except Exception as error:  # the exception a 500 would have been
        return f"{type(error).__name__}: {str(error)[:200]}"
    if response.status_code >= 500:
        return f"HTTP {response.status_code}"
    return response.status_code


def _short(data) -> str:
    if isinstance(data, dict):
        data = {k: (v[1] if isinstance(v, tuple) else v) for k, v in data.items()}
    return re.sub(r"(.)\1{20,}", r"\1…", repr(data))[:300]


@pytest.fixture
def no_rate_limits():
    """Ten thousand requests from one address: the rate limits (the court API's count of
    answers 401 per address among them) would answer most with 429, and the views would not
    be reached. The limits have their own tests."""
    limiter.enabled = False
    yield
    limiter.enabled = True


@pytest.mark.parametrize("seed", [15])
def test_no_route_answers_hostile_input_with_a_server_error(app, seed, no_rate_limits):
    world = build(app)
    rng = random.Random(seed)
    rules = sorted(
        (r for r in app.url_map.iter_rules() if r.endpoint not in SKIPPED), key=lambda r: r.rule
    )
    clients = {role: client_for(app, world, role) for role in ROLES}
    # What differs between the databases is how each takes a value the views pass on
    # (numbers past its range, NUL, dates past its calendar): ALWAYS, with the other fields
    # as a browser sends them (mixed). The views' own refusals of the other hostile values,
    # and of forms wholly hostile, do not depend on the database: on SQLite only, so that
    # the suite keeps its time (the PostgreSQL run was the suite's slowest test).
    everything = app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")
    failures: list[str] = []
    sent = 0
    reached: set[str] = set()
    for role, client in clients.items():
        forms, pages, token = _crawl(client, app, world, rules, rng)
        for rule in rules:
            for method in _methods(rule):
                for path in _paths(app, world, rule, rng, hostile=True):
                    targets = [f for f in forms.get(path, []) if f.method == method]
                    # Every hostile value where the role has a page or a form; a sample of
                    # them where it is refused anyway.
                    deep = path in pages if method == "GET" else bool(targets)
                    others = rng.sample(HOSTILE[len(ALWAYS) :], SAMPLED) if everything else []
                    values = [*ALWAYS, *others] if deep else rng.sample(HOSTILE, 1)
                    attempts = [(f"{path}?{rng.choice(RAW_QUERIES)}", {})]
                    for hostile in values:
                        if method == "GET":
                            gets = [f for f in forms.get(path, []) if f.method == "GET"]
                            attempts.append((f"{path}?{_query(gets, hostile)}", {}))
                            continue
                        for mixed in (False, True) if deep and everything else (True,):
                            data = _form_data(rng, targets, token, hostile, mixed=mixed)
                            attempts.append((path, {"data": data}))
                    if method != "GET":
                        body = rng.choice(JSON_BODIES)
                        attempts.append((path, {"data": body, "content_type": "application/json"}))
                    if path.startswith("/api/") and role in ("clerk", "judge"):
                        bearer = {"Authorization": f"Bearer {world.api_token}"}
                        attempts = [(u, {**k, "headers": bearer}) for u, k in attempts]
                    for url, kwargs in attempts:
                        sent += 1
                        problem = _send(client, method, url, **kwargs)
                        if isinstance(problem, int):
                            if problem < 400:  # the view's logic ran and answered
                                reached.add(rule.endpoint)
                        else:
                            failures.append(
                                f"{role} {method} {url[:200]} {_short(kwargs.get('data'))}: "
                                f"{problem}"
                            )
    assert failures == [], "\n".join(failures)
    print(sent, len(reached), len(rules), sorted({r.endpoint for r in rules} - reached))
    assert sent > 1000 and len(reached) > 0.9 * len(rules), (sent, len(reached), len(rules))


def test_lone_surrogates_in_room_chat_and_minutes_get_an_error_event(room, connect, caplog):
    """The room speaks JSON over Socket.IO: "\\ud800" decodes to a lone surrogate, which
    neither the database nor the journal can encode. The operations refuse it (and NUL) with
    an error event, as any invalid text; the room goes on (issue #15)."""
    mediator = connect("mediator")
    drain(mediator)
    with caplog.at_level(logging.WARNING):
        mediator.emit("chat", {"text": "底线\ud800"}, namespace=NS)
        mediator.emit("chat", {"text": "a\x00b"}, namespace=NS)
        mediator.emit("minutes", {"facts": "\udfff双方确认"}, namespace=NS)
        mediator.emit("minutes", {"facts": "a\x00b"}, namespace=NS)
    assert [e["code"] for e in events(mediator, "error")] == ["invalid"] * 4
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert mediator.is_connected(NS)
    mediator.emit("chat", {"text": "大家好"}, namespace=NS)
    assert [m["text"] for m in events(mediator, "chat")] == ["大家好"]


def test_the_issue_s_own_examples_get_a_clear_answer(app):
    """Issue #15, item 7, as reported: ``?page=10**20`` and ``due=999999999`` on the
    caseload, ``mediator_id=10**20`` on a reassignment, and a NUL in the query. A number
    past the database's range is a 400 that says so in the visitor's language (a deadline
    999,999,999 days away is within it: no deadline filter); text no database can store is
    a 400 that says so. None is a 500."""
    from mediation.accounts.models import Role
    from mediation.extensions import db
    from tests.conftest import csrf_token, login
    from tests.factories import PASSWORD, make_mediating_case, make_user

    with app.app_context():
        case = make_mediating_case()
        admin = make_user(Role.institution_admin, institution_id=case.institution_id)
        db.session.commit()
        mediator_phone, admin_phone, case_id = case.mediator.phone, admin.phone, case.id
    mediator = app.test_client()
    assert login(mediator, mediator_phone, PASSWORD).status_code == 302
    assert mediator.get("/cases/caseload?due=999999999").status_code == 200
    for query in (f"page={10**20}", f"page=-{10**20}", f"due={10**20}"):
        answer = mediator.get(f"/cases/caseload?{query}")
        assert answer.status_code == 400, (query, answer.status_code)
        assert "数字过大" in answer.get_data(as_text=True), query
    admin_client = app.test_client()
    assert login(admin_client, admin_phone, PASSWORD).status_code == 302
    token = csrf_token(admin_client, "/account")
    reassigned = admin_client.post(
        f"/institution/cases/{case_id}/reassign",
        data={"csrf_token": token, "mediator_id": str(10**20)},
    )
    assert reassigned.status_code == 400
    assert "数字过大" in reassigned.get_data(as_text=True)
    # (A surrogate's bytes in a URL, %ED%A0%80, are no UTF-8: werkzeug reads them as U+FFFD,
    # which can be stored; a lone surrogate arrives only in JSON: the room and court API
    # tests send it there.)
    for query in ("page=%00", "q=a%00b"):
        refused = mediator.get(f"/cases/caseload?{query}")
        assert refused.status_code == 400, query
        assert "无法保存的字符" in refused.get_data(as_text=True), query
