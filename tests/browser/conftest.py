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
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from mediation.booking import links
from mediation.extensions import db
from mediation.notify.models import OutboxMessage
from tests.conftest import require_service
from tests.factories import PASSWORD, make_mediating_case
from tests.signaling.conftest import open_session

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
        params = getattr(item, "callspec", None)
        database = params.params.get("database_url") if params else None
        if "tests/browser/" in str(item.path).replace("\\", "/") and database == "postgresql":
            items.remove(item)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _environment(database_url: str, instance: Path) -> dict[str, str]:
    return {
        **os.environ,
        "MEDIATION_ENV": "testing",
        "MEDIATION_DATABASE_URL": database_url,
        "MEDIATION_INSTANCE_PATH": str(instance),
        "MEDIATION_HOST": "127.0.0.1",
    }


START_WITHIN = 120  # seconds


@contextmanager
def serve(
    database_url: str,
    instance: Path,
    *,
    redis_url: str | None = None,
    channel: str | None = None,
    settings: dict[str, str] | None = None,
) -> Iterator[str]:
    """``mediation run`` as users start it, in its own process, on a free loopback port;
    stopped at the end. (Not a thread of the test process: the Socket.IO test client that
    other tests use replaces parts of the server in this process.)"""
    port = free_port()
    env = {**_environment(database_url, instance), "MEDIATION_PORT": str(port), **(settings or {})}
    if redis_url:
        env["MEDIATION_REDIS_URL"] = redis_url
        # Pub/sub channels are global to a Redis server: one per test run.
        env["MEDIATION_SOCKETIO_CHANNEL"] = f"{channel or 'test'}-{os.getpid()}"
    command = [str(Path(sys.executable).parent / "mediation"), "run", "--no-migrate"]
    log = (instance / f"server-{port}.log").open("w")  # a file: a full pipe would block it
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        # A deadline, not a count of tries: on a busy machine (a CI run, helpers beside it)
        # starting Python with gevent and the app can take far longer than on an idle one.
        deadline = time.monotonic() + START_WITHIN
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"the server stopped: {Path(log.name).read_text()}")
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=1):  # noqa: S310 - http://127.0.0.1
                    break
            except OSError:
                time.sleep(0.2)
        else:
            raise RuntimeError(f"the server did not start within {START_WITHIN} s")
        yield url
    finally:
        stop(process)
        log.close()


