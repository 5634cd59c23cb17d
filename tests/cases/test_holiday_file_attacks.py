"""Hostile holiday files (mediation/cases/holidays.py): whatever the operator's file holds,
``load`` answers with one line naming the file and what to mend (``HolidayFileError``), in
a moment: never a traceback (a TypeError, a RecursionError, a year out of range), never a
hang on a device or a huge file, and never a silent calendar that contradicts itself. The
mediation command, which stops at start-up on a wrong file, shows that line only."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mediation.cases import holidays

SPRING = '{ name = "春节", days = "2027-02-06" }'


@pytest.mark.parametrize(
    ("text", "says"),
    [
        # A name that is not text: `in NAMES` raised TypeError (unhashable).
        ('[2027]\nholidays = [{ name = ["春节"], days = "2027-02-06" }]', "not a public holiday"),
        ('[2027]\nholidays = [{ name = { a = 1 }, days = "2027-02-06" }]', "not a public holiday"),
        # A TOML date-time is a date to isinstance(): comparing it raised TypeError.
        ('[2027]\nholidays = [{ name = "春节", days = 2027-02-06T10:00:00 }]', "not a date"),
        (f"[2027]\nholidays = [{SPRING}]\nworkdays = [2027-02-13T01:00:00]", "not a date"),
        (f"[2027]\nholidays = [{SPRING}]\nworkdays = [10:00:00]", "not a date"),
        # Years the calendar has nothing to do with: date(year - 1, ...) raised ValueError.
        ('[0000]\nholidays = [{ name = "春节", days = "0000-02-06" }]', "a year from"),
        ('[0001]\nholidays = [{ name = "春节", days = "0001-02-06" }]', "a year from"),
        ('[9999]\nholidays = [{ name = "春节", days = "9999-02-06" }]', "a year from"),
        # Digits that are not ASCII: int() raised ValueError, or read another script's year.
        (f'["²⁰²⁷"]\nholidays = [{SPRING}]', "named by the year"),
        (f'["٢٠٢٧"]\nholidays = [{SPRING}]', "named by the year"),
        # Nesting deeper than the parser's recursion: RecursionError.
        ("x = " + "[" * 30000 + "]" * 30000, "not TOML"),
        ("x = " + "{ a = " * 3000 + "1" + " }" * 3000, "not TOML"),
        # One day a holiday in one year's table and a worked weekend day in another's (元旦
        # of 2027 can begin in 2026): the calendar would say both.
        (
            '[2026]\nholidays = [{ name = "元旦", days = "2026-01-01" }]\n'
            'workdays = ["2026-12-26"]\n'
            '[2027]\nholidays = [{ name = "元旦", days = "2026-12-26..2027-01-01" }]',
            "both a holiday and a workday",
        ),
        (
            '[2026]\nholidays = [{ name = "元旦", days = "2026-12-31" }]\n'
            '[2027]\nholidays = [{ name = "元旦", days = "2026-12-31..2027-01-01" }]',
            "given twice",
        ),
    ],
    ids=lambda value: value[:40] if value.isascii() and "\n" not in value else "",
)
def test_a_hostile_file_is_one_line_naming_it(tmp_path, text, says):
    path = tmp_path / "holidays.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(holidays.HolidayFileError, match=says) as refused:
        holidays.load(path)
    message = str(refused.value)
    assert str(path) in message and "\n" not in message and len(message) < 400


def test_what_the_file_says_is_shown_escaped_and_short(tmp_path):
    """A key or value is quoted in the message as a repr, cut short: a terminal escape or a
    newline in the file does not reach the operator's terminal, nor 5 MB of it their log."""
    path = tmp_path / "holidays.toml"
    path.write_text('["\\u001b[2J\\nfake line"]\nholidays = []\n', encoding="utf-8")
    with pytest.raises(holidays.HolidayFileError) as refused:
        holidays.load(path)
    assert "\x1b" not in str(refused.value) and "\n" not in str(refused.value)
    path.write_text(
        '[2027]\nholidays = [{ name = "' + "x" * 50_000 + '", days = "2027-02-06" }]',
        encoding="utf-8",
    )
    with pytest.raises(holidays.HolidayFileError, match="not a public holiday") as refused:
        holidays.load(path)
    assert len(str(refused.value)) < 400


def test_a_huge_file_or_a_device_is_refused_unread(tmp_path):
    big = tmp_path / "holidays.toml"
    big.write_text(f"[2027]\nholidays = [{SPRING}]\n" + "# 国务院办公厅\n" * 200_000)
    with pytest.raises(holidays.HolidayFileError, match="larger than"):
        holidays.load(big)
    # /dev/zero never ends: read_bytes() filled the memory; a FIFO waited for a writer.
    with pytest.raises(holidays.HolidayFileError, match="not a regular file"):
        holidays.load("/dev/zero")
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    with pytest.raises(holidays.HolidayFileError, match="not a regular file"):
        holidays.load(fifo)


def test_a_byte_order_mark_is_no_mistake(tmp_path):
    """Windows' Notepad saves UTF-8 with a byte order mark; the file is the notice all the
    same (TOML 1.0 does not allow one, so it is taken off before parsing)."""
    path = tmp_path / "holidays.toml"
    path.write_bytes(f"\ufeff[2027]\nholidays = [{SPRING}]\n".encode())
    assert holidays.load(path).holiday(__import__("datetime").date(2027, 2, 6)) == "春节"


def test_the_command_shows_one_line_for_a_hostile_file(tmp_path):
    wrong = tmp_path / "wrong.toml"
    wrong.write_text('[2027]\nholidays = [{ name = ["春节"], days = "2027-02-06" }]\n')
    done = subprocess.run(
        [Path(sys.executable).parent / "mediation", "cases", "calendar", "--check", str(wrong)],
        capture_output=True,
        text=True,
        env={**os.environ, "MEDIATION_INSTANCE_PATH": str(tmp_path / "instance")},
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and "not a public holiday" in done.stderr
