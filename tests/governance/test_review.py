"""Review findings on the early warnings (issue #21): two workers at once, a respondent's key
changing inside its window, generic organisation names, the throttle, what staff are told."""

from __future__ import annotations

import contextlib
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from mediation import worker
from mediation.accounts.operations import create_institution
from mediation.core.forms import FieldError
from mediation.extensions import db
from mediation.governance import areas, warnings
from mediation.governance.models import EarlyWarning
from mediation.notify.models import OutboxMessage
from tests.conftest import login
from tests.factories import PASSWORD, make_institution, make_user
from tests.governance.test_warnings import NOW, filed, region_staff


def test_two_workers_at_once_raise_a_warning_once(app, monkeypatch):
    with app.app_context():
        staff = region_staff("3201")
        for hour in range(6):
            filed(NOW - timedelta(hours=hour))
        db.session.commit()
        phone = staff.phone
    # Each worker has read what it decides on before either stores: without one run at a
    # time both would raise the surge (their ``now`` differs, so no unique key collides).
    both_read = threading.Barrier(2, timeout=1)
    original = warnings.surges

    def surges(*args):
        found = original(*args)
        # Broken when the other worker waits for this one's lock instead.
        with contextlib.suppress(threading.BrokenBarrierError):
            both_read.wait()
        return found

    monkeypatch.setattr(warnings, "surges", surges)
    errors = []

    def run(now):
        with app.app_context():
            try:
                warnings.raise_due(now)
                db.session.commit()
            except Exception as error:  # reported below
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(NOW + timedelta(seconds=s),)) for s in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(EarlyWarning)) == 1
        told = db.session.scalars(select(OutboxMessage.recipient)).all()
        assert told.count(phone) == 1


def test_the_job_runs_at_most_every_configured_seconds(app, monkeypatch):
    monkeypatch.setattr(warnings, "_last_run", {})
    assert worker.governance_warnings(app) == "0 early warnings raised"
    assert worker.governance_warnings(app) == "early warnings not due"
    monkeypatch.setitem(app.config, "GOVERNANCE_WARNING_EVERY", 0)
    assert worker.governance_warnings(app) == "0 early warnings raised"


def test_a_respondent_known_by_a_new_key_is_not_warned_again_in_its_window(app_ctx):
    named = make_user(real_name="南京某某建筑有限公司", id_number=None, phone="13700000011")
    for day in range(6):
        filed(NOW - timedelta(days=day, hours=1), respondent=named, area=f"32010{day}001")
    assert warnings.raise_due(NOW) == 1
    # The company's own account, with its number, joins the group: its key would now be
    # the number's, yet it is the respondent warned already.
    own = make_user(real_name="南京某某建筑有限公司", phone="13700000012")
    filed(NOW + timedelta(hours=1), respondent=own, area="320107001")
    assert warnings.raise_due(NOW + timedelta(hours=2)) == 0


def test_a_generic_name_or_another_city_joins_no_filings(app_ctx):
    areas = ("320102001", "320105001", "320106001", "330102001", "330105001", "330106001")
    for day, area in enumerate(areas):
        # Three streets of Nanjing, three of Hangzhou: two generic names, one distinctive.
        filed(NOW - timedelta(days=day), respondent=make_user(real_name="物业公司"), area=area)
        filed(NOW - timedelta(days=day), respondent=make_user(real_name="小区物业"), area=area)
        builder = make_user(real_name="某某建筑有限公司")
        filed(NOW - timedelta(days=day), respondent=builder, area=area)
    assert warnings.raise_due(NOW) == 0  # three each in Nanjing and Hangzhou


def test_a_case_given_to_another_institution_moves_to_its_street(app_ctx):
    first = make_institution(area_code="320102001")
    second = make_institution(area_code="320105003")
    elsewhere = make_institution(area_code="330102001")
    case = filed(NOW, area=None)
    case.region_code = "320000"
    for institution, area in ((first, "320102001"), (second, "320105003"), (elsewhere, "32")):
        case.institution = institution  # declined by the one before, given to this one
        case.area_code = areas.finest_area(case)
        assert case.area_code == area


def test_staff_are_told_and_shown_the_count_of_their_own_region_s_cases(app_ctx, client):
    nanjing, hangzhou = region_staff("3201"), region_staff("3301")
    builder = make_user(real_name="某某建筑有限公司")
    for day, area in enumerate(("320102001", "320105001", "320106001", "320107001")):
        filed(NOW - timedelta(days=day), respondent=builder, area=area)
    for day, area in enumerate(("330102001", "330105001")):
        filed(NOW - timedelta(days=day), respondent=builder, area=area)
    assert warnings.raise_due(NOW) == 1
    warning = db.session.scalars(select(EarlyWarning)).one()
    assert warnings.staff_for(warning) == [(nanjing, 4), (hangzhou, 2)]
    db.session.commit()

    login(client, hangzhou.phone, PASSWORD)
    page = client.get("/governance/warnings").get_data(as_text=True)
    assert "涉及2件纠纷" in page and "涉及6件" not in page


def test_an_institution_serving_a_city_may_sit_in_one_of_its_streets(app_ctx):
    institution = create_institution(
        name="某街道人民调解委员会", region_code="320100", address="南京市", street_code="320102001"
    )
    assert institution.area_code == "320102001"
    with pytest.raises(FieldError):
        create_institution(
            name="另一调解委员会", region_code="320100", address="南京市", street_code="330102001"
        )
