"""One way of writing days and times (core.i18n), and the larger-text choice (core.views):
issue #16."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from flask_babel import force_locale

from mediation.core.i18n import (
    date_filter,
    format_day,
    format_month,
    format_when,
    localtime,
    zone_name,
)
from tests.conftest import csrf_token

# Monday 7 December 2026, 09:30 in Beijing.
INSTANT = datetime(2026, 12, 7, 1, 30, tzinfo=UTC)


def test_a_day_and_a_time_are_written_one_way_in_chinese(app_ctx):
    with app_ctx.test_request_context():
        assert format_day(date(2026, 12, 7)) == "2026年12月7日（周一）"
        assert format_when(INSTANT) == "2026年12月7日（周一）09:30"
        # Every named format a page still asks for is the same way.
        for name in ("when", "short", "medium", "full"):
            assert localtime(INSTANT, None, name) == "2026年12月7日（周一）09:30"
        # The day is the reader's: 23:30 UTC on Sunday is Monday in Beijing.
        assert format_day(datetime(2026, 12, 6, 23, 30, tzinfo=UTC)) == "2026年12月7日（周一）"
        # A date of birth has no weekday.
        assert date_filter(date(1980, 1, 20), "long") == "1980年1月20日"


def test_another_zone_is_named_in_words(app_ctx):
    with app_ctx.test_request_context():
        london = ZoneInfo("Europe/London")
        assert format_when(INSTANT, london) == "2026年12月7日（周一）01:30（英国时间）"
        assert zone_name(ZoneInfo("Asia/Shanghai")) == "北京时间"
        assert "Asia" not in zone_name("Asia/Hong_Kong")


def test_english_keeps_its_own_order(app_ctx):
    with app_ctx.test_request_context(), force_locale("en"):
        assert format_day(date(2026, 12, 7)) == "Mon 7 Dec 2026"
        assert format_when(INSTANT) == "Mon 7 Dec 2026 09:30"
        assert zone_name("Asia/Shanghai") == "Beijing time"


def test_a_month_is_written_as_people_write_it(app_ctx):
    with app_ctx.test_request_context():
        assert format_month("2026-12") == "2026年12月"
        assert format_month("2027-01") == "2027年1月"
        assert format_month("not a month") == "not a month"
    with app_ctx.test_request_context(), force_locale("en"):
        assert format_month("2026-12") == "Dec 2026"


def test_larger_text_is_chosen_in_the_header_and_remembered(client):
    page = client.get("/login").get_data(as_text=True)
    assert 'class="text-large"' not in page and ">大字</button>" in page
    response = client.post(
        "/text-size",
        data={"csrf_token": csrf_token(client, "/login"), "size": "large", "next": "/login"},
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    cookie = response.headers["Set-Cookie"]
    assert "text_size=large" in cookie and "Max-Age=" in cookie and "HttpOnly" in cookie
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="zh-Hans-CN" class="text-large">' in page and ">标准字</button>" in page
    client.post(
        "/text-size",
        data={"csrf_token": csrf_token(client, "/login"), "size": "standard"},
    )
    assert 'class="text-large"' not in client.get("/login").get_data(as_text=True)


@pytest.mark.parametrize(
    "target",
    # Browsers read a backslash as a slash and drop tabs and newlines from an address.
    [
        "//evil.example/",
        "/\\evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        "https://evil.example",
    ],
)
def test_the_text_size_switch_does_not_redirect_off_site(client, target):
    response = client.post(
        "/text-size",
        data={"csrf_token": csrf_token(client, "/login"), "size": "large", "next": target},
    )
    assert response.status_code == 302
    assert "evil.example" not in response.headers["Location"]


@pytest.mark.parametrize("target", ["/\\evil.example", "/\t/evil.example"])
def test_safe_next_refuses_what_a_browser_would_take_off_site(target):
    from mediation.core.views import safe_next

    assert safe_next(target) is None
    assert safe_next("/cases/1?tab=a") == "/cases/1?tab=a"


def test_safe_next_refuses_an_address_that_takes_only_post(app):
    """A login that interrupted a step (Flask-Login's "next" is the form's address) must not
    send the browser to GET a POST-only address: a 405 after logging in."""
    from mediation.core.views import safe_next

    with app.test_request_context("/login"):
        assert safe_next("/cases/1/disclosure") is None
        assert safe_next("/cases/1") == "/cases/1"
        assert safe_next("/no/such/page") is None
