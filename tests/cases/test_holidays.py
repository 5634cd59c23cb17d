"""The operator's holiday file: a year the chinese-calendar package does not know yet.

The year is computed from the installed package (the first it does not know), so these tests
hold after the package learns next year. The holidays are made up in the shape of a State
Council notice: a Spring Festival of nine days from a Saturday, and the Saturday after it
worked."""

import os
import subprocess
import sys
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
import time_machine

from mediation.booking.models import AvailabilityRule
from mediation.booking.slots import Rules, day_windows
from mediation.cases import clocks, extension, holidays
from mediation.config import ConfigurationError
from mediation.extensions import db
from tests.factories import make_case, make_institution, make_mediator, make_user

SHANGHAI = ZoneInfo("Asia/Shanghai")
YEAR = max(chinese_calendar.holidays).year + 1  # the first year the package does not know
MONDAY = next(date(YEAR, 2, d) for d in range(1, 8) if date(YEAR, 2, d).weekday() == 0)
FESTIVAL = [MONDAY - timedelta(days=2) + timedelta(days=n) for n in range(9)]  # Sat..Sun
WORKED = MONDAY + timedelta(days=12)  # the Saturday after

NOTICE = f"""
# Made up in the shape of the State Council's notice for {YEAR}.
[{YEAR}]
holidays = [
  {{ name = "元旦", days = "{YEAR}-01-01" }},
  {{ name = "春节", days = "{FESTIVAL[0]}..{FESTIVAL[-1]}" }},
]
workdays = ["{WORKED}"]
"""


def local(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=SHANGHAI)


def last_day(due: datetime) -> date:
    return due.astimezone(SHANGHAI).date()


@pytest.fixture
def notice(tmp_path) -> Path:
    path = tmp_path / "holidays.toml"
    path.write_text(NOTICE, encoding="utf-8")
    return path


@pytest.fixture
def with_notice(app, notice, monkeypatch):
    """The app as started with the file (create_app reads it once, load_holidays)."""
    monkeypatch.setitem(app.extensions, clocks.SUPPLEMENT, holidays.load(notice))
    return app


def test_the_file_s_festival_is_not_counted_as_working_days(with_notice):
    thursday = MONDAY - timedelta(days=4)
    with with_notice.app_context():
        # Friday, then nine days off, then Monday and Tuesday of the week after.
        due = clocks.working_days_after(local(thursday), 3, SHANGHAI)
        assert last_day(due) == MONDAY + timedelta(days=8)
        # The worked Saturday counts: Thursday, Friday, Saturday.
        due = clocks.working_days_after(local(MONDAY + timedelta(days=9)), 3, SHANGHAI)
        assert last_day(due) == WORKED
        # Civil Code art 203: a period ending in the festival ends on the first working day.
        ends_in_festival = local(MONDAY) - timedelta(days=30)
        assert last_day(clocks.period_end(ends_in_festival, 30, SHANGHAI)) == FESTIVAL[-1] + (
            timedelta(days=1)
        )
        assert clocks.is_public_holiday(MONDAY) and clocks.is_public_holiday(date(YEAR, 1, 1))
        assert not clocks.is_public_holiday(WORKED)
        assert clocks.is_makeup_working_day(WORKED)
        assert clocks.known_until() == YEAR


def test_without_the_file_the_same_days_count_monday_to_friday(app):
    with app.app_context():
        due = clocks.working_days_after(local(MONDAY - timedelta(days=4)), 3, SHANGHAI)
        assert last_day(due) == MONDAY + timedelta(days=1)
        assert clocks.known_until() == YEAR - 1


def test_a_mediator_cannot_be_booked_on_the_file_s_holidays(with_notice):
    rules = Rules(
        zone=SHANGHAI,
        weekly=[
            AvailabilityRule(weekday=d, starts=time(9), ends=time(12), reception=False)
            for d in range(7)
        ],
    )
    with with_notice.app_context():
        assert day_windows(MONDAY, rules) == []  # a festival Monday: off
        assert day_windows(MONDAY + timedelta(days=7), rules) != []
        assert day_windows(WORKED, rules) != []  # the worked Saturday: Monday's hours


