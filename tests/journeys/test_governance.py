"""Region staff at a desk open their region's overview, go down to a district and download
its figures as CSV (issue #21 item 3)."""

from __future__ import annotations

from datetime import timedelta

from mediation.accounts.models import Role
from mediation.core.db import utcnow
from mediation.extensions import db
from tests.factories import make_case, make_institution, make_mediator, make_user
from tests.journeys.conftest import axe_violations
from tests.journeys.test_mediate_now import log_in


def test_region_staff_open_the_overview_and_download_the_csv(
    app, live_server, staff_page, step, snap, tmp_path
):
    with app.app_context():
        staff = make_user(Role.governance, real_name="赵主任")
        staff.area_code = "3201"
        for street, count in (("320102001", 3), ("320105003", 2)):
            mediator = make_mediator(make_institution(area_code=street, region_code=street[:6]))
            for n in range(count):
                case = make_case(make_user(), make_user(), mediator=mediator)
                case.created_at = utcnow() - timedelta(days=30 * n)
        phone = staff.phone
        db.session.commit()

    page = staff_page
    log_in(page, step, live_server, phone, "g")
    overview = page.get_by_role("link", name="区域概况")
    step(page, overview, "g03-menu")
    overview.click()
    page.wait_for_url("**/governance/")
    assert page.get_by_role("img", name="各类纠纷案件数").is_visible()
    assert axe_violations(page) == []
    district = page.get_by_role("link", name="区划 320102")
    step(page, district, "g04-overview")
    district.click()
    page.wait_for_url("**area=320102**")
    download = page.get_by_role("link", name="下载统计表格")
    step(page, download, "g05-district")
    with page.expect_download() as waiting:
        download.click()
    path = tmp_path / "region.csv"
    waiting.value.save_as(path)
    text = path.read_text(encoding="utf-8-sig")
    assert "320102" in text and "案件数,3" in text
    snap(page, "g06-downloaded")
