"""The region overview on both databases: the figures are those of the staff's own region
only, other roles are refused, and the exports keep typed text from running as a formula."""

from __future__ import annotations

import io
import re
from datetime import timedelta

from flask_babel import refresh
from openpyxl import load_workbook
from sqlalchemy import select

from mediation.accounts.models import Role, User
from mediation.core.db import utcnow
from mediation.extensions import db
from mediation.governance import warnings
from mediation.governance.figures import region_figures
from mediation.governance.months import BEIJING
from tests.accounts.test_admin import admin_client
from tests.conftest import csrf_token, login, post_form
from tests.factories import (
    PASSWORD,
    make_case,
    make_institution,
    make_mediator,
    make_user,
    valid_id_number,
)

STREET = "320102001"


def region_staff(area: str):
    user = make_user(Role.governance)
    user.area_code = area
    return user


def test_figures_are_those_of_the_own_region_only(app_ctx, client):
    mine = make_institution(area_code=STREET, name='=HYPERLINK("http://x")调解委员会')
    other = make_institution(area_code="330102001", region_code="330102")
    for institution, count in ((mine, 2), (other, 3)):
        mediator = make_mediator(institution)
        for _n in range(count):
            make_case(make_user(), make_user(), mediator=mediator)  # placed on acceptance
    staff = region_staff("3201")
    party = make_user()
    db.session.commit()

    login(client, party.phone, PASSWORD)
    assert client.get("/governance/").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_token(client, "/account")})

    login(client, staff.phone, PASSWORD)
    page = client.get("/governance/").get_data(as_text=True)
    assert "<svg" in page and "<title" in page
    csv = client.get("/governance/export.csv").get_data(as_text=True)
    rows = [line.split(",") for line in csv.splitlines()]
    # The region by its name and its code; cases: the two of the own region, not the other three.
    assert rows[:3] == [["\ufeff区域", "江苏省南京市"], ["区划代码", "320100"], ["案件数", "2"]]
    assert "'=HYPERLINK" in csv  # typed text stays text
    # Another province asked for by hand: told, and shown the own region.
    asked = client.get("/governance/?area=33", follow_redirects=True).get_data(as_text=True)
    assert "330100" not in asked
    book = load_workbook(io.BytesIO(client.get("/governance/export.xlsx").data))
    cells = [c for row in book.active.iter_rows() for c in row if c.value]
    assert all(c.data_type != "f" for c in cells)
    assert any(c.value == 2 for c in cells)


def test_the_platform_administrator_grants_the_role_with_a_division(app):
    client = admin_client(app)
    person = {
        "real_name": "周科长",
        "id_number": valid_id_number(803),
        "phone": "13722225555",
        "email": "",
        "role": "governance",
        "institution_id": "0",
        "court_id": "0",
        "area_code": "",
    }
    assert post_form(client, "/admin/accounts/new", person).status_code == 200  # no division
    assert (
        post_form(client, "/admin/accounts/new", person | {"area_code": "320100"}).status_code
        == 302
    )
    with app.app_context():
        user = db.session.scalar(select(User).where(User.real_name == "周科长"))
        assert user.roles == {Role.governance} and user.area_code == "3201"


def test_a_warning_lists_its_cases_in_the_region_without_their_contents(app_ctx, client):
    now = utcnow()
    cases = []
    for hours in range(6):
        case = make_case(make_user(), make_user())
        case.area_code, case.created_at = STREET, now - timedelta(hours=hours)
        cases.append(case)
    staff, elsewhere = region_staff("320102"), region_staff("3301")
    assert warnings.raise_due(now) == 1
    db.session.commit()

    login(client, staff.phone, PASSWORD)
    page = client.get("/governance/warnings").get_data(as_text=True)
    assert all(case.number in page for case in cases)
    assert "漏水纠纷" not in page  # the title a party wrote: the case's contents
    client.post("/logout", data={"csrf_token": csrf_token(client, "/account")})
    login(client, elsewhere.phone, PASSWORD)
    assert cases[0].number not in client.get("/governance/warnings").get_data(as_text=True)


def test_the_performance_rate_counts_obligations_due_in_the_region(app_ctx):
    from tests.followup.conftest import china, tracked

    now = utcnow()
    yesterday = (now - timedelta(days=1)).date()
    rows = []
    for area, status in ((STREET, "performed"), (STREET, "missed"), ("330102001", "missed")):
        case, obligation = tracked()
        case.area_code, obligation.status, obligation.due_on = area, status, yesterday
        rows.append(obligation)
    rows[0].performed_at = china(yesterday, 20)  # on time: by midnight in China
    tracked()[0].area_code = STREET  # not yet due: not counted
    db.session.flush()
    data = region_figures("3201", now - timedelta(days=365), now + timedelta(seconds=1), now)
    assert data.performance == (1, 2) and data.performance_rate == 0.5


def test_the_dashboard_names_divisions_and_months_and_shows_long_names_in_full(app_ctx, client):
    station = make_institution(name="玄武区锁金村街道人民调解委员会", area_code="320102")
    make_case(make_user(), make_user(), mediator=make_mediator(station))
    staff = region_staff("3201")
    db.session.commit()

    login(client, staff.phone, PASSWORD)
    page = client.get("/governance/").get_data(as_text=True)
    assert '<strong title="区划代码320100">江苏省南京市</strong>' in page
    link = re.search(
        r'<a href="[^"]*area=320102[^"]*" title="区划代码320102">玄武区</a>（1件）', page
    )
    assert link, "the district by its name, its code on hover, its count in Chinese brackets"
    assert "区划 " not in page and "320102 " not in page
    month = f"{utcnow().astimezone(BEIJING).year}年{utcnow().astimezone(BEIJING).month}月"
    assert f'<th scope="row">{month}</th>' in page
    assert not re.search(r">\d{4}-\d{2}<", page)  # no month as a code
    assert "\u2026" not in page  # no name cut short
    assert "玄武区锁金村街道</tspan>" in page and ">人民调解委员会</tspan>" in page

    client.post("/language", data={"csrf_token": csrf_token(client, "/account"), "locale": "en"})
    refresh()  # the test keeps one app context: Flask-Babel cached the language on it
    english = client.get("/governance/").get_data(as_text=True)
    assert '<strong title="Division code 320100">Nanjing, Jiangsu</strong>' in english
    assert ">Xuanwu District</a> (1 case)" in english
    assert re.search(r'<th scope="row">[A-Z][a-z]{2} \d{4}</th>', english)
