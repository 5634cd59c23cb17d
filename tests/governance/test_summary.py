"""The monthly tallies give a province's and a city's dashboard exactly the live figures, on
both databases: after the worker's refresh, right after a change (its month is counted live
until the next refresh), and after that refresh."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from mediation.agreements.models import Agreement
from mediation.cases.models import Case
from mediation.extensions import db
from mediation.followup.models import Obligation
from mediation.governance import tallies
from mediation.governance.figures import region_figures
from mediation.governance.listing import child_areas
from mediation.governance.models import DirtyMonth
from mediation.governance.months import BEIJING
from mediation.governance.summary import region_overview
from tests.factories import make_institution

# A fixed instant in the middle of a month (no dependence on today's date).
NOW = datetime(2026, 6, 17, 5, 30, tzinfo=UTC)
AREAS = ("32", "3201", "3301", "320102001", "33", "320102")
STATUSES = [
    ("submitted", None),
    ("in_mediation", None),
    ("signed", None),
    ("confirmed", None),
    ("terminated", "unreachable"),
    ("terminated", "too_far_apart"),
    ("declined", "deadline_expired"),
]
PLACES = ["320102001", "320102002", "320105001", "3201", "32", "330102001", "320201003", None]


def _seed(institutions: list[int]) -> list[Case]:
    cases = []
    for n in range(160):
        status, reason = STATUSES[n % len(STATUSES)]
        filed = NOW - timedelta(days=(n * 37) % 560, hours=(n * 7) % 24)
        case = Case(
            number=f"T{n}",
            category=["neighbourhood", "labour", "tenancy"][n % 3],
            title="",
            region_code="320000",
            area_code=PLACES[n % len(PLACES)],
            status=status,
            termination_reason=reason,
            institution_id=None if n % 5 == 0 else institutions[n % len(institutions)],
            created_at=filed,
            acceptance_due_at=filed + timedelta(days=3),
            mediation_due_at=filed + timedelta(days=30 + n % 400),
        )
        db.session.add(case)
        cases.append(case)
    db.session.flush()
    for case in cases[2::3]:
        agreement = Agreement(case_id=case.id, status="effective", short_code=f"A{case.id}")
        db.session.add(agreement)
        db.session.flush()
        for position, days in enumerate((5, 45, 400)):
            due = (case.created_at + timedelta(days=days)).astimezone(BEIJING).date()
            status = ["performed", "partly", "missed", "pending"][(case.id + position) % 4]
            db.session.add(
                Obligation(
                    case_id=case.id,
                    agreement_id=agreement.id,
                    position=position,
                    due_on=due,
                    status=status,
                )
            )
    db.session.flush()
    return cases


def _periods():
    yield NOW - timedelta(days=365), NOW  # the last twelve months
    for year in (2025, 2026):  # calendar years in Beijing time
        yield (
            datetime(year, 1, 1, tzinfo=BEIJING).astimezone(UTC),
            datetime(year + 1, 1, 1, tzinfo=BEIJING).astimezone(UTC),
        )


def _same_as_live() -> None:
    for area in AREAS:
        for since, until in _periods():
            live = region_figures(area, since, until, NOW)
            summed = region_overview(area, since, until, NOW)
            for name in ("by_category", "by_status", "by_institution"):
                assert sorted(getattr(summed, name)) == sorted(getattr(live, name)), (area, name)
            assert summed.by_month == live.by_month, area
            assert summed.children == child_areas(area, since, until), area
            assert summed.total == live.total and summed.clocks_missed == live.clocks_missed
            assert summed.performance == live.performance, (area, since)
            assert (summed.settled, summed.terminated, summed.confirmed) == (
                live.settled,
                live.terminated,
                live.confirmed,
            )


def test_the_tallies_give_the_live_figures_before_and_after_a_change(app_ctx):
    institutions = [make_institution().id for _n in range(3)]
    cases = _seed(institutions)
    assert tallies.refresh(NOW) >= 18
    db.session.flush()
    assert not db.session.scalar(select(func.count()).select_from(DirtyMonth))
    _same_as_live()

    # A case of an old month ends, another moves to a district; an obligation is performed.
    old = cases[4 * 7]  # an in-mediation... whatever its status: it changes
    old.status, old.termination_reason = "terminated", "deadline_expired"
    cases[9].area_code = "320105002"
    obligation = db.session.scalars(select(Obligation).order_by(Obligation.id)).first()
    obligation.status = "performed"
    db.session.flush()
    assert db.session.scalar(select(func.count()).select_from(DirtyMonth)) >= 2
    _same_as_live()  # the changed months are counted live

    assert tallies.refresh(NOW) >= 1
    db.session.flush()
    assert not tallies.dirty_months()
    _same_as_live()

    # The rebuild command's work gives the same.
    tallies.rebuild(NOW)
    db.session.flush()
    _same_as_live()


def test_the_worker_keeps_the_tallies_and_the_command_rebuilds_them(app):
    from mediation import worker

    assert worker.governance_tallies in worker.JOBS
    with app.app_context():
        _seed([make_institution().id])
        db.session.commit()
    assert "months of governance tallies rebuilt" in worker.governance_tallies(app)
    result = app.test_cli_runner().invoke(args=["governance-rebuild"])
    assert result.exit_code == 0 and "months of governance tallies rebuilt" in result.output
    with app.app_context():
        assert tallies.built_months() and not tallies.dirty_months()
