"""Benchmark: free-slot search for a mediator with a year of sessions (goal: p99 under 30 ms).

Builds a fresh database per backend with the migrations; 30 mediators keep weekday hours
(09:00-12:00, 14:00-17:30) and have a session in three or four of four fixed places on
every working day from half a year back to half a year ahead (about 30,000 sessions). Then
times what the pages ask for, for one mediator, loading from the database each time:

- "book: next 14 days"   the times offered on the booking page;
- "week view"            the mediator's calendar of one week (sessions and free times);
- "next 60 days"         a longer search;
- "reference: whole year" the same 14-day search computed from every session of the year,
                          which is what a query without the date range would cost.

    .venv/bin/python bench/slots.py                    # SQLite and PostgreSQL
    .venv/bin/python bench/slots.py --backends sqlite --runs 300
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import fresh_app, percentile
from sqlalchemy import insert, select

from mediation.accounts.models import Institution, User, UserRole
from mediation.booking import calendar, slots
from mediation.booking.models import AvailabilityRule, BookingSettings, MediationSession
from mediation.cases import clocks
from mediation.cases.models import Case
from mediation.extensions import db

TARGET_P99_MS = 30
MEDIATORS = 30
ZONE = ZoneInfo("Asia/Shanghai")
# Four places a day that never overlap with a 15-minute buffer.
PLACES = [clock(9), clock(10, 30), clock(14), clock(15, 30)]


def seed(rng: random.Random, today: date) -> int:
    institution = Institution(name="基准调解委员会", region_code="320102", address="南京")
    db.session.add(institution)
    db.session.flush()
    mediators = [
        User(real_name=f"调解员{n}", phone=f"+86137{n:08d}", institution_id=institution.id)
        for n in range(MEDIATORS)
    ]
    for user in mediators:
        user.role_rows = [UserRole(role="mediator")]
    db.session.add_all(mediators)
    db.session.flush()
    for user in mediators:
        db.session.add(BookingSettings(mediator_id=user.id, time_zone=ZONE.key))
        for weekday in range(5):
            db.session.add_all(
                [
                    AvailabilityRule(
                        mediator_id=user.id, weekday=weekday, starts=clock(9), ends=clock(12)
                    ),
                    AvailabilityRule(
                        mediator_id=user.id, weekday=weekday, starts=clock(14), ends=clock(17, 30)
                    ),
                ]
            )
    cases = [
        Case(number=f"2026-{n:06d}", category="neighbourhood", title="基准", mediator_id=u.id)
        for n, u in enumerate(mediators)
    ]
    db.session.add_all(cases)
    db.session.flush()
    rows = []
    day = today - timedelta(days=183)
    while day <= today + timedelta(days=183):
        if clocks.is_working_day(day):
            for user, case in zip(mediators, cases, strict=True):
                for place in rng.sample(PLACES, rng.choice([3, 4])):
                    start = datetime.combine(day, place, tzinfo=ZONE).astimezone(UTC)
                    rows.append(
                        {
                            "case_id": case.id,
                            "mediator_id": user.id,
                            "start_at": start,
                            "end_at": start + timedelta(hours=1),
                            "busy_until": start + timedelta(minutes=75),
                            "local_day": day,
                            "status": "scheduled",
                            "reception": False,
                            "uid": f"{user.id}-{start.isoformat()}@bench",
                            "sequence": 0,
                            "note": "",
                            "cancel_reason": "",
                        }
                    )
        day += timedelta(days=1)
    for chunk in range(0, len(rows), 5000):
        db.session.execute(insert(MediationSession), rows[chunk : chunk + 5000])
    db.session.commit()
    return mediators[0].id


def whole_year(mediator_id: int, today: date, now: datetime) -> list[slots.Slot]:
    rules = slots.load_rules(mediator_id, today, today + timedelta(days=13))
    busy = [
        slots.Busy(*row)
        for row in db.session.execute(
            select(
                MediationSession.start_at,
                MediationSession.busy_until,
                MediationSession.local_day,
            ).where(MediationSession.mediator_id == mediator_id)
        )
    ]
    return slots.compute(rules, today, 14, busy, now=now)


def measure(backend: str, runs: int) -> tuple[int, list[tuple[str, list[float], int]]]:
    now = datetime.now(UTC)
    today = now.astimezone(ZONE).date()
    with fresh_app(backend):
        mediator_id = seed(random.Random(2026), today)
        total = db.session.query(MediationSession).count()
        queries = {
            "book: next 14 days": lambda: slots.free_slots(mediator_id, today, 14, now=now),
            "week view": lambda: calendar.week_of(mediator_id, today, ZONE, now=now).days,
            "next 60 days": lambda: slots.free_slots(mediator_id, today, 60, now=now),
            "reference: whole year": lambda: whole_year(mediator_id, today, now),
        }
        results = []
        for name, query in queries.items():
            timings = []
            for _ in range(runs):
                db.session.expunge_all()  # every run loads from the database
                started = time.perf_counter()
                found = query()
                timings.append((time.perf_counter() - started) * 1000)
            timings.sort()
            results.append((name, timings, len(found)))
    return total, results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    print(f"free-slot search, {args.runs} runs each; goal p99 under {TARGET_P99_MS} ms\n")
    print(
        f"{'backend':<11} {'query':<22} {'median ms':>10} {'p95 ms':>8} {'p99 ms':>8} "
        f"{'found':>6}  goal"
    )
    failed = False
    for backend in args.backends.split(","):
        total, rows = measure(backend, args.runs)
        for name, timings, found in rows:
            p99 = percentile(timings, 0.99)
            reference = name.startswith("reference")
            ok = p99 < TARGET_P99_MS
            failed |= not ok and not reference
            verdict = "—" if reference else ("met" if ok else "MISSED")
            print(
                f"{backend:<11} {name:<22} {statistics.median(timings):>10.2f} "
                f"{percentile(timings, 0.95):>8.2f} {p99:>8.2f} {found:>6}  {verdict}"
            )
        print(f"{'':<11} ({total:,} sessions in the table)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