def test_open_cases_follow_a_year_added_to_the_file(app, notice, monkeypatch):
    """The worker computes open cases' deadlines again once, when the file brings a year."""
    accepted = local(MONDAY - timedelta(days=4))
    with app.app_context(), time_machine.travel(accepted, tick=False):
        case = make_case(make_user(), make_user(), mediator=make_mediator(make_institution()))
        db.session.commit()
        counted_monday_to_friday = case.respondent_due_at
        assert extension.recompute_when_calendar_grew() == 0  # remembers the year known
        assert extension.recompute_when_calendar_grew() is None

        # The process restarts with the file (create_app reads it).
        monkeypatch.setitem(app.extensions, clocks.SUPPLEMENT, holidays.load(notice))
        assert extension.recompute_when_calendar_grew() == 1
        assert extension.recompute_when_calendar_grew() is None  # once only
        db.session.commit()
        assert case.respondent_due_at > counted_monday_to_friday
        assert last_day(case.respondent_due_at) == MONDAY + timedelta(days=8)


def test_a_year_in_the_file_replaces_the_package_s(app, tmp_path, monkeypatch):
    # A notice can change a published calendar (the Spring Festival of 2020 was lengthened).
    known = YEAR - 1
    weekday = next(
        date(known, 3, d) for d in range(2, 9) if chinese_calendar.is_workday(date(known, 3, d))
    )
    weekday = weekday if weekday.weekday() < 5 else weekday + timedelta(days=2)
    path = tmp_path / "changed.toml"
    path.write_text(f'[{known}]\nholidays = [{{ name = "春节", days = "{weekday}" }}]\n')
    monkeypatch.setitem(app.extensions, clocks.SUPPLEMENT, holidays.load(path))
    with app.app_context():
        assert not clocks.is_working_day(weekday)
        assert clocks.is_public_holiday(weekday)


def test_create_app_reads_the_file_and_refuses_a_wrong_one(tmp_path, notice):
    from mediation import create_app

    settings = {"ENV_NAME": "testing", "INSTANCE_PATH": str(tmp_path / "instance")}
    app = create_app({**settings, "HOLIDAYS_FILE": str(notice)})
    assert YEAR in app.extensions[clocks.SUPPLEMENT].years
    # holidays.toml in the instance folder is read without a setting.
    (tmp_path / "instance" / "holidays.toml").write_text(NOTICE, encoding="utf-8")
    assert YEAR in create_app(settings).extensions[clocks.SUPPLEMENT].years
    wrong = tmp_path / "wrong.toml"
    wrong.write_text(NOTICE.replace(str(WORKED), str(MONDAY + timedelta(days=10))))
    with pytest.raises(ConfigurationError, match="is a weekday; workdays lists only"):
        create_app({**settings, "HOLIDAYS_FILE": str(wrong)})


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("[2027\nholidays = []", "not TOML"),
        ('[twenty]\nholidays = [{ name = "春节", days = "2027-02-06" }]', "named by the year"),
        ('[2027]\nholidays = [{ name = "春节", days = "2027-02-06" }]\nextra = 1', "unknown key"),
        ('[2027]\nholidays = [{ name = "Spring", days = "2027-02-06" }]', "not a public holiday"),
        ('[2027]\nholidays = [{ name = "春节" }]', "each holiday is"),
        ('[2027]\nholidays = [{ name = "春节", days = "2027-02-30" }]', "is not a date"),
        ('[2027]\nholidays = [{ name = "春节", days = "2027-02-10..2027-02-06" }]', "a range"),
        ('[2027]\nholidays = [{ name = "春节", days = "2027-01-01..2027-03-01" }]', "at most 20"),
        ('[2027]\nholidays = [{ name = "春节", days = "2028-02-06" }]', "outside 2027"),
        (
            '[2027]\nholidays = [{ name = "春节", days = "2027-02-06..2027-02-08" },'
            ' { name = "元旦", days = "2027-02-08" }]',
            "given twice",
        ),
        (
            '[2027]\nholidays = [{ name = "春节", days = "2027-02-06..2027-02-08" }]\n'
            'workdays = ["2027-02-06"]',
            "both a holiday and a workday",
        ),
        ('[2027]\nworkdays = ["2027-02-13"]', "no holidays"),
        ('[2027]\nholidays = [{ name = "春节", days = "2027-02-08" }]\nworkdays = "x"', "a list"),
    ],
    ids=lambda value: value if value.isascii() and "\n" not in value else "",
)
def test_a_wrong_file_is_refused_with_the_place_to_mend(tmp_path, text, says):
    # (a fixed year: reading a file does not depend on what the package knows)
    path = tmp_path / "holidays.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(holidays.HolidayFileError, match=says) as refused:
        holidays.load(path)
    assert str(path) in str(refused.value)