def stop(process: subprocess.Popen, within: float = 15) -> None:
    """SIGTERM, and SIGKILL if it has not stopped ``within`` seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=within)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@contextmanager
def recorder(
    database_url: str, instance: Path, url: str, *, settings: dict[str, str] | None = None
) -> Iterator[subprocess.Popen]:
    """``mediation recorder`` for the server at ``url``, in its own process (``settings``:
    more environment, as ``serve`` takes)."""
    env = {**_environment(database_url, instance), **(settings or {})}
    command = [str(Path(sys.executable).parent / "mediation"), "recorder", "--url", url]
    log = (instance / f"recorder-{time.monotonic_ns()}.log").open("w")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    process.log_path = Path(log.name)  # type: ignore[attr-defined]
    try:
        yield process
    finally:
        stop(process)
        log.close()


def open_minutes(mediator):
    """What opens the minutes: a tab of the room's side panel, or (the room before its
    phone-first layout) a fold-out."""
    tab = mediator.locator("#tab-minutes")
    return tab if tab.count() else mediator.locator("#minutes summary")


def write_minutes(mediator, fields: dict[str, str]) -> None:
    """Type the minutes (SPC online mediation rules art 22) and wait until they are saved."""
    if not mediator.locator("#minutes-attendees").is_visible():
        open_minutes(mediator).click()
    for name, value in fields.items():
        mediator.fill(f"#minutes-{name}", value)
    mediator.wait_for_function(
        "() => /v\\d+/.test(document.getElementById('minutes-status').textContent)",
        timeout=WAIT_MS,
    )


def wait_until_ready(worker: subprocess.Popen, within: float = 120) -> None:
    """Until a recorder process started by ``recorder`` looks for rooms (starting one takes
    seconds on a loaded machine: aiortc, PyAV and the app are imported first)."""
    deadline = time.monotonic() + within
    while "records rooms of" not in worker.log_path.read_text():  # type: ignore[attr-defined]
        if worker.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the recorder did not start: {worker.log_path.read_text()}")
        time.sleep(0.2)


@pytest.fixture
def live_server(app, tmp_path) -> Iterator[str]:
    with serve(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path) as url:
        yield url


@pytest.fixture(scope="module")
def playwright_instance():
    """Per module: Playwright's sync API keeps an asyncio loop running in this thread while
    it is started, and code under test that uses asyncio.run (pyHanko signing) must run
    in later modules as it runs in production, with no loop."""
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
    # Shown by pytest for a failed test only: what each page said, in the order it said it.
    for page, said in list(_CONSOLE.items()):
        print(f"--- console of {page.url}:", *said, sep="\n  ")
    _CONSOLE.clear()
    for browser in launched:
        browser.close()


# -- the video room: a session in progress, entering it, and what a page receives -----

WAIT_MS = 20_000


@pytest.fixture
def session_in_progress(app):
    with app.app_context():
        case = make_mediating_case()
        session = open_session(case)
        db.session.commit()
        applicant, respondent = case.party_users()
        ids = {p.user_id: p.id for p in session.participants}
        party_a = next(p for p in session.participants if p.user_id == applicant.id)
        made = {
            "link_a": f"/s/{links.token_for(party_a)}",
            "session": session.id,
            "phones": {
                "mediator": case.mediator.phone,
                "a": applicant.phone,
                "b": respondent.phone,
            },
            "ids": {
                "mediator": ids[case.mediator_id],
                "a": ids[applicant.id],
                "b": ids[respondent.id],
            },
        }
        db.session.remove()
    return made


def enter(
    browser_factory,
    live_server: str,
    phone: str,
    session_id: int,
    *,
    fake_ui: bool = True,
    permissions: list[str] | None = None,
    context_options: dict | None = None,
    init_script: str | None = None,
):
    """Log in and open the room. Without ``fake_ui`` the browser grants only
    ``permissions`` (a prompt for anything else is refused). ``context_options`` (a
    viewport, touch) shape the browser's window; ``init_script`` runs in every page first."""
    browser = browser_factory("--use-fake-ui-for-media-stream") if fake_ui else browser_factory()
    context = browser.new_context(**(context_options or {}))
    if init_script:
        context.add_init_script(init_script)
    if permissions:
        context.grant_permissions(permissions, origin=live_server)
    page = context.new_page()
    listen_to_console(page)
    page.goto(f"{live_server}/login")
    page.fill("input[name=identifier]", phone)
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)
    response = page.goto(f"{live_server}/sessions/{session_id}/room")
    assert response.ok, f"the room answered {response.status}: {what_the_page_says(page)}"
    return page


_SOCKET_HOOK = """
(() => {
  const onSocket = ON_SOCKET;
  let realIo = null;
  Object.defineProperty(window, 'io', {
    configurable: true,
    get: () => realIo,
    set: (io) => {
      realIo = Object.assign((...args) => { const s = io(...args); onSocket(s); return s; }, io);
    },
  });
})();
"""


def socket_hook(on_socket: str) -> str:
    """An init script that gives every Socket.IO socket the page opens to ``on_socket`` (a
    JavaScript function of the socket) before the page uses it: the page's ``io``, set by
    the vendored client script, is wrapped as it is set."""
    return _SOCKET_HOOK.replace("ON_SOCKET", on_socket)


_CONSOLE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def listen_to_console(page) -> None:
    """Keep what the page's console said last, for a failure's report (a connection that
    never comes up says why only there)."""
    kept = _CONSOLE.setdefault(page, [])
    started = time.monotonic()

    def heard(message) -> None:
        kept.append(f"{time.monotonic() - started:7.3f} {message.type}: {message.text}"[:300])
        del kept[:-300]

    page.on("console", heard)


def console_of(page) -> list[str]:
    """The page's warnings and errors."""
    return [line for line in _CONSOLE.get(page, []) if " debug: " not in line][-20:]


def what_the_page_says(page) -> str:
    """The address and the first words of a page, read at once (for a failure message)."""
    try:
        text = page.locator("body").inner_text(timeout=2_000)
    except Exception as error:  # a page gone or hanging: say so
        text = f"<unreadable: {type(error).__name__}>"
    return f"{page.url} {' '.join(text.split())[:400]!r}"


RECEIVING = """async (ids) => {
    const first = await window.roomStats();
    await new Promise(r => setTimeout(r, 500));
    const then = await window.roomStats();
    return ids.every(id => first[id] && then[id]
        && then[id].framesDecoded > first[id].framesDecoded
        && then[id].audioLevel > 0);
}"""


