"""The State Council's holiday calendar for years the chinese-calendar package does not know.

The State Council publishes each year's public holidays and make-up working days (调休) in its
last weeks, and the package learns them only with a new release. Until then every statutory
clock reaching into that year (the 3 working days of SPC online mediation rules arts 12 and
15, a period ending on a holiday under Civil Code art 203) and every mediator's bookable day
would count the Spring Festival as working days. The operator copies the published notice
into a TOML file (``MEDIATION_HOLIDAYS_FILE``, default ``holidays.toml`` in the instance
folder); ``mediation cases calendar --check FILE`` checks one before it is installed::

    # 国务院办公厅关于2027年部分节假日安排的通知
    [2027]
    holidays = [
      { name = "元旦", days = "2027-01-01" },
      { name = "春节", days = "2027-02-05..2027-02-12" },
    ]
    workdays = ["2027-02-14"]   # weekend days worked (调休上班)

A year in the file replaces the package's for that year (a notice can change a published
calendar, as the Spring Festival of 2020 was lengthened). Nothing else is read from the file:
a mistake in it stops the process at start-up with the line to mend, never a silent guess.
"""

from __future__ import annotations

import os
import stat
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property
from pathlib import Path

# chinese-calendar's names, in the notice's own words; any other name is refused, so that a
# typo is found before it reaches a deadline.
NAMES = frozenset(
    {"元旦", "春节", "清明节", "劳动节", "端午节", "中秋节", "国庆节", "中秋节、国庆节"}
)
# The most days a notice has ever given one holiday (2020's Spring Festival, lengthened: 17).
LONGEST_HOLIDAY = 20
# A notice is a few dozen lines; anything far larger is not one (and a device such as
# /dev/zero never ends): the file is read no further than this.
MOST_BYTES = 64 * 1024
# The years a file may give: the State Council's notices began in 2000 (国务院 1999 年《全国
# 年节及纪念日放假办法》); a year far ahead is a typo. (date(year - 1, ...) below also needs
# a year above 1.)
YEARS = range(2000, 2101)
# How much of what the file says a message quotes (as a repr: no control character of the
# file reaches the operator's terminal or log, and the message stays one line).
QUOTED = 40


class HolidayFileError(ValueError):
    """The file cannot be used; the message names the place and what to change."""


@dataclass(frozen=True)
class YearDays:
    """One year as the State Council's notice gives it."""

    holidays: dict[date, str] = field(default_factory=dict)  # day -> the holiday's name
    workdays: frozenset[date] = frozenset()  # weekend days worked


@dataclass(frozen=True)
class Supplement:
    """The years the operator's file gives; empty when there is no file."""

    years: dict[int, YearDays] = field(default_factory=dict)
    source: str | None = None

    @cached_property
    def _holidays(self) -> dict[date, str]:
        return {d: n for days in self.years.values() for d, n in days.holidays.items()}

    @cached_property
    def _workdays(self) -> frozenset[date]:
        return frozenset(d for days in self.years.values() for d in days.workdays)

    def decides(self, day: date) -> bool:
        """Whether the file speaks for ``day``: its year is in the file, or the day is listed
        (元旦 can begin on 31 December, in the next year's notice)."""
        return day.year in self.years or day in self._holidays or day in self._workdays

    def holiday(self, day: date) -> str | None:
        """The public holiday's name on ``day``, if it is one."""
        return self._holidays.get(day)

    def is_working_day(self, day: date) -> bool:
        if day in self._holidays:
            return False
        return day in self._workdays or day.weekday() < 5


EMPTY = Supplement()


def _quoted(value: object) -> str:
    """What the file says, for a message: its repr, cut short."""
    shown = repr(value)
    return shown if len(shown) <= QUOTED else f"{shown[:QUOTED]}…"


def _read(path: str | Path) -> str:
    """The file's text: a regular file of at most ``MOST_BYTES``, in UTF-8 (a byte order
    mark, as Windows' Notepad writes, taken off: TOML has none)."""
    try:
        # O_NONBLOCK: opening a FIFO for reading does not wait for a writer.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as error:
        raise HolidayFileError(f"{path}: cannot be read ({error.strerror})") from None
    with os.fdopen(fd, "rb") as file:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise HolidayFileError(f"{path}: not a regular file")
        try:
            data = file.read(MOST_BYTES + 1)
        except OSError as error:
            raise HolidayFileError(f"{path}: cannot be read ({error.strerror})") from None
    if len(data) > MOST_BYTES:
        raise HolidayFileError(
            f"{path}: larger than {MOST_BYTES // 1024} KiB: a holiday file is a few lines"
        )
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        raise HolidayFileError(f"{path}: not UTF-8 text") from None