def test_a_file_that_is_not_text_is_refused(tmp_path):
    path = tmp_path / "holidays.toml"
    path.write_bytes(b"\xff\xfe[2027]")
    with pytest.raises(holidays.HolidayFileError, match="not UTF-8"):
        holidays.load(path)
    with pytest.raises(holidays.HolidayFileError, match="cannot be read"):
        holidays.load(tmp_path / "missing.toml")


def test_the_command_shows_the_years_and_checks_a_file(with_notice, notice, tmp_path):
    runner = with_notice.test_cli_runner()
    shown = runner.invoke(args=["cases", "calendar"])
    assert shown.exit_code == 0, shown.output
    assert f"{YEAR} from {notice}" in shown.output and "春节 9 days" in shown.output
    assert f"until the end of {YEAR}" in shown.output
    checked = runner.invoke(args=["cases", "calendar", "--check", str(notice)])
    assert checked.exit_code == 0 and f"weekend days worked: {WORKED}" in checked.output
    wrong = tmp_path / "wrong.toml"
    wrong.write_text(NOTICE.replace("春节", "Spring"), encoding="utf-8")
    refused = runner.invoke(args=["cases", "calendar", "--check", str(wrong)])
    assert refused.exit_code == 1 and "not a public holiday" in refused.output


def test_the_mediation_command_says_what_is_wrong_without_a_traceback(tmp_path):
    wrong = tmp_path / "wrong.toml"
    wrong.write_text("[2027]\nholidays = 1\n", encoding="utf-8")
    env = {
        **os.environ,
        "MEDIATION_INSTANCE_PATH": str(tmp_path / "instance"),
        "MEDIATION_HOLIDAYS_FILE": str(wrong),
    }
    done = subprocess.run(
        [Path(sys.executable).parent / "mediation", "cases", "calendar"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 1
    assert "holidays must be a list" in done.stderr and "Traceback" not in done.stderr


def test_the_administrators_page_says_when_next_year_s_holidays_are_missing(app, notice):
    from tests.accounts.test_admin import admin_client

    warning = f"{YEAR}年的法定节假日尚未载入平台"

    def admin_page() -> str:
        page = admin_client(app).get("/admin/")
        assert page.status_code == 200
        return page.get_data(as_text=True)

    # From 15 November of the last year known (the notice is due), not before.
    with time_machine.travel(local(date(YEAR - 1, 11, 14)), tick=False):
        assert warning not in admin_page()
    with time_machine.travel(local(date(YEAR - 1, 11, 15)), tick=False):
        assert warning in admin_page()
        app.extensions[clocks.SUPPLEMENT] = holidays.load(notice)  # the operator gave it
        try:
            assert "法定节假日尚未载入" not in admin_page()
        finally:
            app.extensions[clocks.SUPPLEMENT] = holidays.EMPTY
