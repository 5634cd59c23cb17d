"""Slot computation: buffers, exceptions, public holidays, make-up days, time zones."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from mediation.booking.models import AvailabilityException, AvailabilityRule
from mediation.booking.slots import Busy, Rules, compute, fits

SHANGHAI = ZoneInfo("Asia/Shanghai")
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


def weekly(*days, starts="09:00", ends="12:00", reception=False):
    return [
        AvailabilityRule(
            weekday=d,
            starts=time.fromisoformat(starts),
            ends=time.fromisoformat(ends),
            reception=reception,
            place="",
        )
        for d in days
    ]


def rules(**kw) -> Rules:
    kw.setdefault("zone", SHANGHAI)
    kw.setdefault("weekly", weekly(0, 1, 2, 3, 4))
    kw.setdefault("min_notice_hours", 0)
    return Rules(**kw)


def local(day: date, hhmm: str, zone=SHANGHAI) -> datetime:
    return datetime.combine(day, time.fromisoformat(hhmm), tzinfo=zone).astimezone(UTC)


def starts(slots, zone=SHANGHAI) -> list[str]:
    return [s.start.astimezone(zone).strftime("%H:%M") for s in slots]


MONDAY = date(2026, 11, 23)


def test_a_morning_gives_half_hourly_starts_that_fit_the_window():
    slots = compute(rules(), MONDAY, 1, [], now=LONG_AGO)
    assert starts(slots) == ["09:00", "09:30", "10:00", "10:30", "11:00"]
    assert all(s.end - s.start == timedelta(hours=1) for s in slots)


def test_the_buffer_keeps_time_free_after_a_session_and_before_the_next():
    # A session 10:00-11:00 with a 15-minute buffer keeps 10:00-11:15 busy; a new one must
    # also leave its own buffer before 10:00.
    busy = [Busy(local(MONDAY, "10:00"), local(MONDAY, "11:15"), MONDAY)]
    slots = compute(rules(buffer_minutes=15), MONDAY, 1, busy, now=LONG_AGO)
    assert starts(slots) == []  # 09:00+1h+15min > 10:00; 11:30+1h > 12:00
    slots = compute(rules(buffer_minutes=15, session_minutes=30), MONDAY, 1, busy, now=LONG_AGO)
    assert starts(slots) == ["09:00", "11:30"]  # 09:30 would end 10:00, +15 min overlaps


def test_leave_takes_out_a_whole_day_or_some_hours_and_extra_hours_add_some():
    leave_day = AvailabilityException(day=MONDAY, starts=None, ends=None, available=False)
    assert compute(rules(exceptions=[leave_day]), MONDAY, 1, [], now=LONG_AGO) == []
    leave_hours = AvailabilityException(
        day=MONDAY, starts=time(9, 30), ends=time(10, 30), available=False
    )
    slots = compute(rules(exceptions=[leave_hours]), MONDAY, 1, [], now=LONG_AGO)
    assert starts(slots) == ["10:30", "11:00"]
    saturday = date(2026, 11, 28)
    extra = AvailabilityException(day=saturday, starts=time(14), ends=time(16), available=True)
    slots = compute(rules(exceptions=[extra]), saturday, 1, [], now=LONG_AGO)
    assert starts(slots) == ["14:00", "14:30", "15:00"]


def test_national_day_is_off_and_its_make_up_saturday_keeps_monday_hours():
    # 2026-10-01 (Thursday) is a public holiday; Saturday 2026-10-10 is a working day (调休).
    assert compute(rules(), date(2026, 10, 1), 1, [], now=LONG_AGO) == []
    assert starts(compute(rules(), date(2026, 10, 10), 1, [], now=LONG_AGO))[0] == "09:00"
    # A mediator may choose to work on public holidays.
    open_on_holidays = rules(holidays_off=False)
    assert compute(open_on_holidays, date(2026, 10, 1), 1, [], now=LONG_AGO) != []


def test_spring_festival_2026_is_off_and_its_make_up_days_open():
    # 春节 2026: 15-23 February off; Saturday 14 and Saturday 28 February are working days.
    first = date(2026, 2, 14)
    open_days = {
        s.start.astimezone(SHANGHAI).date() for s in compute(rules(), first, 15, [], now=LONG_AGO)
    }
    assert date(2026, 2, 14) in open_days and date(2026, 2, 28) in open_days
    assert not any(date(2026, 2, 15) <= d <= date(2026, 2, 23) for d in open_days)


def test_minimum_notice_and_the_daily_limit():
    now = local(MONDAY, "08:00")
    slots = compute(rules(min_notice_hours=2), MONDAY, 1, [], now=now)
    assert starts(slots) == ["10:00", "10:30", "11:00"]
    tuesday = MONDAY + timedelta(days=1)
    busy = [Busy(local(tuesday, "15:00"), local(tuesday, "16:00"), tuesday)]
    assert compute(rules(max_sessions_per_day=1), tuesday, 1, busy, now=LONG_AGO) == []


def test_the_daily_limit_counts_the_mediators_local_day_not_the_utc_day():
    # 07:30 in Shanghai on Tuesday is 23:30 UTC on Monday: it counts for Tuesday.
    tuesday = MONDAY + timedelta(days=1)
    early = local(tuesday, "07:30")
    assert early.date() == MONDAY
    busy = [Busy(early, early + timedelta(hours=1), tuesday)]
    limited = rules(max_sessions_per_day=1)
    assert compute(limited, MONDAY, 1, busy, now=LONG_AGO) != []
    assert compute(limited, tuesday, 1, busy, now=LONG_AGO) == []


def test_a_mediator_abroad_keeps_local_hours_across_a_daylight_saving_change():
    # London leaves summer time on Sunday 25 October 2026: 09:00 local is 08:00 UTC before,
    # 09:00 UTC after.
    london = ZoneInfo("Europe/London")
    r = rules(zone=london)
    before = compute(r, date(2026, 10, 23), 1, [], now=LONG_AGO)[0].start
    after = compute(r, date(2026, 10, 26), 1, [], now=LONG_AGO)[0].start
    assert (before.hour, after.hour) == (8, 9)


def test_a_local_time_that_does_not_exist_offers_no_slot():
    # New York springs forward on Sunday 8 March 2026: 02:00-03:00 does not exist.
    ny = ZoneInfo("America/New_York")
    r = rules(zone=ny, weekly=weekly(6, starts="01:00", ends="05:00"), holidays_off=False)
    slots = compute(r, date(2026, 3, 8), 1, [], now=LONG_AGO)
    assert "02:00" not in starts(slots, ny) and "02:30" not in starts(slots, ny)
    assert starts(slots, ny)[0] == "01:00"


def test_reception_hours_are_marked_and_can_be_asked_for_alone():
    r = rules(weekly=[*weekly(4, reception=True), *weekly(4, starts="14:00", ends="16:00")])
    friday = date(2026, 11, 27)
    all_slots = compute(r, friday, 1, [], now=LONG_AGO)
    reception = compute(r, friday, 1, [], now=LONG_AGO, reception_only=True)
    assert len(all_slots) == len(reception) + 3
    assert all(s.reception for s in reception) and starts(reception)[0] == "09:00"


def test_fits_names_the_reason_a_time_cannot_be_booked():
    r = rules(buffer_minutes=15, max_sessions_per_day=2, min_notice_hours=24)
    busy = [Busy(local(MONDAY, "10:00"), local(MONDAY, "11:15"), MONDAY)]
    now = local(MONDAY, "08:00") - timedelta(days=2)

    def why(at: str, minutes=60, when=now):
        start = local(MONDAY, at)
        return fits(r, start, start + timedelta(minutes=minutes), busy, now=when)

    assert why("09:10", 30) is None  # any start inside the hours, not only half hours
    assert why("09:30") == "taken"
    assert why("11:00") == "taken"
    assert why("11:15", 45) is None  # right after the buffer
    assert why("11:30", 45) == "hours"  # would end after 12:00
    assert why("09:00", 30, when=local(MONDAY, "08:00")) == "notice"
    two = [*busy, Busy(local(MONDAY, "15:00"), local(MONDAY, "16:00"), MONDAY)]
    start = local(MONDAY, "09:00")
    assert fits(r, start, start + timedelta(minutes=30), two, now=now) == "daily_limit"


def test_leave_wins_over_extra_hours_whatever_the_order_they_were_entered():
    saturday = date(2026, 11, 28)
    extra = AvailabilityException(day=saturday, starts=time(9), ends=time(12), available=True)
    away = AvailabilityException(day=saturday, starts=None, ends=None, available=False)
    part = AvailabilityException(day=saturday, starts=time(9), ends=time(11), available=False)
    for order in ([extra, away], [away, extra]):
        assert compute(rules(exceptions=order), saturday, 1, [], now=LONG_AGO) == []
    assert starts(compute(rules(exceptions=[part, extra]), saturday, 1, [], now=LONG_AGO)) == [
        "11:00"
    ]


def test_the_times_of_one_offer_count_once_against_the_daily_limit():
    tuesday = MONDAY + timedelta(days=1)
    offered = [
        Busy(local(tuesday, "09:00"), local(tuesday, "10:15"), tuesday, "offer-1"),
        Busy(local(tuesday, "10:30"), local(tuesday, "11:45"), tuesday, "offer-1"),
    ]
    limited = rules(max_sessions_per_day=2, weekly=weekly(1, starts="09:00", ends="17:00"))
    assert compute(limited, tuesday, 1, offered, now=LONG_AGO) != []  # one session, not two
    start = local(tuesday, "14:00")
    end = start + timedelta(hours=1)
    assert fits(limited, start, end, offered, now=LONG_AGO) is None
    booked = [*offered, Busy(local(tuesday, "12:00"), local(tuesday, "13:00"), tuesday, "#9")]
    assert fits(limited, start, end, booked, now=LONG_AGO) == "daily_limit"
    # A further time of the same offer is not a new session of the day.
    assert fits(limited, start, end, booked, now=LONG_AGO, offer_key="offer-1") is None
