"""Statutory clocks across 国庆 and the Spring Festival, with their make-up working days.

The expected dates are the State Council's published 2026 schedule (国办发明电〔2025〕):
Spring Festival off 15-23 February, Saturdays 14 and 28 February worked; National Day off
1-7 October, Sunday 20 September and Saturday 10 October worked.
"""

import logging
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from mediation.cases import clocks

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(year, month, day, hour=10) -> datetime:
    return datetime(year, month, day, hour, tzinfo=SHANGHAI)


def last_day(due: datetime) -> date:
    assert due.tzinfo == UTC
    local_due = due.astimezone(SHANGHAI)
    assert (local_due.hour, local_due.minute) == (23, 59)  # the end of that local day
    return local_due.date()


def test_three_working_days_across_national_day_end_on_the_make_up_saturday():
    # Filed on Wednesday 30 September: 8 and 9 October, then Saturday 10 October, worked.
    due = clocks.working_days_after(local(2026, 9, 30), 3, SHANGHAI)
    assert last_day(due) == date(2026, 10, 10)


def test_the_make_up_sunday_before_national_day_counts():
    # Filed Friday 18 September: Sunday 20 September is worked, so 20, 21, 22.
    due = clocks.working_days_after(local(2026, 9, 18), 3, SHANGHAI)
    assert last_day(due) == date(2026, 9, 22)


def test_three_working_days_across_the_spring_festival():
    # Filed Friday 13 February: Saturday 14 worked, 15-23 off, then 24 and 25.
    due = clocks.working_days_after(local(2026, 2, 13), 3, SHANGHAI)
    assert last_day(due) == date(2026, 2, 25)


def test_a_filing_late_at_night_counts_from_the_local_day():
    # 23:30 in Shanghai on Friday 27 February is still 27 February; 28th is worked.
    late = local(2026, 2, 27, hour=23).replace(minute=30).astimezone(UTC)
    assert last_day(clocks.working_days_after(late, 1, SHANGHAI)) == date(2026, 2, 28)


def test_a_period_ending_in_a_holiday_ends_on_the_next_working_day():
    # Civil Code arts 201, 203: 5 September + 30 days = 5 October, a holiday -> 8 October.
    assert last_day(clocks.period_end(local(2026, 9, 5), 30, SHANGHAI)) == date(2026, 10, 8)
    # Ending on a worked Saturday (28 February) it stays there.
    assert last_day(clocks.period_end(local(2026, 1, 29), 30, SHANGHAI)) == date(2026, 2, 28)


def test_without_a_published_calendar_weekdays_count(caplog):
    import chinese_calendar

    # The first year the installed package does not know (tests/cases/test_holidays.py:
    # the operator's file for such a year).
    year = max(chinese_calendar.holidays).year + 1
    friday = next(date(year, 3, d) for d in range(1, 8) if date(year, 3, d).weekday() == 4)
    clocks._warn_no_calendar.cache_clear()  # said once a process: another test may have
    with caplog.at_level(logging.WARNING):
        due = clocks.working_days_after(local(year, 3, friday.day), 3, SHANGHAI)
    assert last_day(due) == friday + timedelta(days=5)  # Monday, Tuesday, Wednesday
    assert f"no holidays for {year}" in caplog.text and "MEDIATION_HOLIDAYS_FILE" in caplog.text


def test_remaining_days_count_local_days():
    due = clocks.period_end(local(2026, 11, 2), 30, SHANGHAI)  # 2 December
    assert clocks.remaining_days(due, local(2026, 11, 22), SHANGHAI) == 10
    assert clocks.remaining_days(due, local(2026, 12, 3), SHANGHAI) == -1


def test_open_cases_get_their_deadlines_again_after_a_calendar_upgrade(app, monkeypatch):
    """A deadline counted Monday-Friday (no calendar yet) follows the holidays once known."""
    from mediation.cases import extension
    from mediation.extensions import db
    from tests.factories import make_case, make_institution, make_mediator, make_user

    with app.app_context():
        case = make_case(make_user(), make_user(), mediator=make_mediator(make_institution()))
        db.session.commit()
        before = case.respondent_due_at
        assert extension.recompute_deadlines() == 0  # nothing changed in the calendar
        # The "upgraded" calendar makes every day of the old window a public holiday.
        original = clocks.is_working_day
        holidays = {before.astimezone(SHANGHAI).date() - timedelta(days=n) for n in range(7)}
        monkeypatch.setattr(clocks, "is_working_day", lambda d: d not in holidays and original(d))
        assert extension.recompute_deadlines() == 1
        assert case.respondent_due_at > before


def test_the_command_reports_the_recomputed_cases(runner):
    result = runner.invoke(args=["cases", "recompute-deadlines"])
    assert result.exit_code == 0 and "0 cases got new deadlines" in result.output


def test_the_worker_recomputes_once_when_the_calendar_learns_a_new_year(app, monkeypatch):
    from mediation.cases import extension
    from mediation.extensions import db
    from tests.factories import make_case, make_institution, make_mediator, make_user

    with app.app_context():
        make_case(make_user(), make_user(), mediator=make_mediator(make_institution()))
        assert extension.recompute_when_calendar_grew() == 0  # first run: remembers the year
        assert extension.recompute_when_calendar_grew() is None  # nothing new
        monkeypatch.setattr(clocks, "known_until", lambda: 2027)  # the package was upgraded
        assert extension.recompute_when_calendar_grew() == 0
        assert extension.recompute_when_calendar_grew() is None  # once only
        db.session.rollback()
