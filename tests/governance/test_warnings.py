"""Early-warning rules (issue #21 item 3), on both databases: more than the configured number
of cases of one category in one street within the window, and one respondent named in more
than the configured number of cases, across institutions. Defaults: more than 5 in 7 days,
more than 5 in 30 days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from mediation import worker
from mediation.accounts.models import Role
from mediation.cases.models import CaseParty
from mediation.extensions import db
from mediation.governance import warnings
from mediation.governance.models import EarlyWarning
from mediation.notify.models import OutboxMessage
from tests.factories import make_case, make_institution, make_user

NOW = datetime(2026, 6, 15, 4, 0, tzinfo=UTC)
STREET = "320102007"  # 锁金村街道


def region_staff(area: str):
    user = make_user(Role.governance)
    user.area_code = area
    return user


def filed(at, *, area=STREET, category="neighbourhood", respondent=None, institution=None):
    case = make_case(make_user(), respondent or make_user())
    case.area_code, case.category, case.created_at = area, category, at
    if institution is not None:  # (setting it, even to None, places the case again)
        case.institution_id = institution.id
    db.session.flush()
    return case


def test_a_surge_is_raised_above_the_threshold_once_and_told_to_the_street_s_staff(app_ctx):
    city = region_staff("3201")
    elsewhere = region_staff("3301")
    for day in range(5):
        filed(NOW - timedelta(days=day))
    filed(NOW, category="labour")  # another category does not count
    filed(NOW, area="320102002")  # nor another street
    assert warnings.raise_due(NOW) == 0  # five: at the threshold, not more

    sixth = filed(NOW - timedelta(hours=1))
    assert warnings.raise_due(NOW) == 1
    warning = db.session.scalars(select(EarlyWarning)).one()
    assert (warning.kind, warning.area_code, warning.category) == ("surge", STREET, "neighbourhood")
    assert warning.case_count == 6 and sixth.id in {c.case_id for c in warning.cases}
    told = dict(db.session.execute(select(OutboxMessage.recipient, OutboxMessage.body)).all())
    assert city.phone in told and elsewhere.phone not in told
    # The place by its name, as the staff know it (a code told them nothing).
    assert "江苏省南京市玄武区锁金村街道内同类纠纷已有6件" in told[city.phone]

    # Later runs within the same window raise nothing again, even with a seventh case.
    filed(NOW + timedelta(hours=2))
    assert warnings.raise_due(NOW + timedelta(hours=3)) == 0
    assert warnings.raise_due(NOW + timedelta(days=3)) == 0


def test_the_surge_window_counts_cases_just_inside_not_just_outside(app_ctx):
    for hour in range(5):
        filed(NOW - timedelta(hours=hour))
    since = NOW - timedelta(days=7)
    outside = filed(since)  # the window is (now - 7 days, now]
    assert warnings.raise_due(NOW) == 0
    outside.created_at = since + timedelta(seconds=1)
    db.session.flush()
    assert warnings.raise_due(NOW) == 1


def test_one_respondent_across_institutions_by_its_name_or_its_id_number(app_ctx):
    a, b = make_institution(area_code="320102001"), make_institution(area_code="320105003")
    builder = make_user(real_name="南京某某建筑有限公司")
    # Named again under new accounts by other applicants, written differently.
    spelled = make_user(real_name="南京某某建筑 有限公司")
    same_number = make_user(real_name="某建筑", id_number=builder.id_number, phone="13700000001")
    cases = [
        filed(NOW - timedelta(days=day), respondent=who, institution=inst, area=inst.area_code)
        for day, who, inst in (
            (1, builder, a),
            (2, builder, b),
            (3, spelled, a),
            (4, spelled, b),
            (5, same_number, b),
        )
    ]
    assert warnings.raise_due(NOW) == 0  # five cases: not more than five
    filed(NOW - timedelta(days=29), respondent=spelled, institution=b, area=b.area_code)
    filed(NOW - timedelta(days=31), respondent=builder, institution=a)  # outside 30 days
    assert warnings.raise_due(NOW) == 1
    warning = db.session.scalars(select(EarlyWarning)).one()
    assert warning.kind == "respondent" and warning.case_count == 6
    assert warning.area_code == "3201"  # the narrowest division holding all of them
    assert warning.label in {"南京某某建筑有限公司", "南京某某建筑 有限公司"}
    assert {c.id for c in cases} <= {c.case_id for c in warning.cases}


def test_people_sharing_a_name_are_not_one_respondent(app_ctx):
    for day in range(7):
        area = f"32010200{day}"  # one case a street: no surge either
        filed(NOW - timedelta(days=day), respondent=make_user(real_name="张伟"), area=area)
    named = db.session.scalars(select(CaseParty.named_name)).all()
    assert len(named) >= 7
    assert warnings.raise_due(NOW) == 0


def test_the_worker_runs_the_rules(app, monkeypatch):
    # A run of the worker's jobs earlier in this process (another test) started the
    # throttle's period: this test starts from none.
    monkeypatch.setattr(warnings, "_last_run", {})
    assert worker.governance_warnings in worker.JOBS
    assert worker.governance_warnings(app) == "0 early warnings raised"
