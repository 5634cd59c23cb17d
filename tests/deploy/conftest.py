"""The deployment's tests use tests/browser's chromium fixtures."""

from tests.browser import conftest as browser

playwright_instance = browser.playwright_instance
browser_factory = browser.browser_factory
