"""How similar disputes ended: same category, province and amount band, closed cases only,
never a group smaller than MIN_GROUP — on SQLite and PostgreSQL (the app fixture)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import count

from mediation.cases.models import Case, Claim
from mediation.cases.states import CaseStatus
from mediation.evaluation import outcomes
from mediation.extensions import db

ACCEPTED = datetime(2026, 3, 2, 9, tzinfo=UTC)
_numbers = count(1)


def closed_case(status, *, amount, days, region="320102", category="neighbourhood"):
    """A closed case as the workflow leaves it; only the columns the figures read."""
    n = next(_numbers)
    case = Case(
        number=f"（2026）测调字第{n}号",
        category=category,
        title="漏水纠纷",
        status=status,
        region_code=region,
        accepted_at=ACCEPTED,
    )
    if status == CaseStatus.terminated:
        case.closed_at = ACCEPTED + timedelta(days=days)
    else:
        case.signed_at = ACCEPTED + timedelta(days=days)
    # Two claims: the band is decided by their total.
    case.claims = [Claim(text="赔偿", amount=amount / 2), Claim(text="修复", amount=amount / 2)]
    db.session.add(case)
    return case


def test_figures_of_a_province_group(app_ctx):
    for days in range(1, 8):
        closed_case(CaseStatus.signed, amount=Decimal(20_000), days=days)
    for days in (20, 30, 40):
        closed_case(CaseStatus.terminated, amount=Decimal(50_000), days=days)
    # Not similar: another band, another category, another province, still open.
    closed_case(CaseStatus.signed, amount=Decimal(100_000), days=1)
    closed_case(CaseStatus.signed, amount=Decimal(20_000), days=1, category="labour")
    closed_case(CaseStatus.signed, amount=Decimal(20_000), days=1, region="110101")
    closed_case(CaseStatus.in_mediation, amount=Decimal(20_000), days=1)
    db.session.flush()

    found = outcomes.similar("neighbourhood", Decimal(30_000), "320000")
    assert (found.cases, found.settled, found.nationwide) == (10, 7, False)
    assert found.settled_share == 0.7
    assert found.median_days == 5.5  # of 1..7, 20, 30, 40: (5 + 6) / 2


def test_a_small_group_widens_to_every_province_then_shows_nothing(app_ctx):
    for days in range(9):
        closed_case(CaseStatus.confirmed, amount=Decimal(5_000), days=days + 1)
    closed_case(CaseStatus.signed, amount=Decimal(5_000), days=3, region="440305")
    db.session.flush()
    # Nine in Jiangsu is too few; ten across provinces is enough.
    found = outcomes.similar("neighbourhood", Decimal(8_000), "320000")
    assert found.cases == 10 and found.nationwide
    # No group of ten at all: nothing is shown.
    assert outcomes.similar("neighbourhood", Decimal(200_000), "320000") is None
    assert outcomes.similar("labour", Decimal(8_000)) is None


def test_bands():
    assert outcomes.band(Decimal(0)) == (Decimal(0), Decimal(10_000))
    assert outcomes.band(Decimal(10_000)) == (Decimal(10_000), Decimal(100_000))
    assert outcomes.band(Decimal(5_000_000)) == (Decimal(1_000_000), None)
