"""Fixtures: ``app`` on each database backend, ``client``, ``runner``, clean tables per test.

Every test that uses ``app`` runs twice: on SQLite and on PostgreSQL. A missing PostgreSQL
skips its half with the reason, except under CI=true, where it fails the run.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import re
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import select, text

from mediation import MIGRATIONS_DIR, create_app
from mediation.cases.models import Category
from mediation.extensions import db, limiter
from mediation.rooms import cache as room_cache
from signaling import limits as room_limits

VERSIONS = MIGRATIONS_DIR / "versions"

# The servers, recorders and commands the tests start run this checkout's code, as the test
# process does (pytest puts the checkout first on its path): a second checkout (a git
# worktree) sharing one virtualenv would otherwise start the installed, editable copy of
# the other checkout, and a browser test would test code it was not run from.
CHECKOUT = Path(__file__).resolve().parents[1]
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(CHECKOUT), *filter(None, [os.environ.get("PYTHONPATH")])]
)
CI = os.environ.get("CI", "").lower() == "true"
PG_ADMIN_URL = os.environ.get(
    "MEDIATION_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


def require_service(name: str, error: Exception) -> None:
    message = f"{name} is not reachable: {error}"
    if CI:
        pytest.fail(f"{message} (CI=true: every service must be running)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    try:
        psycopg.connect(PG_ADMIN_URL, connect_timeout=3).close()
    except psycopg.Error as error:
        require_service("PostgreSQL", error)
    return PG_ADMIN_URL


@pytest.fixture(scope="session")
def fresh_postgres_database(postgres_admin_url: str):
    """A factory of empty PostgreSQL databases, all dropped at the end of the run."""
    created: list[str] = []

    def make() -> str:
        name = f"mediation_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        return postgres_admin_url.rsplit("/", 1)[0] + f"/{name}"

    yield make
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        for name in created:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# Each worker builds one database and one app per backend for its whole run. pytest ends a
# parametrized session fixture whenever the parameter changes, and under ``--dist loadfile``
# it changes at every file (its SQLite half, then its PostgreSQL half): without these two
# dictionaries every file paid for two new databases, each built by all the migrations.
_URLS: dict[str, str] = {}
_APPS: dict[str, tuple[Flask, dict]] = {}


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request, tmp_path_factory) -> str:
    if request.param not in _URLS:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'test.db'}"
        else:
            url = request.getfixturevalue("fresh_postgres_database")()
        _URLS[request.param] = url
    return _URLS[request.param]


@pytest.fixture(scope="session")
def app(database_url: str, tmp_path_factory) -> Flask:
    """One app per backend, its schema built by the migrations (as in production)."""
    if database_url not in _APPS:
        app = create_app(
            {
                "ENV_NAME": "testing",
                "SQLALCHEMY_DATABASE_URI": database_url,
                "INSTANCE_PATH": str(tmp_path_factory.mktemp("instance")),
                "SERVER_NAME": "mediation.test",
                # The Socket.IO test client reads what was sent at once: each arrival is
                # told at once (tests of the tick set it).
                "ROOM_BROADCAST_TICK": 0,
            }
        )
        with app.app_context():
            upgrade()
        _APPS[database_url] = (app, dict(app.config))
    return _APPS[database_url][0]


@pytest.fixture(scope="module", autouse=True)
def _apps_as_built() -> Iterator[None]:
    """Each test file finds the apps as they were built: a setting one file changed (and
    did not put back) would otherwise reach the files after it on the same worker."""
    yield
    for app, config in _APPS.values():
        app.config.clear()
        app.config.update(config)


@pytest.fixture(autouse=True)
def _one_socketio_for_the_run() -> Iterator[None]:
    """The SocketIO extension is one object, set up again by every ``create_app``: a test
    that builds an app of its own (with a Redis message queue, say) would otherwise leave
    its server to the tests after it in the same process, whose test clients refuse a
    queue. Which tests follow which differs from run to run (the suite runs on several
    workers), so each test gets back the extension as it found it."""
    from mediation.extensions import socketio

    before, options = dict(vars(socketio)), dict(socketio.server_options)
    yield
    if socketio.server is not before.get("server"):
        vars(socketio).clear()
        vars(socketio).update(before, server_options=options)


@pytest.fixture(autouse=True)
def _clean_database(request) -> Iterator[None]:
    """Empty every table after each test that used the app; reset rate limits."""
    yield
    if "app" not in request.fixturenames:
        return
    empty_database(request.getfixturevalue("app"))


def empty_database(app: Flask) -> None:
    """Every table emptied, the reference data back, rate limits and room readings reset
    (also for module-scoped worlds, such as tests/security's authorization matrix)."""
    with app.app_context():
        db.session.remove()
        tables = [t.name for t in reversed(db.metadata.sorted_tables)]
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                _empty_postgres(conn, tables)
            else:
                conn.execute(text("PRAGMA foreign_keys = OFF"))
                for table in tables:
                    conn.execute(text(f"DELETE FROM {table}"))
                conn.execute(text("PRAGMA foreign_keys = ON"))
            # Reference data the migrations wrote comes back for the next test.
            conn.execute(Category.__table__.insert(), categories_migration().default_rows())
        limiter.reset()
    # The relay's readings of rooms: ids start again in the next test.
    room_cache.init_app(app)
    room_limits.init_app(app)  # the participants' rate limits too


def _empty_postgres(conn, tables: list[str]) -> None:
    """Only the tables a test wrote to, and the sequences it drew from. A TRUNCATE of all
    of them gave each table new files on every test: most of a PostgreSQL test's time."""
    probe = " UNION ALL ".join(f"SELECT '{t}' WHERE EXISTS (SELECT 1 FROM {t})" for t in tables)
    written = set(conn.execute(text(probe)).scalars())
    # Foreign keys are not checked while emptying (the session acts as a replica): every
    # table that held rows is emptied here, in whatever order.
    conn.execute(text("SET LOCAL session_replication_role = replica"))
    for table in tables:
        if table in written:
            conn.execute(text(f"DELETE FROM {table}"))
    drawn = conn.execute(
        text(
            "SELECT sequencename FROM pg_sequences "
            "WHERE schemaname = current_schema() AND last_value IS NOT NULL"
        )
    ).scalars()
    for sequence in drawn:
        conn.execute(text(f'ALTER SEQUENCE "{sequence}" RESTART'))


@functools.cache
def categories_migration():
    """The migration module that seeds the dispute categories."""
    path = next(VERSIONS.glob("*_dispute_categories.py"))
    spec = importlib.util.spec_from_file_location("categories_migration", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def app_ctx(app: Flask) -> Iterator[Flask]:
    with app.app_context():
        yield app
        db.session.remove()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


@pytest.fixture
def divisions_added(tmp_path) -> Iterator[Path]:
    """The operator's file of divisions added to the list (core.divisions), empty, for this
    test only (the apps are shared)."""
    from mediation.core import divisions

    before = divisions.ADDED
    path = tmp_path / "divisions-added.csv"
    divisions.configure(path)
    yield path
    divisions.configure(before)


_CSRF = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"')


def csrf_token(client: FlaskClient, path: str) -> str:
    """The CSRF token of the form on ``path``, as a browser would submit it."""
    page = client.get(path)
    match = _CSRF.search(page.get_data(as_text=True))
    assert match, f"no CSRF token in {path} ({page.status_code})"
    return match.group(1)


def post_form(client: FlaskClient, path: str, data: dict, *, form_page: str | None = None):
    """Submit a form the way a browser does: load the page, then post with its token."""
    token = csrf_token(client, form_page or path)
    return client.post(path, data={**data, "csrf_token": token})


def at_once(*calls):
    """Run ``calls`` in threads released together (two tabs, or a retried POST, arriving
    at the same moment); their results in order, an exception returned as it was raised."""
    go = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(n: int, call) -> None:
        go.wait(timeout=30)
        try:
            results[n] = call()
        except Exception as error:  # the test looks at it
            results[n] = error

    threads = [threading.Thread(target=run, args=(n, c)) for n, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def login(client: FlaskClient, identifier: str, password: str):
    return post_form(client, "/login", {"identifier": identifier, "password": password})


def code_sent_to(app: Flask, recipient: str) -> str:
    """The six digits of the newest message to ``recipient`` (an E.164 number or e-mail)."""
    from mediation.notify.models import OutboxMessage

    with app.app_context():
        body = db.session.scalars(
            select(OutboxMessage.body)
            .where(OutboxMessage.recipient == recipient)
            .order_by(OutboxMessage.id.desc())
        ).first()
    assert body, f"nothing was sent to {recipient}"
    found = re.search(r"\d{6}", body)
    assert found, f"no code in the last message to {recipient}: {body}"
    return found.group()


# Files handed out longest first, and --record-durations (tests/durations.py); the local
# folder and S3 (moto's server), for the tests that ask for storage_backend.
from tests.durations import (  # noqa: E402, F401
    pytest_addoption,
    pytest_collection_modifyitems,
    pytest_runtest_logreport,
    pytest_sessionfinish,
)
from tests.storage_backends import s3_server, storage_backend  # noqa: E402, F401
