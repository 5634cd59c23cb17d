"""Walk: a mediator pages through their calendar to the Spring Festival of a year the
calendar package does not know yet, with the State Council's notice installed as the
operator's holiday file (mediation/cases/holidays.py). Each festival day says 法定节假日 and
offers no free time; the Saturday worked after it offers Monday's hours; the week after is
an ordinary week. Without the file every one of those days was bookable.

The year and its days are computed from the installed package (tests/cases/test_holidays.py),
and how many weeks to page forward from today's date, so the walk holds on any day."""

from __future__ import annotations

from datetime import date, time, timedelta

from mediation.booking.models import AvailabilityRule
from mediation.core.db import utcnow
from mediation.extensions import db
from tests.browser.conftest import serve
from tests.cases.test_holidays import FESTIVAL, MONDAY, NOTICE, SHANGHAI, WORKED
from tests.factories import make_institution, make_mediator
from tests.journeys.test_newcomer_files import WAIT, log_in


def test_the_festival_of_the_holiday_file_is_off_in_the_mediator_s_calendar(
    app, tmp_path, staff_page, step
):
    (tmp_path / "holidays.toml").write_text(NOTICE, encoding="utf-8")  # the instance folder's
    with app.app_context():
        mediator = make_mediator(make_institution(), real_name="王调解")
        for weekday in range(5):  # weekday mornings: a worked Saturday takes Monday's
            db.session.add(
                AvailabilityRule(
                    mediator_id=mediator.id, weekday=weekday, starts=time(9), ends=time(12)
                )
            )
        db.session.commit()
        phone = mediator.phone
    today = utcnow().astimezone(SHANGHAI).date()
    this_monday = today - timedelta(days=today.weekday())
    weeks = (MONDAY - this_monday).days // 7  # to the week whose Monday is the festival's

    with serve(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path) as url:
        page = staff_page
        log_in(page, url, phone, step, "mediator")
        calendar = page.get_by_role("link", name="我的日程").first
        step(page, calendar, "mediator-home")
        calendar.click()
        for _ in range(weeks):
            page.get_by_role("button", name="下一周 →").click()
            page.wait_for_load_state()
        step(page, page.get_by_role("heading", name="我的日程"), "festival-week")

        for day in FESTIVAL[2:]:  # Monday to Sunday of this week: all festival
            shown = day_section(page, day)
            assert "法定节假日" in shown.inner_text(), day
            assert "空闲时间" not in shown.inner_text(), day

        page.get_by_role("button", name="下一周 →").click()
        page.wait_for_load_state()
        step(page, page.get_by_role("heading", name="我的日程"), "week-after")
        worked = day_section(page, WORKED)
        assert "法定节假日" not in worked.inner_text() and "调休上班" in worked.inner_text()
        assert "空闲时间" in worked.inner_text()  # the worked Saturday: Monday's hours
        assert "空闲时间" not in day_section(page, WORKED + timedelta(days=1)).inner_text()
        monday_after = day_section(page, MONDAY + timedelta(days=7))
        assert "空闲时间" in monday_after.inner_text()


def day_section(page, day: date):
    """The calendar's section for ``day`` (its accessible name is the full Chinese date)."""
    section = page.get_by_role("region", name=f"{day.year}年{day.month}月{day.day}日", exact=False)
    section.first.wait_for(timeout=WAIT)
    return section.first
