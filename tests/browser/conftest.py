"""Browser tests: Debian's chromium, driven by Playwright, against the app served on a
loopback port. They run once, on SQLite: the browser is what they test, not the database."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator

import pytest
from werkzeug.serving import make_server

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


@pytest.fixture
def live_server(app) -> Iterator[str]:
    """The app on 127.0.0.1 at a free port, in a thread, for one test."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


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
