"""The read side: a week of a mediator's calendar, also across a daylight-saving change."""

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from mediation.booking import availability, calendar
from mediation.booking import operations as booking
from mediation.extensions import db
from tests.factories import make_mediating_case

BERLIN = ZoneInfo("Europe/Berlin")


def test_a_week_after_the_clocks_change_keeps_its_monday_night_session(app_ctx):
    # Summer time begins on Sunday 28 March 2027; the next week starts on the 29th.
    case = make_mediating_case()
    settings = availability.settings_for(case.mediator_id)
    settings.time_zone, settings.min_notice_hours, settings.holidays_off = BERLIN.key, 0, False
    for weekday in range(7):
        availability.add_rule(
            case.mediator_id, weekday, time(0), time(23), reception=False, place=""
        )
    db.session.flush()
    start = datetime(2027, 3, 29, 0, 0, tzinfo=BERLIN).astimezone(UTC)
    booking.book(case, by=case.mediator, start=start, now=datetime(2027, 3, 1, tzinfo=UTC))
    now = datetime(2027, 3, 1, tzinfo=UTC)
    before = calendar.week_of(case.mediator_id, date(2027, 3, 24), BERLIN, now=now)
    assert sum(len(d.sessions) for d in before.days) == 0
    after = calendar.week_of(case.mediator_id, date(2027, 3, 29), BERLIN, now=now)
    assert len(after.days[0].sessions) == 1
