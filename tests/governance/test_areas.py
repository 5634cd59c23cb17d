"""Where a case is counted (mediation/governance/areas.py), on both databases: a case is
placed in its institution's division as soon as it has that institution, however it got it
(a court's delegation, the automatic pick, a bare change of the column, a transfer), not
only when a mediator accepts; the monthly tallies follow; and a court's delegated disputes
against one respondent are counted, warned of and told to that division's staff at once."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from mediation.accounts.models import Role
from mediation.cases import assignment
from mediation.cases.models import Case
from mediation.core.db import utcnow
from mediation.court import delegation
from mediation.extensions import db
from mediation.governance import tallies, warnings
from mediation.governance.figures import region_figures
from mediation.governance.listing import child_areas
from mediation.governance.models import EarlyWarning
from mediation.governance.summary import region_overview
from mediation.notify.models import OutboxMessage
from tests.conftest import login
from tests.factories import PASSWORD, make_case, make_court, make_institution, make_user

DISTRICT = "320102"


def region_staff(area: str):
    user = make_user(Role.governance)
    user.area_code = area
    return user


def wage_dispute(n: int) -> delegation.DelegationInput:
    return delegation.DelegationInput(
        reference=f"（2026）苏0102民诉前调{n}号",
        category="labour",
        title="拖欠工资",
        applicants=[delegation.PartyInput(f"工人{n}", f"136555500{n:02d}", address="南京市玄武区")],
        # The same company each time: the court's clerk typed its name and number.
        respondents=[delegation.PartyInput("南京某某建筑有限公司", "13800001111")],
    )


def _area(case: Case) -> str | None:
    return db.session.scalar(select(Case.area_code).where(Case.id == case.id))


def test_delegated_cases_are_counted_warned_of_and_told_in_their_district_at_once(app_ctx, client):
    court = make_court(name="南京市玄武区人民法院", region_code=DISTRICT)
    station = make_institution(name="玄武区锁金村街道人民调解委员会", area_code=DISTRICT)
    district, elsewhere = region_staff(DISTRICT), region_staff("3301")
    made = []
    for n in range(1, 7):
        data = wage_dispute(n)
        data.institution_id = station.id
        made.append(delegation.delegate(court, data).case)
    # Filed and queued at the station; no mediator has accepted any of them.
    assert {c.status for c in made} == {"submitted"} and {c.mediator_id for c in made} == {None}
    assert [_area(c) for c in made] == [DISTRICT] * 6

    now = utcnow()
    since = now - timedelta(days=365)
    assert (
        region_overview(DISTRICT, since, now).total
        == 6
        == region_figures(DISTRICT, since, now).total
    )

    assert warnings.raise_due(now + timedelta(seconds=1)) == 1
    warning = db.session.scalars(select(EarlyWarning)).one()
    assert (warning.kind, warning.area_code, warning.case_count) == ("respondent", DISTRICT, 6)
    assert warning.label == "南京某某建筑有限公司"
    told = db.session.scalars(
        select(OutboxMessage.body).where(OutboxMessage.recipient == district.phone)
    ).all()
    assert len(told) == 1 and "同一被申请人涉及6件纠纷" in told[0]
    assert not db.session.scalars(
        select(OutboxMessage.id).where(OutboxMessage.recipient == elsewhere.phone)
    ).all()
    db.session.commit()

    login(client, district.phone, PASSWORD)
    page = client.get("/governance/warnings").get_data(as_text=True)
    assert "本区域暂无预警" not in page
    assert all(case.number in page for case in made)
    heading = re.search(r"<strong>([^<]*南京某某建筑有限公司[^<]*)</strong>", page)
    assert heading and "6" in heading.group(1) and "1" not in heading.group(1)


def test_a_case_is_placed_whenever_its_institution_changes(app_ctx):
    first = make_institution(area_code="320102001")
    second = make_institution(area_code="320105003")
    elsewhere = make_institution(area_code="330102001", region_code="330102")
    case = make_case(make_user(), make_user())
    case.region_code = "320000"
    db.session.flush()
    assert _area(case) == "32"

    # The automatic pick or an applicant's choice: assigned, not accepted.
    assignment.assign(case, institution=first, mediator=None, how="chosen", by=None)
    assert _area(case) == "320102001"
    # A bare change of the column, the relationship having been loaded before.
    assert case.institution is first
    case.institution_id = second.id
    db.session.flush()
    assert _area(case) == "320105003"
    # Given to an institution of another province: the dispute stays where it arose.
    case.institution = elsewhere
    db.session.flush()
    assert _area(case) == "32"
    case.institution = None
    db.session.flush()
    assert _area(case) == "32"


def test_a_bare_change_of_the_institution_holds_through_later_steps(app_ctx):
    """A later step in the same transaction places the case again: it must read the
    institution the id names, not the relationship loaded before the id changed."""
    first = make_institution(area_code="320102001")
    second = make_institution(area_code="320105003")
    case = make_case(make_user(), make_user())
    assignment.assign(case, institution=first, mediator=None, how="chosen", by=None)
    assert case.institution is first
    case.institution_id = second.id
    db.session.flush()
    assert _area(case) == "320105003"
    from mediation.governance import areas

    areas.place(case)  # what a later step's status_changed does
    db.session.flush()
    assert _area(case) == "320105003"


def test_an_institution_cleared_on_a_case_read_afresh_moves_it_back(app_ctx):
    """Set to None on a case whose institution was never read: no old value is known, and
    the change must still count."""
    station = make_institution(area_code="320102001")
    case = make_case(make_user(), make_user())
    case.region_code = "320000"
    assignment.assign(case, institution=station, mediator=None, how="chosen", by=None)
    db.session.commit()
    case_id = case.id
    db.session.expunge_all()
    fresh = db.session.get(Case, case_id)
    assert fresh.area_code == "320102001"
    fresh.institution = None
    db.session.flush()
    assert _area(fresh) == "32"


def test_a_draft_is_placed_only_when_submitted(app_ctx):
    station = make_institution(area_code="320102001")
    case = make_case(make_user(), make_user(), submit=False)
    case.institution = station
    db.session.flush()
    assert _area(case) is None


def test_the_tallies_stay_exact_when_a_case_is_placed_without_a_step(app_ctx):
    court = make_court(region_code=DISTRICT)
    station = make_institution(area_code="320102001")
    first = delegation.delegate(court, wage_dispute(1)).case  # no institution chosen
    now = utcnow()
    tallies.refresh(now)
    assert not tallies.dirty_months()

    second = wage_dispute(2)
    second.institution_id = station.id
    delegation.delegate(court, second)
    assignment.assign(first, institution=station, mediator=None, how="chosen", by=None)
    assert tallies.dirty_months()
    since = now - timedelta(days=365)
    later = now + timedelta(minutes=1)

    def same() -> None:
        for area in ("32", "3201", DISTRICT, "320102001"):
            live = region_figures(area, since, later)
            summed = region_overview(area, since, later)
            assert summed.total == live.total, area
            assert sorted(summed.by_status) == sorted(live.by_status), area
            assert sorted(summed.by_institution) == sorted(live.by_institution), area
            assert summed.children == child_areas(area, since, later), area

    same()
    assert region_overview("320102001", since, later).total == 2
    tallies.refresh(later)
    db.session.flush()
    assert not tallies.dirty_months()
    same()


def test_the_rebuild_command_places_cases_stored_before_placing_on_change(app):
    """A case given an institution before 6 December stayed at its province until its next
    change: ``mediation governance-rebuild`` places it at once (and the tallies follow)."""
    with app.app_context():
        station = make_institution(area_code="320102001")
        case = make_case(make_user(), make_user())
        assignment.assign(case, institution=station, mediator=None, how="chosen", by=None)
        db.session.flush()
        # As stored by the earlier code: at the province's level.
        db.session.execute(Case.__table__.update().where(Case.id == case.id).values(area_code="32"))
        db.session.commit()
        case_id = case.id
    result = app.test_cli_runner().invoke(args=["governance-rebuild"])
    assert result.exit_code == 0 and "1 cases placed anew" in result.output, result.output
    with app.app_context():
        assert db.session.get(Case, case_id).area_code == "320102001"
        assert tallies.built_months() and not tallies.dirty_months()
