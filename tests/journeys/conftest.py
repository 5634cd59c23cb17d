"""Walks: a person goes the whole way with the buttons the pages show, in Debian's chromium,
on a 375 px phone for parties. They run once, on SQLite, like tests/browser."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser import conftest as browser

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


@pytest.fixture
def phone_page(browser_factory):
    """A page on a 375 px touch screen, as most parties have."""
    browser = browser_factory()
    context = browser.new_context(viewport={"width": 375, "height": 740}, has_touch=True)
    return context.new_page()


@pytest.fixture
def snap(tmp_path):
    """snap(page, name): a full-page screenshot in the test's folder (and in
    MEDIATION_SCREENSHOTS when set, to look at)."""
    folders = [tmp_path] + (
        [Path(os.environ["MEDIATION_SCREENSHOTS"])]
        if os.environ.get("MEDIATION_SCREENSHOTS")
        else []
    )

    def snap(page, name: str) -> None:
        for folder in folders:
            folder.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(folder / f"{name}.png"), full_page=True)

    return snap