def enter_by_link(browser_factory, live_server: str, app, link: str, phone: str):
    """What a party does with the text message: open the link, ask for the code, type it,
    press "join"."""
    import re

    from sqlalchemy import func, select

    browser = browser_factory("--use-fake-ui-for-media-stream")
    page = browser.new_context().new_page()
    listen_to_console(page)
    page.goto(live_server + link)
    with app.app_context():
        before = db.session.scalar(select(func.max(OutboxMessage.id))) or 0
    page.click("form[action$='/code'] button")
    page.wait_for_selector(".flash-info")  # "a code has been sent"
    with app.app_context():
        body = db.session.scalars(
            select(OutboxMessage.body).where(
                OutboxMessage.recipient == phone, OutboxMessage.id > before
            )
        ).one()
    page.fill("input[name=code]", re.search(r"(?<!\d)\d{6}(?!\d)", body).group())
    page.click("form[action$='/verify'] button")
    page.click("button.join", timeout=WAIT_MS)
    page.wait_for_url(lambda url: url.endswith("/room"), timeout=WAIT_MS)
    return page


def receiving(page, peer_ids: list[int], within_ms: int = WAIT_MS) -> None:
    """Wait until ``page`` decodes video frames, and hears sound, from every peer.

    Polled from here with ``evaluate``, which awaits the page's promise (a promise given to
    ``wait_for_function`` would count as true at once)."""
    deadline = time.monotonic() + within_ms / 1000
    while time.monotonic() < deadline:
        if page.evaluate(RECEIVING, peer_ids):
            return
    raise AssertionError(
        f"no media from {peer_ids}: {page.evaluate('window.roomStats()')}; "
        f"console: {console_of(page)}"
    )


def silent_from(page, peer_ids: list[int]) -> bool:
    """Nothing at all is decoded from these peers now (no connection, or frozen counters)."""
    return page.evaluate(
        """async (ids) => {
            const first = await window.roomStats();
            await new Promise(r => setTimeout(r, 1000));
            const then = await window.roomStats();
            return ids.every(id => !then[id] || (first[id]
                && then[id].framesDecoded === first[id].framesDecoded));
        }""",
        peer_ids,
    )


def peers_of(page) -> list[int]:
    return sorted(
        int(k) for k in page.evaluate("async () => Object.keys(await window.roomStats())")
    )


def three_in_the_room(
    browser_factory, live_server: str, s: dict, *, consents=(True, True), init_scripts=None
):
    """Mediator, applicant and respondent in the room: both parties let in, identified,
    warned, and asked about recording (``consents`` for a and b: True, False, or None for
    no answer yet; ``init_scripts``: "mediator", "a" or "b" -> a script run first in their
    page). Returns the three pages."""
    ids = s["ids"]
    pages = {
        who: enter(
            browser_factory,
            live_server,
            s["phones"][who],
            s["session"],
            init_script=(init_scripts or {}).get(who),
        )
        for who in ("mediator", "a", "b")
    }
    mediator, a, b = pages["mediator"], pages["a"], pages["b"]
    for who in ("a", "b"):
        line = f"#roster li[data-participant='{ids[who]}']"
        confirm = f"{line} button.confirm-identity"
        try:
            mediator.click(f"{line} button.admit", timeout=WAIT_MS)
            mediator.click(confirm, timeout=WAIT_MS)
            # The roster is drawn again when the server answers, and the lines below move:
            # a click aimed before that lands elsewhere.
            mediator.wait_for_selector(confirm, state="detached", timeout=WAIT_MS)
        except Exception as error:  # say what the mediator's page says (a lost connection?)
            raise AssertionError(
                f"no admission or identity step for {who}: the mediator's page says "
                f"{what_the_page_says(mediator)}; {who}'s page says "
                f"{what_the_page_says(a if who == 'a' else b)}"
            ) from error
    for page, consent in zip((a, b), consents, strict=True):
        page.click("#acknowledge", timeout=WAIT_MS)
        # The warning closes when the server's answer comes, and the consent buttons move
        # up then: a click aimed before that lands elsewhere.
        page.wait_for_selector("#warning", state="hidden", timeout=WAIT_MS)
        if consent is not None:  # None: not answered yet
            page.click("#consent-yes" if consent else "#consent-no", timeout=WAIT_MS)
            page.wait_for_selector("#consent", state="hidden", timeout=WAIT_MS)
    return mediator, a, b
