"""Walks: a person goes the whole way with the buttons the pages show, in Debian's chromium,
on a 375 px phone for parties. They run once, on SQLite, like tests/browser."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.browser import conftest as browser
from tests.factories import PASSWORD

# The fixtures of tests/browser, shared.
playwright_instance = browser.playwright_instance
browser_factory = browser.browser_factory
live_server = browser.live_server


def pytest_collection_modifyitems(items) -> None:
    for item in list(items):
        params = getattr(item, "callspec", None)
        database = params.params.get("database_url") if params else None
        if "tests/journeys/" in str(item.path).replace("\\", "/") and database == "postgresql":
            items.remove(item)


def phone(browser_factory):
    """A page on a 375 px touch screen, as most parties have."""
    browser = browser_factory()
    context = browser.new_context(viewport={"width": 375, "height": 740}, has_touch=True)
    return context.new_page()


@pytest.fixture
def phone_page(browser_factory):
    return phone(browser_factory)


@pytest.fixture
def other_phone_page(browser_factory):
    """The other party's phone, where a walk has both parties."""
    return phone(browser_factory)


@pytest.fixture
def snap(tmp_path):
    """snap(page, name): a full-page screenshot in the test's folder (and in
    MEDIATION_SCREENSHOTS when set, to look at); returns the files written."""
    folders = [tmp_path] + (
        [Path(os.environ["MEDIATION_SCREENSHOTS"])]
        if os.environ.get("MEDIATION_SCREENSHOTS")
        else []
    )

    def snap(page, name: str) -> list[Path]:
        png = page.screenshot(full_page=True)  # once: the same picture in every folder
        written = []
        for folder in folders:
            folder.mkdir(parents=True, exist_ok=True)
            written.append(folder / f"{name}.png")
            written[-1].write_bytes(png)
        return written

    return snap


@pytest.fixture
def staff_page(browser_factory):
    """A page on a 1366×768 laptop, as mediators, clerks and administrators have."""
    browser = browser_factory()
    return browser.new_context(viewport={"width": 1366, "height": 768}).new_page()


AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
# What axe-core reports as a barrier for someone (WCAG 2.1 A and AA); "moderate" and "minor"
# findings are advice.
AXE_BLOCKING = ("serious", "critical")


def axe_violations(page) -> list[dict]:
    """axe-core's serious and critical violations on the page as it is now. The script is
    evaluated through the debugging protocol, so the page's CSP does not stop it."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate(
        """async () => {
            // The settled page: a colour caught half-way through a CSS transition (a tab
            // just selected) is not what anyone reads.
            document.getAnimations().forEach(a => { try { a.finish(); } catch (e) {} });
            const r = await axe.run(document, {
                runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},
            });
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => n.target.join(' '))}));
        }"""
    )
    return [v for v in result if v["impact"] in AXE_BLOCKING]


FIRST_SCREEN = """(el) => {
    const r = el.getBoundingClientRect();
    const inside = r.width > 0 && r.height > 0 && r.top >= 0 && r.left >= 0
        && r.bottom <= window.innerHeight && r.right <= window.innerWidth;
    if (!inside) return {inside, rect: [r.left, r.top, r.right, r.bottom],
                         screen: [window.innerWidth, window.innerHeight]};
    // Not hidden under something else (a dialog, a pinned bar).
    const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    return {inside, covered: !(hit && (el === hit || el.contains(hit) || hit.contains(el))),
            by: hit ? hit.outerHTML.slice(0, 120) : null};
}"""


def in_first_screen(page, target) -> None:
    """Assert that ``target`` (a locator or a selector) is visible on the first screen of the
    page: at the top of the page, without scrolling, and not covered by anything."""
    locator = page.locator(target) if isinstance(target, str) else target
    locator.first.wait_for(state="visible", timeout=20_000)
    # The target can be visible while the page is still being laid out (its stylesheet or
    # fonts not applied yet, on a busy machine): judge the page the person ends up seeing,
    # measured again until it settles, for a bounded time.
    page.wait_for_load_state("load")
    deadline = time.monotonic() + 5
    while True:
        page.evaluate("window.scrollTo(0, 0)")
        where = locator.first.evaluate(FIRST_SCREEN)
        if (where["inside"] and not where.get("covered")) or time.monotonic() > deadline:
            break
        page.wait_for_timeout(100)
    assert where["inside"] and not where.get("covered"), (
        f"{target} is not in the first screen of {page.url}: {where}"
    )


@pytest.fixture
def step(snap):
    """step(page, target, name): one step of a walk. The next thing the person must do
    (``target``) is visible in the first screen, a screenshot is saved as ``name``, and
    axe-core finds no serious or critical barrier on the page."""

    def step(page, target, name: str) -> None:
        try:
            in_first_screen(page, target)
        except AssertionError:
            snap(page, f"{name}-FAILED")  # what the person saw instead
            raise
        snap(page, name)
        violations = axe_violations(page)
        assert not violations, f"axe-core on {page.url} ({name}): {violations}"

    return step


def log_in(page, step, live_server: str, phone: str, name: str) -> None:
    """From the home page, as a person opens it: 登录, the number and password."""
    page.goto(live_server)
    login = page.get_by_role("link", name="登录").first
    step(page, login, f"{name}-01-home")
    login.click()
    page.fill("input[name=identifier]", phone)
    page.fill("input[name=password]", PASSWORD)
    submit = page.locator("main form button[type=submit]")
    step(page, submit, f"{name}-02-login")
    submit.click()
    page.wait_for_url(lambda url: "/login" not in url)
