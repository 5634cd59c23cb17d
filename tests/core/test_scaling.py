"""Scaling out is configuration: with Redis, processes share their login counters; and the
suite's own rule that a missing service skips, except under CI=true, where it fails."""

import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
import redis

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("MEDIATION_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

# One "web process": builds the app on the shared database and Redis, tries to log in.
PROCESS = textwrap.dedent(
    """
    import re, sys
    from flask_migrate import upgrade
    from mediation import create_app
    from mediation.extensions import db
    from tests.factories import make_user

    app = create_app({"ENV_NAME": "testing", "INSTANCE_PATH": sys.argv[1],
                      "RATELIMIT_KEY_PREFIX": sys.argv[2]})
    with app.app_context():
        upgrade()
        if sys.argv[3] == "seed":
            make_user(phone="13900001111")
            db.session.commit()
    client = app.test_client()
    for _ in range(int(sys.argv[4])):
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        response = client.post("/login", data={"identifier": "13900001111",
                                               "password": "wrong", "csrf_token": token})
        print(response.status_code)
    """
)


def run_process(
    instance: Path, prefix: str, seed: bool, attempts: int, redis_url: str
) -> list[str]:
    env = {**os.environ, "MEDIATION_REDIS_URL": redis_url}
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            PROCESS,
            str(instance),
            prefix,
            "seed" if seed else "-",
            str(attempts),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_two_processes_share_login_limits_through_redis(tmp_path):
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        from tests.conftest import require_service

        require_service("Redis", error)
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    first = run_process(tmp_path, prefix, seed=True, attempts=5, redis_url=REDIS_URL)
    second = run_process(tmp_path, prefix, seed=False, attempts=1, redis_url=REDIS_URL)
    assert first == ["200"] * 5
    assert second == ["429"]  # the other process already counted five failures


@pytest.mark.parametrize(("ci", "outcome"), [("", "1 skipped"), ("true", "1 failed")])
def test_a_missing_service_skips_except_under_ci(ci, outcome):
    env = {
        **os.environ,
        "CI": ci,
        "MEDIATION_TEST_POSTGRES_URL": "postgresql://postgres@127.0.0.1:1/none",
    }
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-q",
            "-rs",
            "tests/core/test_health.py::test_healthy_when_the_database_answers[postgresql]",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert outcome in result.stdout, result.stdout
    assert "PostgreSQL is not reachable" in result.stdout
