"""Browser tests: Debian's chromium, driven by Playwright, against the app served on a
loopback port. They run once, on SQLite: the browser is what they test, not the database."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import require_service

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Fake camera and microphone (--use-fake-ui-for-media-stream answers the permission prompt
# where a test wants that); ICE on 127.0.0.1 only; nothing reaches out to the internet.
FAKE_MEDIA = [
    "--use-fake-device-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-sandbox",
]


def pytest_collection_modifyitems(items) -> None:
    for item in list(items):
        if "tests/browser/" in str(item.path).replace("\\", "/") and "[postgresql]" in item.name:
            items.remove(item)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def serve(
    database_url: str,
    instance: Path,
    *,
    redis_url: str | None = None,
    channel: str | None = None,
) -> Iterator[str]:
    """``mediation run`` as users start it, in its own process, on a free loopback port;
    stopped at the end. (Not a thread of the test process: the Socket.IO test client that
    other tests use replaces parts of the server in this process.)"""
    port = free_port()
    env = {
        **os.environ,
        "MEDIATION_ENV": "testing",
        "MEDIATION_DATABASE_URL": database_url,
        "MEDIATION_INSTANCE_PATH": str(instance),
        "MEDIATION_HOST": "127.0.0.1",
        "MEDIATION_PORT": str(port),
    }
    if redis_url:
        env["MEDIATION_REDIS_URL"] = redis_url
        # Pub/sub channels are global to a Redis server: one per test run.
        env["MEDIATION_SOCKETIO_CHANNEL"] = f"{channel or 'test'}-{os.getpid()}"
    command = [str(Path(sys.executable).parent / "mediation"), "run", "--no-migrate"]
    log = (instance / f"server-{port}.log").open("w")  # a file: a full pipe would block it
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):  # up to 20 s
            if process.poll() is not None:
                raise RuntimeError(f"the server stopped: {Path(log.name).read_text()}")
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=1):  # noqa: S310 - http://127.0.0.1
                    break
            except OSError:
                time.sleep(0.2)
        else:
            raise RuntimeError("the server did not start within 20 s")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()


@pytest.fixture
def live_server(app, tmp_path) -> Iterator[str]:
    with serve(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path) as url:
        yield url


@pytest.fixture(scope="session")
def playwright_instance():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        yield playwright


@pytest.fixture
def browser_factory(playwright_instance):
    """Launch chromium with extra arguments; every browser is closed after the test."""
    if CHROMIUM is None:
        require_service("chromium (Debian package)", FileNotFoundError("chromium"))
    launched = []

    def launch(*args: str):
        browser = playwright_instance.chromium.launch(
            executable_path=CHROMIUM, args=[*FAKE_MEDIA, *args]
        )
        launched.append(browser)
        return browser

    yield launch
    for browser in launched:
        browser.close()
