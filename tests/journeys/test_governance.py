"""Region staff at a desk open their region's overview, go down to a district and download
its figures as CSV (issue #21 item 3); a court's delegated disputes against one company show
in the district and in its early warnings at once, before any mediator has accepted one."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from mediation.accounts.models import Role
from mediation.core.db import utcnow
from mediation.court import delegation
from mediation.extensions import db
from mediation.governance import warnings
from mediation.notify.models import OutboxMessage
from tests.factories import make_case, make_court, make_institution, make_mediator, make_user
from tests.journeys.conftest import axe_violations, log_in

STATION = "玄武区玄武门街道人民调解委员会"
STREETS = {
    "320102007": "玄武区锁金村街道人民调解委员会",
    "320105002": "建邺区沙洲街道人民调解委员会",
}


def _delegate_wage_disputes(count: int) -> list[str]:
    """The district court's clerk sends ``count`` wage disputes against one company to the
    street's committee (the platform's own operation, as the court's system or portal
    calls it); the worker's warning job runs. Nobody accepts any of them."""
    court = make_court(name="南京市玄武区人民法院", region_code="320102")
    station = make_institution(name=STATION, area_code="320102005", region_code="320102")
    numbers = []
    for n in range(1, count + 1):
        data = delegation.DelegationInput(
            reference=f"（2026）苏0102民诉前调{100 + n}号",
            category="labour",
            title="拖欠工资",
            applicants=[delegation.PartyInput(f"工人{n}", f"136555501{n:02d}", address="玄武区")],
            respondents=[delegation.PartyInput("南京某某建筑有限公司", "13800002222")],
            institution_id=station.id,
        )
        numbers.append(delegation.delegate(court, data).case.number)
    # Both rules: six labour disputes in one street, one respondent in six cases.
    assert warnings.raise_due(utcnow() + timedelta(seconds=1)) == 2
    return numbers


def test_region_staff_open_the_overview_and_download_the_csv(
    app, live_server, staff_page, step, snap, tmp_path
):
    with app.app_context():
        staff = make_user(Role.governance, real_name="赵主任")
        staff.area_code = "3201"
        for street, count in (("320102007", 3), ("320105002", 2)):
            mediator = make_mediator(
                make_institution(area_code=street, region_code=street[:6], name=STREETS[street])
            )
            for n in range(count):
                case = make_case(make_user(), make_user(), mediator=mediator)
                case.created_at = utcnow() - timedelta(days=30 * n)
        delegated = _delegate_wage_disputes(6)
        told = db.session.scalars(
            select(OutboxMessage.body).where(OutboxMessage.recipient == staff.phone)
        ).all()
        assert len(told) == 2 and any("同一被申请人涉及6件纠纷" in sms for sms in told)
        # The street by its name, not its code (the list of divisions, core.divisions).
        assert any("江苏省南京市玄武区玄武门街道内同类纠纷已有6件" in sms for sms in told)
        phone = staff.phone
        db.session.commit()

    page = staff_page
    log_in(page, step, live_server, phone, "g")
    overview = page.get_by_role("link", name="区域概况")
    step(page, overview, "g03-menu")
    overview.click()
    page.wait_for_url("**/governance/")
    assert page.get_by_role("img", name="各类纠纷案件数").is_visible()
    assert page.get_by_text("江苏省南京市", exact=True).is_visible()
    assert axe_violations(page) == []
    # Xuanwu: its 3 accepted cases and the court's 6, none accepted yet.
    assert "玄武区（9件）" in page.locator(".governance-children").inner_text()
    district = page.get_by_role("link", name="玄武区", exact=True)
    step(page, district, "g04-overview")
    district.click()
    page.wait_for_url("**area=320102**")
    assert page.get_by_role("cell", name="9", exact=True).first.is_visible()
    # Its streets by their names (a code told the staff nothing).
    streets = page.locator(".governance-children").inner_text()
    assert "玄武门街道（6件）" in streets and "锁金村街道（3件）" in streets
    download = page.get_by_role("link", name="下载统计表格")
    step(page, download, "g05-district")
    with page.expect_download() as waiting:
        download.click()
    path = tmp_path / "region.csv"
    waiting.value.save_as(path)
    text = path.read_text(encoding="utf-8-sig")
    assert "320102" in text and "案件数,9" in text
    snap(page, "g06-downloaded")

    page.get_by_role("link", name="预警").first.click()
    page.wait_for_url("**/governance/warnings")
    heading = page.get_by_text("同一被申请人涉及6件纠纷")
    heading.wait_for()
    assert "南京某某建筑有限公司" in heading.inner_text()
    assert page.get_by_text("江苏省南京市玄武区玄武门街道内同类纠纷6件").is_visible()
    listed = page.locator("article", has_text="南京某某建筑有限公司")
    for number in delegated:
        assert listed.get_by_role("cell", name=number, exact=True).is_visible()
    assert axe_violations(page) == []
    snap(page, "g07-warnings")