def load(path: str | Path) -> Supplement:
    """Read and check ``path``; :class:`HolidayFileError` says what is wrong and where, in
    one line, whatever the file holds."""
    text = _read(path)
    try:
        parsed = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise HolidayFileError(f"{path}: not TOML: {error}") from None
    except RecursionError:  # brackets nested thousands deep
        raise HolidayFileError(f"{path}: not TOML: nested too deep") from None
    years = {}
    for key, table in parsed.items():
        where = f"{path} [{key if key.isascii() and key.isalnum() else _quoted(key)}]"
        # ASCII digits only: str.isdigit() also holds for "²⁰²⁷" (int() refuses it) and
        # "٢٠٢٧" (int() reads it as 2027).
        if not (key.isascii() and key.isdigit() and len(key) == 4):
            raise HolidayFileError(f"{where}: a table per year, named by the year, e.g. [2027]")
        if int(key) not in YEARS:
            raise HolidayFileError(f"{where}: a year from {YEARS[0]} to {YEARS[-1]}")
        if not isinstance(table, dict):
            raise HolidayFileError(f"{where}: must be a table with holidays and workdays")
        years[int(key)] = _year(int(key), table, where)
    _agree(years, str(path))
    return Supplement(years=years, source=str(path))


def _agree(years: dict[int, YearDays], where: str) -> None:
    """The years' tables do not contradict each other: a notice's 元旦 can begin in the
    year before, so one day can be in two tables."""
    holidays: set[date] = set()
    for days in years.values():
        twice = holidays & days.holidays.keys()
        if twice:
            raise HolidayFileError(f"{where}: {min(twice)} is given twice")
        holidays |= days.holidays.keys()
    for days in years.values():
        both = holidays & days.workdays
        if both:
            raise HolidayFileError(f"{where}: {min(both)} is both a holiday and a workday")


def _year(year: int, table: dict, where: str) -> YearDays:
    unknown = set(table) - {"holidays", "workdays"}
    if unknown:
        raise HolidayFileError(f"{where}: unknown key {sorted(unknown)[0]!r}")
    holidays: dict[date, str] = {}
    entries = table.get("holidays", [])
    if not isinstance(entries, list):
        raise HolidayFileError(f"{where}: holidays must be a list of {{ name, days }}")
    for entry in entries:
        if not isinstance(entry, dict) or set(entry) != {"name", "days"}:
            raise HolidayFileError(
                f'{where}: each holiday is {{ name = "春节", days = "YYYY-MM-DD..YYYY-MM-DD" }}'
            )
        name = entry["name"]
        if not isinstance(name, str) or name not in NAMES:
            raise HolidayFileError(
                f"{where}: {_quoted(name)} is not a public holiday; "
                f"one of {', '.join(sorted(NAMES))}"
            )
        for day in _days(entry["days"], year, where):
            if day in holidays:
                raise HolidayFileError(f"{where}: {day} is given twice")
            holidays[day] = name
    listed = table.get("workdays", [])
    if not isinstance(listed, list):
        raise HolidayFileError(f"{where}: workdays must be a list of dates")
    workdays = set()
    for value in listed:
        (day,) = _days(value, year, where, single=True)
        if day.weekday() < 5:
            raise HolidayFileError(
                f"{where}: {day} is a weekday; workdays lists only the weekend days worked"
            )
        if day in holidays:
            raise HolidayFileError(f"{where}: {day} is both a holiday and a workday")
        workdays.add(day)
    if not holidays:
        raise HolidayFileError(f"{where}: no holidays: copy them from the State Council's notice")
    return YearDays(holidays=holidays, workdays=frozenset(workdays))


def _days(value: object, year: int, where: str, *, single: bool = False) -> list[date]:
    """``"2027-02-05"`` or ``"2027-02-05..2027-02-12"`` (both days included)."""
    # A bare TOML date; not a date-time (a date to isinstance(), but not comparable with one).
    if isinstance(value, date) and not isinstance(value, datetime):
        first = last = value
    elif isinstance(value, str):
        first_text, _, last_text = value.partition("..")
        if single and last_text:
            raise HolidayFileError(f"{where}: {_quoted(value)}: one date here, not a range")
        try:
            first = date.fromisoformat(first_text.strip())
            last = date.fromisoformat(last_text.strip()) if last_text else first
        except ValueError:
            raise HolidayFileError(
                f"{where}: {_quoted(value)} is not a date (YYYY-MM-DD) or a range "
                "(YYYY-MM-DD..YYYY-MM-DD)"
            ) from None
    else:
        raise HolidayFileError(f"{where}: {_quoted(value)} is not a date")
    if last < first or (last - first).days >= LONGEST_HOLIDAY:
        raise HolidayFileError(
            f"{where}: {_quoted(value)} is not a range of at most {LONGEST_HOLIDAY} days"
        )
    # A notice's holidays can begin on 31 December of the year before (元旦); each day is
    # kept under its own year, but must be within a week of the table's year.
    if not (date(year - 1, 12, 25) <= first and last <= date(year, 12, 31)):
        raise HolidayFileError(f"{where}: {_quoted(value)} is outside {year}")
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def configured(path: str | None, instance_path: Path) -> Supplement:
    """The file an installation is configured with: ``path``, or the instance folder's
    holidays.toml when there is one; no file is no supplement."""
    if path:
        return load(path)
    default = instance_path / "holidays.toml"
    return load(default) if default.exists() else EMPTY
